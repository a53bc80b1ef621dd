"""The REST API as an ASGI application (served by uvicorn).

Every path under ``/v1/`` is TF Serving's: a request it cannot parse gets
``400 {"error": "Malformed request: POST /v1/..."}``; other paths get 404.
Errors are ``{"error": "<message>"}`` with the HTTP status TF Serving maps
from the canonical code. A body over ``--rest_api_max_body_bytes`` gets 413
without being read: a ``Content-Length`` over the limit is refused before any
of the body, a streamed (chunked) body as soon as its chunks pass the limit.
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
    def __init__(
        self,
        service: Service,
        *,
        timeout_ms: int = 0,
        cors: bool = False,
        max_body_bytes: int = 0,
    ) -> None:
        self.service = service
        self.max_body_bytes = max_body_bytes  # 0: no limit
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
        headers = [_JSON]
        try:
            body = await _read_body(receive, scope, self.max_body_bytes)
        except BodyTooLarge as e:  # answered now; the connection closes, the rest unread
            status, payload = 413, encode_error(str(e))
            headers.append((b"connection", b"close"))
        else:
            if body is None:  # the client left before sending all of it: nobody to answer
                return
            status, payload = await self.respond(method, raw_path, scope, body)
        headers += [(b"content-length", str(len(payload)).encode()), *self.extra_headers]
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


class BodyTooLarge(Exception):
    """A request body over ``--rest_api_max_body_bytes`` (its text is the client's)."""


async def _read_body(receive: Receive, scope: Scope, limit: int) -> bytes | None:
    """The whole request body, or None if the client disconnected before sending it.

    Raises BodyTooLarge, without reading further, once the body is known to be over
    ``limit`` bytes (0: no limit): from its Content-Length, else from what came.
    """
    if limit:
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            raise BodyTooLarge(
                f"Request body too large: {declared} bytes, more than the limit of {limit} bytes"
            )
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit and size > limit:
            raise BodyTooLarge(f"Request body too large: more than the limit of {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or ():
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
