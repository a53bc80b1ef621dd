"""REST side of ``--max_requests_in_progress``: a request beyond the bound gets 503.

The slot is taken when the request line and headers have arrived, before the
body is read: a refused request costs no body in memory and no decoding. It is
given back when the answer has been sent (or the client left).
"""

from __future__ import annotations

from typing import Any

from sigserve.codecs.tf_json import encode_error
from sigserve.limits import RequestSlots


class RefuseBeyondLimit:
    def __init__(self, app: Any, slots: RequestSlots) -> None:
        self.app = app
        self.slots = slots

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not self.slots.take():
            error = self.slots.refusal()
            payload = encode_error(error.message)
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"retry-after", b"1"),
            ]
            await send({"type": "http.response.start", "status": error.http_status,
                        "headers": headers})  # fmt: skip
            await send({"type": "http.response.body", "body": payload})
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.slots.give_back()
