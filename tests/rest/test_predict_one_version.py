"""A REST predict decodes its body against the signature of the version that runs it:
the version is acquired once per request, never once to decode and again to run."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from sigserve.errors import Code, ServingError
from sigserve.manager.manager import Handle
from sigserve.rest.app import RestApp
from sigserve.service import Service
from sigserve.types import ModelRef, SignatureInfo, TensorInfo


class Servable:
    """Version 1 takes float ``x``; version 2 takes int ``x`` and answers its version."""

    def __init__(self, version: int) -> None:
        dtype = "DT_FLOAT" if version == 1 else "DT_INT64"
        self.version = version
        self.signatures = {
            "serving_default": SignatureInfo(
                "tensorflow/serving/predict",
                {"x": TensorInfo(dtype, (-1,), "x:0")},
                {"y": TensorInfo("DT_INT64", (-1,), "y:0")},
            )
        }
        self.runs: list[str] = []

    def run(self, key: str, inputs: dict[str, np.ndarray], output_filter: Any = ()) -> Any:
        expected = np.float32 if self.version == 1 else np.int64
        assert inputs["x"].dtype == expected, "decoded for another version's signature"
        self.runs.append(key)
        return {"y": np.full(inputs["x"].shape, self.version, np.int64)}


class SwappingManager:
    """Each acquire answers the next version: a new version becoming the latest between
    two acquires of one request."""

    def __init__(self) -> None:
        self.versions = [Servable(1), Servable(2)]
        self.acquires = 0
        self.held = 0

    @contextlib.contextmanager
    def acquire(self, ref: ModelRef) -> Iterator[Handle]:
        servable = self.versions[self.acquires % 2]
        self.acquires += 1
        self.held += 1
        try:
            yield Handle(ref.name, servable.version, servable)
        finally:
            self.held -= 1


def post(app: RestApp, path: str, body: bytes) -> tuple[int, Any]:
    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(),
             "headers": []}  # fmt: skip
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], json.loads(sent[1]["body"])


@pytest.fixture
def served() -> Iterator[tuple[RestApp, SwappingManager]]:
    manager = SwappingManager()
    executor = ThreadPoolExecutor(2)
    app = RestApp(Service(manager, executor))  # type: ignore[arg-type]
    yield app, manager
    app.offload.shutdown()
    executor.shutdown()


@pytest.mark.parametrize("threshold", [1 << 30, 0], ids=["inline", "offloaded"])
def test_predict_acquires_the_version_once(served: Any, threshold: int) -> None:
    app, manager = served
    app.offload.threshold = threshold  # decode on the loop, or on the codec pool
    answers = []
    for _ in range(3):
        before = manager.acquires
        status, body = post(app, "/v1/models/m:predict", b'{"instances": [1, 2]}')
        assert (status, manager.acquires - before) == (200, 1), body
        answers.append(body["predictions"])
    # Each request decoded x for the version that ran it (the servable checks the dtype).
    assert answers == [[1, 1], [2, 2], [1, 1]]
    assert len(manager.versions[0].runs) == 2 and len(manager.versions[1].runs) == 1
    assert manager.held == 0


def test_predict_error_before_running_releases_the_version(served: Any) -> None:
    app, manager = served
    status, body = post(app, "/v1/models/m:predict", b'{"instances": ["text"]}')
    assert status == 400 and "serving_default" in body["error"]
    assert (manager.acquires, manager.held) == (1, 0)


def test_a_held_version_is_not_acquired_after_its_request_ended() -> None:
    """A decode still running on the codec pool when its request timed out gets nothing."""
    manager = SwappingManager()
    service = Service(manager, ThreadPoolExecutor(1))  # type: ignore[arg-type]
    with service.hold(ModelRef("m")) as model:
        pass
    with pytest.raises(ServingError) as error:
        model.signature_inputs("")
    assert error.value.code == Code.CANCELLED
    assert (manager.acquires, manager.held) == (0, 0)
