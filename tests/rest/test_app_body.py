"""The ASGI app reads the whole body before anything runs; a client that leaves
mid-body gets no handler run and no answer."""

from __future__ import annotations

import asyncio
from typing import Any

from sigserve.rest.app import RestApp


class RecordingService:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.calls.append(name)
        raise AssertionError(f"the service was called: {name}")


def _scope() -> dict[str, Any]:
    path = "/v1/models/m:predict"
    return {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(),
            "headers": []}  # fmt: skip


def _run(messages: list[dict[str, Any]]) -> tuple[RecordingService, list[dict[str, Any]]]:
    service = RecordingService()
    app = RestApp(service)  # type: ignore[arg-type]
    sent: list[dict[str, Any]] = []
    queue = list(messages)

    async def receive() -> dict[str, Any]:
        return queue.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(_scope(), receive, send))
    app.offload.shutdown()
    return service, sent


def test_disconnect_mid_body_runs_nothing() -> None:
    service, sent = _run([
        {"type": "http.request", "body": b'{"instances": [1.0,', "more_body": True},
        {"type": "http.disconnect"},
    ])  # fmt: skip
    assert service.calls == [] and sent == []


def test_body_in_chunks_is_joined() -> None:
    service, sent = _run([
        {"type": "http.request", "body": b'{"instan', "more_body": True},
        {"type": "http.request", "body": b'ces": [1]}', "more_body": False},
    ])  # fmt: skip
    # The joined body parsed: predict went on to hold the model version it names.
    assert service.calls == ["hold"]
    assert sent[0]["type"] == "http.response.start"
