"""Health for load balancers: ``/livez``, ``/readyz`` and the gRPC health service, on real
servers, before a model loads, while it serves, when a model is added or removed at run
time, and after SIGTERM."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import grpc
import pytest
import requests
from grpc_health.v1 import health_pb2, health_pb2_grpc

from sigserve import protos

from .probes import refused, server_ready, wait_until

pytestmark = pytest.mark.slow

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def health_of(stub: health_pb2_grpc.HealthStub, service: str) -> int:
    return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=10).status


def test_ready_only_once_loaded_and_not_ready_from_sigterm(
    start_server, slow_loading_model: Path
) -> None:
    server = start_server(
        "--model_name=slow",
        f"--model_base_path={slow_loading_model}",
        "--num_request_iterations_for_warmup=8",  # a few seconds of warmup replay
        "--shutdown_drain_seconds=3",
        "--enable_grpc_healthcheck_service",
        wait=False,
    )
    live, ready = f"{server.rest_url}/livez", f"{server.rest_url}/readyz"
    # While the version loads nothing listens yet (TF Serving opens its ports after the
    # initial load): every probe fails, so nothing is sent here.
    wait_until(lambda: "Aspiring version 1 of servable slow" in server.log(), what="loading")
    assert refused(ready) and refused(live)
    assert "sigserve ready" not in server.log(), "the probes above were not made while loading"

    wait_until(lambda: server_ready(server), what="ready")
    answer = requests.get(ready, timeout=10)
    assert (answer.status_code, answer.json()) == (200, {"ready": True})
    assert answer.headers["content-type"] == "application/json"
    assert requests.get(live, timeout=10).json() == {"live": True}
    assert requests.head(ready, timeout=10).status_code == 200
    # TF Serving's own status URL is unchanged.
    status = requests.get(f"{server.rest_url}/v1/models/slow", timeout=10).json()
    assert status["model_version_status"][0]["state"] == "AVAILABLE"
    with grpc.insecure_channel(server.grpc_address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        assert [health_of(stub, s) for s in ("", "slow", "ModelService")] == [SERVING] * 3
        watch = stub.Watch(health_pb2.HealthCheckRequest(service="slow"), timeout=120)
        assert next(watch).status == SERVING

        server.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        wait_until(lambda: requests.get(ready, timeout=10).status_code == 503, what="not ready")
        answer = requests.get(ready, timeout=10)
        assert answer.json() == {"ready": False, "reason": "shutting down"}
        # Draining: still alive, still answering requests, gRPC health says go away.
        assert requests.get(live, timeout=10).status_code == 200
        predict = requests.post(
            f"{server.rest_url}/v1/models/slow:predict", json={"instances": [1.0]}, timeout=10
        )
        assert (predict.status_code, predict.json()) == (200, {"predictions": [2.0]})
        names = ("", "slow", "ModelService", "PredictionService")
        assert [health_of(stub, s) for s in names] == [NOT_SERVING] * 4
        assert next(watch).status == NOT_SERVING
        # The stream ends (OK) once the ports close, after the drain: an open Watch
        # does not hold the shutdown for the whole grace period (20 s).
        assert list(watch) == []
    assert server.process.wait(timeout=60) == 0
    assert time.monotonic() - signalled < 15
    assert refused(ready)


def _reload(address: str, models: dict[str, Path]) -> None:
    from tensorflow_serving.apis import model_service_pb2_grpc

    request = protos.model_management_pb2.ReloadConfigRequest()
    for name, base_path in models.items():
        model = request.config.model_config_list.config.add()
        model.name, model.base_path, model.model_platform = name, str(base_path), "tensorflow"
    with grpc.insecure_channel(address) as channel:
        model_service_pb2_grpc.ModelServiceStub(channel).HandleReloadConfigRequest(
            request, timeout=120
        )


def test_model_added_at_run_time_is_not_ready_until_it_loads(
    start_server, slow_model: Path, slow_loading_model: Path, tmp_path: Path
) -> None:
    config = tmp_path / "models.config"
    config.write_text(
        f'model_config_list {{ config {{ name: "fast" base_path: "{slow_model}" '
        'model_platform: "tensorflow" } }'
    )
    server = start_server(
        f"--model_config_file={config}",
        "--num_request_iterations_for_warmup=8",
        "--enable_grpc_healthcheck_service",
    )
    ready = f"{server.rest_url}/readyz"
    assert requests.get(ready, timeout=10).status_code == 200
    with grpc.insecure_channel(server.grpc_address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        watch = stub.Watch(health_pb2.HealthCheckRequest(service="late"), timeout=120)
        assert next(watch).status == health_pb2.HealthCheckResponse.SERVICE_UNKNOWN

        both = {"fast": slow_model, "late": slow_loading_model}
        reload = threading.Thread(target=_reload, args=(server.grpc_address, both))
        reload.start()
        wait_until(
            lambda: requests.get(ready, timeout=10).status_code == 503,
            what="not ready while late loads",
        )
        assert requests.get(ready, timeout=10).json() == {
            "ready": False,
            "reason": "no version of these models is available yet: late",
        }
        assert health_of(stub, "") == NOT_SERVING
        assert health_of(stub, "late") == NOT_SERVING
        assert health_of(stub, "fast") == SERVING
        reload.join(timeout=120)
        assert not reload.is_alive()

        assert requests.get(ready, timeout=10).status_code == 200
        assert [health_of(stub, s) for s in ("", "late", "fast")] == [SERVING] * 3
        seen = [next(watch).status for _ in range(2)]  # the stream saw each change
        assert seen == [NOT_SERVING, SERVING]

        _reload(server.grpc_address, {"fast": slow_model})  # "late" removed
        assert requests.get(ready, timeout=10).status_code == 200
        assert wait_until(lambda: health_of(stub, "late") == NOT_SERVING, what="late removed")
        assert health_of(stub, "") == SERVING
        watch.cancel()
