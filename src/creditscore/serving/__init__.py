"""The scoring service: FastAPI app factory, routes, API keys, decision log, metrics.

Nothing happens at import; build the app with ``creditscore.serving.app.create_app`` or run
it with ``creditscore.serving.app.serve``.
"""
