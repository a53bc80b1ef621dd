"""REST requests in progress: counted, bounded (``--max_requests_in_progress``), and
answered when shutdown cuts them short.

- The slot is taken when the request line and headers have arrived, before the
  body is read: a refused request costs no body in memory and no decoding. It
  is given back when the answer has been sent (or the client left).
- Beyond the bound: 503 ``{"error": "..."}`` with ``Retry-After: 1``, at once.
- A request still running when ``--shutdown_grace_seconds`` ends is cancelled
  by the HTTP server; if it had not begun its answer it gets 503 (the server is
  going away: retry elsewhere) instead of a bare 500 and a logged traceback.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sigserve.codecs.tf_json import encode_error
from sigserve.errors import ServingError, unavailable
from sigserve.limits import RequestSlots

CUT_SHORT = "Server shut down before the request finished; try again"


class RequestsInProgress:
    def __init__(self, app: Any, slots: RequestSlots) -> None:
        self.app = app
        self.slots = slots

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not self.slots.take():
            await _answer(send, self.slots.refusal(), [(b"retry-after", b"1")])
            return
        started = False

        async def send_noting_start(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_noting_start)
        except asyncio.CancelledError:  # the grace period is over
            if started:
                raise
            await _answer(send, unavailable(CUT_SHORT), [(b"connection", b"close")])
        finally:
            self.slots.give_back()


async def _answer(send: Any, error: ServingError, extra: list[tuple[bytes, bytes]]) -> None:
    payload = encode_error(error.message)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": error.http_status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
