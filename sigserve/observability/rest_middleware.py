"""An ASGI middleware around the REST app: metrics, the access log, the metrics page.

It times each HTTP request from its arrival to the end of its answer, counts
body bytes both ways as they pass, and reads the model from the URL (TF
Serving's grammar, :mod:`sigserve.rest.paths`), the version that answered and
the error's code from the request's :mod:`~sigserve.request_scope`, and the
error's message from the answer's JSON body. The app itself counts nothing.
``GET <path>`` of the monitoring config answers the Prometheus page; scrapes are
neither counted nor logged.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sigserve import request_scope
from sigserve.errors import HTTP_STATUS, Code, ServingError
from sigserve.observability import access_log
from sigserve.observability.metrics import CONTENT_TYPE, ServerMetrics
from sigserve.rest import paths

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

CLIENT_LEFT = 499  # no answer was sent: the client left first (nginx's number)

# An HTTP status back to the canonical code that TF Serving maps to it (the first one, for
# 400); 413 is what a too-large body gets.
_CODE_OF_STATUS = {status: code for code, status in reversed(HTTP_STATUS.items())}
_CODE_OF_STATUS |= {400: Code.INVALID_ARGUMENT, 500: Code.INTERNAL, 413: Code.RESOURCE_EXHAUSTED}


class ObservedRestApp:
    def __init__(
        self, app: App, *, metrics: ServerMetrics | None, metrics_path: str | None,
        access_log: bool,
    ) -> None:  # fmt: skip
        self.app = app
        self.metrics = metrics
        self.metrics_path = metrics_path if metrics is not None else None
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == self.metrics_path:
            await self._scrape(send)
            return
        exchange = _Exchange(receive, send, lambda: self._finished(scope, exchange))
        token = request_scope.current.set(exchange.scope)
        if self.metrics is not None:
            self.metrics.requests.in_flight["rest"] += 1
        try:
            await self.app(scope, exchange.receive, exchange.send)
        finally:
            request_scope.current.reset(token)
            exchange.finish()  # if no answer was sent (the client left, or the app failed)

    def _finished(self, scope: Scope, exchange: _Exchange) -> None:
        """Count and log the request (once, just before its last byte is sent: a client
        that has its answer finds it counted)."""
        seconds = time.perf_counter() - exchange.start
        if self.metrics is not None:
            self.metrics.requests.in_flight["rest"] -= 1
        method = scope["method"]
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        raw_path = raw_path.split("?", 1)[0]
        api, model, version = _route(method, raw_path)
        answered = exchange.scope
        status = exchange.status or CLIENT_LEFT
        error = answered.error
        if error is not None:
            code = error.code.name
        elif status == CLIENT_LEFT:
            code = Code.CANCELLED.name
        else:
            code = _CODE_OF_STATUS.get(status, Code.UNKNOWN).name
        if self.metrics is not None:
            label = self.metrics.model_label(answered.model, model)
            self.metrics.requests.add(
                "rest", api, label, code, seconds, exchange.bytes_in, exchange.bytes_out
            )
        if self.access_log:
            access_log.log_rest(
                method=method, path=raw_path, model=answered.model or model,
                version=answered.version if answered.version is not None else version,
                status=status, code=code, seconds=seconds, bytes_in=exchange.bytes_in,
                bytes_out=exchange.bytes_out, peer=_peer(scope),
                error=_error_text(error, exchange.error_body),
            )  # fmt: skip

    async def _scrape(self, send: Send) -> None:
        assert self.metrics is not None
        body = self.metrics.exposition()
        headers = [
            (b"content-type", CONTENT_TYPE.encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class _Exchange:
    """One request's receive and send, counting bytes and keeping the status."""

    __slots__ = ("_done", "_receive", "_send", "bytes_in", "bytes_out", "error_body", "scope",
                 "start", "status")  # fmt: skip

    def __init__(self, receive: Receive, send: Send, done: Callable[[], None]) -> None:
        self._receive, self._send, self._done = receive, send, done
        self.start = time.perf_counter()
        self.bytes_in = self.bytes_out = 0
        self.status: int | None = None
        self.error_body = b""
        self.scope = request_scope.RequestScope()

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.bytes_in += len(message.get("body", b""))
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            self.bytes_out += len(body)
            if self.status != 200 and len(self.error_body) < 4096:
                self.error_body += body
            if not message.get("more_body"):
                self.finish()
        await self._send(message)

    def finish(self) -> None:
        done, self._done = self._done, None
        if done is not None:
            done()


def _route(method: str, raw_path: str) -> tuple[str, str, int | None]:
    """(api, model asked for, version asked for) of a REST path; api "other" off the API."""
    if not paths.API_PREFIX.fullmatch(raw_path):
        return "other", "", None
    try:
        route = paths.parse(method, raw_path)
    except ServingError:
        return "other", "", None
    return route.action or "other", route.model_name, route.version


def _peer(scope: Scope) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else ""


def _error_text(error: ServingError | None, body: bytes) -> str | None:
    if error is not None:
        return error.message
    if not body:
        return None
    try:
        return str(json.loads(body)["error"])
    except (ValueError, KeyError, TypeError):
        return None
