"""The one ASGI middleware: what every request needs before any route runs.

It refuses a body that is not JSON (415) or that is larger than the limit (413, from the
``Content-Length`` header, or while reading a chunked body), and records request count and
latency by route template. It is a plain ASGI callable, not ``BaseHTTPMiddleware``, to keep
the hot path lean.
"""

from __future__ import annotations

import json
import time

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from creditscore.serving.metrics import ServiceMetrics

_BODY_METHODS = {"POST", "PUT", "PATCH"}
_UNSUPPORTED = json.dumps(
    {
        "error": "unsupported_media_type",
        "message": "send the body as JSON with the header Content-Type: application/json",
        "details": [],
    }
).encode()


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (
        media.startswith(b"application/") and media.endswith(b"+json")
    )


def _error_bytes(error: str, message: str) -> bytes:
    return json.dumps({"error": error, "message": message, "details": []}).encode()


class ServingMiddleware:
    """415 for a non-JSON body, 413 for one over the size limit; request count and latency
    by route template."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self._too_large = _error_bytes(
            "body_too_large", f"the request body is larger than {max_body_bytes} bytes"
        )

    async def _refuse(self, send: Send, status: int, kind: str, body: bytes) -> None:
        self.metrics.errors.labels(kind).inc()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        method = scope["method"]
        status = 500
        if method in _BODY_METHODS:
            content_type = None
            length = -1  # unknown: chunked
            chunked = False
            for name, value in scope["headers"]:
                if name == b"content-type":
                    content_type = value
                elif name == b"content-length":
                    length = int(value) if value.strip().isdigit() else -1
                elif name == b"transfer-encoding":
                    chunked = True
            if (length > 0 or chunked) and (content_type is None or not _is_json(content_type)):
                await self._refuse(send, 415, "unsupported_media_type", _UNSUPPORTED)
                self._observe(scope, method, 415, start)
                return
            if length > self.max_body_bytes:
                await self._refuse(send, 413, "body_too_large", self._too_large)
                self._observe(scope, method, 413, start)
                return
            if chunked and length < 0:
                receive = self._limited(receive)

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self._observe(scope, method, status, start)

    def _limited(self, receive: Receive) -> Receive:
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body_bytes:
                raise StarletteHTTPException(413, "request body too large")
            return message

        return limited

    def _observe(self, scope: Scope, method: str, status: int, start: float) -> None:
        route = scope.get("route")
        path = getattr(route, "path", None) or "unmatched"
        self.metrics.observe_request(method, path, status, time.perf_counter() - start)
