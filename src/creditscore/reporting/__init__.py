"""The one renderer of pages for people: the model card, fairness and monitoring reports.

Page builders turn typed results (or a saved facts document) into a
:class:`~creditscore.reporting.document.Page`; :mod:`~creditscore.reporting.html` and
:mod:`~creditscore.reporting.markdown` render any page. Offline only: the service never
imports this package.
"""
