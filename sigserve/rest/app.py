"""The REST API as an ASGI application (served by uvicorn).

Every path under ``/v1/`` is TF Serving's: a request it cannot parse gets
``400 {"error": "Malformed request: POST /v1/..."}``; other paths get 404.
Errors are ``{"error": "<message>"}`` with the HTTP status TF Serving maps
from the canonical code.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from sigserve import request_scope
from sigserve.codecs.tf_json import encode_error
from sigserve.errors import Code, ServingError, invalid_argument
from sigserve.rest import paths
from sigserve.rest.handlers import HANDLERS
from sigserve.rest.offload import Offload
from sigserve.service import Service

log = logging.getLogger("sigserve.rest")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_ORIGIN = re.compile(rb"https?://")
_JSON = (b"content-type", b"application/json")
_CORS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"POST, GET"),
    (b"access-control-allow-headers", b"Content-Type"),
]


class RestApp:
    def __init__(self, service: Service, *, timeout_ms: int = 0, cors: bool = False) -> None:
        self.service = service
        self.timeout = timeout_ms / 1000 if timeout_ms > 0 else None
        self.extra_headers = _CORS if cors else []
        self.offload = Offload()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method = scope["method"]
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        raw_path = raw_path.split("?", 1)[0]
        body = await _read_body(receive)
        if body is None:  # the client left before sending all of it: nobody to answer
            return
        status, payload = await self.respond(method, raw_path, scope, body)
        headers = [_JSON, (b"content-length", str(len(payload)).encode()), *self.extra_headers]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def respond(
        self, method: str, raw_path: str, scope: Scope, body: bytes
    ) -> tuple[int, bytes]:
        if not paths.API_PREFIX.fullmatch(raw_path):
            return 404, encode_error(f"Not found: {method} {raw_path}")
        try:
            if method == "OPTIONS":
                return self._preflight(scope)
            route = paths.parse(method, raw_path)
            handler = HANDLERS.get(route.action)
            if handler is None:
                raise invalid_argument(f"Malformed request: {method} {raw_path}")
            work = handler(self.service, route, body, self.offload)
            payload = await asyncio.wait_for(work, self.timeout) if self.timeout else await work
            return 200, payload
        except ServingError as e:
            request_scope.note_error(e)  # its code, for metrics and the access log
            return e.http_status, encode_error(e.message)
        except asyncio.TimeoutError:
            return 504, encode_error("Deadline Exceeded")
        except Exception:
            log.exception("Internal error on %s %s", method, raw_path)
            return 500, encode_error("Internal error")

    def _preflight(self, scope: Scope) -> tuple[int, bytes]:
        origin = dict(scope.get("headers") or []).get(b"origin", b"")
        if _ORIGIN.search(origin):
            return 200, b""
        error = ServingError(Code.FAILED_PRECONDITION, "Origin header is missing in CORS preflight")
        return error.http_status, encode_error(error.message)


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None if the client disconnected before sending it."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
