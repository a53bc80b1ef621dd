"""``GET /livez`` and ``GET /readyz`` on the REST port, in front of the REST API.

Kubernetes' own names (its API server serves ``/livez`` and ``/readyz``), outside
TF Serving's ``/v1/`` grammar, so no TF Serving path changes meaning:

- ``/livez``: 200 ``{"live": true}`` whenever the process answers HTTP.
- ``/readyz``: 200 ``{"ready": true}`` when every configured model has an
  AVAILABLE version; else 503 ``{"ready": false, "reason": "..."}``, and 503
  from the moment shutdown begins.

``HEAD`` works too. Neither reads the body, takes a request slot or touches a
model. Other methods and paths go on to the wrapped application.
"""

from __future__ import annotations

import json
from typing import Any

from sigserve.health import Health

LIVE_PATH = "/livez"
READY_PATH = "/readyz"

_HEADERS = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]


class HealthRoutes:
    def __init__(self, app: Any, health: Health) -> None:
        self.app = app
        self.health = health

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            path = scope["path"]
            if path == LIVE_PATH:
                await _answer(send, 200, {"live": True})
                return
            if path == READY_PATH:
                readiness = self.health.readiness()
                if readiness.ready:
                    await _answer(send, 200, {"ready": True})
                else:
                    await _answer(send, 503, {"ready": False, "reason": readiness.reason})
                return
        await self.app(scope, receive, send)


async def _answer(send: Any, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    headers = [*_HEADERS, (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
