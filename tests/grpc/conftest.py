"""A fake Service, and ``build_grpc_server`` running it in a background thread."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2_grpc

from sigserve import protos
from sigserve.config import ServerConfig
from sigserve.errors import not_found
from sigserve.grpc.server import build_grpc_server
from sigserve.service import ResolvedSpec
from sigserve.types import ModelRef

VERSIONS = {1: "one", 2: "two"}
LABELS = {"stable": 1, "canary": 2}


def resolve(ref: ModelRef, signature_name: str) -> ResolvedSpec:
    """The fake's model store: model "m" with versions 1 and 2 and two labels."""
    if ref.name != "m":
        raise not_found(f"Servable not found for request: Latest({ref.name})")
    version = ref.version if ref.version is not None else LABELS.get(ref.label or "", 2)
    if ref.label and ref.label not in LABELS:
        raise not_found(f"Unrecognized servable version label: {ref.label}")
    if version not in VERSIONS:
        raise not_found(f"Servable not found for request: Specific(m, {version})")
    return ResolvedSpec("m", version, signature_name)


@dataclass
class FakeService:
    """Answers like the real Service; ``fail`` makes the next call raise."""

    calls: list[tuple[str, Any]] = field(default_factory=list)
    fail: BaseException | None = None

    def _enter(self, method: str, *args: Any) -> None:
        self.calls.append((method, args))
        if self.fail is not None:
            raise self.fail

    async def predict(
        self,
        ref: ModelRef,
        signature_name: str,
        inputs: dict[str, np.ndarray],
        output_filter: Any = (),
    ) -> tuple[ResolvedSpec, dict[str, np.ndarray]]:
        self._enter("predict", ref, signature_name, inputs, output_filter)
        spec = resolve(ref, signature_name or "serving_default")
        outputs = {
            "y": inputs["x"] * 0.5 + 2,
            "name": np.array([VERSIONS[spec.version].encode()], object),
        }
        if output_filter:
            outputs = {k: outputs[k] for k in output_filter}
        return spec, outputs

    async def classify(
        self, ref: ModelRef, signature_name: str, input: Any
    ) -> tuple[ResolvedSpec, Any]:
        self._enter("classify", ref, signature_name, input)
        result = protos.classification_pb2.ClassificationResult()
        result.classifications.add().classes.add(label="a", score=0.25)
        return resolve(ref, signature_name or "serving_default"), result

    async def regress(
        self, ref: ModelRef, signature_name: str, input: Any
    ) -> tuple[ResolvedSpec, Any]:
        self._enter("regress", ref, signature_name, input)
        result = protos.regression_pb2.RegressionResult()
        result.regressions.add(value=3.0)
        return resolve(ref, signature_name or "serving_default"), result

    async def multi_inference(self, request: Any) -> Any:
        self._enter("multi_inference", request)
        response = protos.inference_pb2.MultiInferenceResponse()
        response.results.add().model_spec.name = "m"
        return response

    def metadata(self, ref: ModelRef) -> tuple[ResolvedSpec, dict[str, Any]]:
        self._enter("metadata", ref)
        signature = protos.meta_graph_pb2.SignatureDef(method_name="tensorflow/serving/predict")
        signature.inputs["x"].name = "x:0"
        return resolve(ref, ""), {"serving_default": signature}

    def status(self, ref: ModelRef) -> Any:
        self._enter("status", ref)
        resolve(ref, "")
        response = protos.get_model_status_pb2.GetModelStatusResponse()
        response.model_version_status.add(version=2, state=30)
        return response

    async def reload_config(self, config: Any) -> None:
        self._enter("reload_config", config)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunningServer:
    """``build_grpc_server`` started on its own event loop in a thread."""

    def __init__(self, service: Any, config: ServerConfig) -> None:
        self.port = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = self.call(lambda: self._start(service, config))

    async def _start(self, service: Any, config: ServerConfig) -> Any:
        server = build_grpc_server(service, config)
        await server.start()
        return server

    def call(self, make: Callable[[], Any]) -> Any:
        async def run() -> Any:
            return await make()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=30)

    def stop(self) -> None:
        self.call(lambda: self.server.stop(None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def fake() -> FakeService:
    return FakeService()


@pytest.fixture
def serve_fake(fake: FakeService) -> Iterator[Callable[..., RunningServer]]:
    """A factory: ``serve_fake(grpc_socket_path=...)`` → a running server on a free port."""
    running: list[RunningServer] = []

    def start(**options: Any) -> RunningServer:
        options.setdefault("port", free_port())
        config = ServerConfig()
        for key, value in options.items():  # also flags ServerConfig does not declare yet
            setattr(config, key, value)
        server = RunningServer(fake, config)
        server.port = config.port
        running.append(server)
        return server

    yield start
    for server in running:
        server.stop()


@pytest.fixture
def connect() -> Iterator[Callable[[str], Stubs]]:
    """A factory: ``connect("127.0.0.1:PORT")`` → the stubs on a new channel."""
    channels: list[grpc.Channel] = []

    def open_stubs(target: str) -> Stubs:
        channels.append(grpc.insecure_channel(target))
        return Stubs(channels[-1])

    yield open_stubs
    for channel in channels:
        channel.close()


@pytest.fixture
def stubs(serve_fake: Callable[..., RunningServer], connect: Callable[[str], Stubs]) -> Stubs:
    server = serve_fake(enable_grpc_healthcheck_service=True)
    return connect(f"127.0.0.1:{server.port}")


class Stubs:
    """The real ``tensorflow-serving-api`` stubs on one channel."""

    def __init__(self, channel: grpc.Channel) -> None:
        from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc

        self.predict = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        self.model = model_service_pb2_grpc.ModelServiceStub(channel)
        self.health = health_pb2_grpc.HealthStub(channel)
