"""``--auth_token_file`` on REST: an ASGI wrapper in front of the REST API.

A request without ``Authorization: Bearer <a known token>`` gets 401
``{"error": "..."}`` with ``WWW-Authenticate: Bearer`` (RFC 6750), before its body
is read. What the server answers before this wrapper (``/livez``, ``/readyz``, the
Prometheus path) stays open; see docs/operations.md.

CORS (``--rest_api_enable_cors_support``): a browser's preflight (``OPTIONS``) never
carries credentials, so it passes unchecked, and its answer allows the
``Authorization`` header; a 401 carries the CORS headers so a page can read it.
"""

from __future__ import annotations

from typing import Any

from sigserve import request_scope
from sigserve.codecs.tf_json import encode_error
from sigserve.errors import ServingError
from sigserve.security.tokens import INVALID, BearerTokens

_ALLOW_HEADERS = b"access-control-allow-headers"
_CORS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"POST, GET"),
    (_ALLOW_HEADERS, b"Content-Type, Authorization"),
]


class RequireBearerToken:
    def __init__(self, app: Any, tokens: BearerTokens, *, cors: bool = False) -> None:
        self.app = app
        self.tokens = tokens
        self.cors = cors

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and self.cors:
            await self.app(scope, receive, _allowing_authorization(send))
            return
        try:
            self.tokens.check(_header(scope, b"authorization"))
        except ServingError as e:
            request_scope.note_error(e)
            await self._refuse(send, e)
            return
        await self.app(scope, receive, send)

    async def _refuse(self, send: Any, error: ServingError) -> None:
        payload = encode_error(error.message)
        challenge = b'Bearer realm="sigserve"'
        if error.message == INVALID:  # RFC 6750: no error code when none was sent
            challenge += b', error="invalid_token"'
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
            (b"www-authenticate", challenge),
            *(_CORS if self.cors else []),
        ]
        await send({"type": "http.response.start", "status": error.http_status,
                    "headers": headers})  # fmt: skip
        await send({"type": "http.response.body", "body": payload})


def _header(scope: dict[str, Any], name: bytes) -> bytes | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return value
    return None


def _allowing_authorization(send: Any) -> Any:
    """``send`` with the preflight answer's allowed headers naming ``Authorization``."""

    async def send_allowing(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != _ALLOW_HEADERS]
            if len(headers) != len(message.get("headers", [])):
                headers.append((_ALLOW_HEADERS, b"Content-Type, Authorization"))
            message = {**message, "headers": headers}
        await send(message)

    return send_allowing
