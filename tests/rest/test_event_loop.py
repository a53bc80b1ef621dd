"""Large REST codec work runs off the event loop that REST and gRPC share: other
requests are answered meanwhile, and ``--rest_api_timeout_in_ms`` holds."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import grpc
import numpy as np
import pytest
import requests

from sigserve import protos

ROWS = 1_500_000  # a ~15 MB body whose decode takes about a second


@pytest.fixture(scope="module")
def big_body() -> bytes:
    values = np.random.default_rng(0).random(ROWS).round(6)
    return ('{"instances": [' + ",".join(f"[{v}]" for v in values.tolist()) + "]}").encode()


@pytest.fixture(scope="module")
def server(start_server, testdata: Path):
    return start_server(
        "--model_name=half_plus_two",
        f"--model_base_path={testdata / 'saved_model_half_plus_two_cpu'}",
        "--rest_api_timeout_in_ms=60000",
        "--enable_batching=false",  # its 1.5M-row request is over any max_batch_size
    )


def _status_call(stub) -> float:
    request = protos.get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = "half_plus_two"
    start = time.perf_counter()
    stub.GetModelStatus(request, timeout=30)
    return time.perf_counter() - start


def test_grpc_answers_while_a_large_rest_body_is_decoded(server, big_body: bytes) -> None:
    channel = grpc.insecure_channel(server.grpc_address)
    stub = protos.model_service_pb2_grpc.ModelServiceStub(channel)
    _status_call(stub)  # connected
    done = threading.Event()
    answer: dict[str, object] = {}

    def big() -> None:
        start = time.perf_counter()
        try:
            response = requests.post(
                f"{server.rest_url}/v1/models/half_plus_two:predict", data=big_body, timeout=120
            )
            answer["status"] = response.status_code
            answer["response"] = response  # parsed after the loop: it holds this process's GIL
        finally:
            answer["seconds"] = time.perf_counter() - start
            done.set()

    thread = threading.Thread(target=big)
    thread.start()
    during = []
    while not done.is_set():
        during.append(_status_call(stub))
    thread.join()
    channel.close()
    assert answer["status"] == 200
    assert len(answer["response"].json()["predictions"]) == ROWS  # type: ignore[attr-defined]
    # Status calls kept being answered while the big request was in the server: many of
    # them, typically at once, and none stalled for most of the big request's duration
    # (with the decode on the loop, one waited for all of it).
    seconds = float(answer["seconds"])  # type: ignore[arg-type]
    assert len(during) >= 5, during
    assert sorted(during)[len(during) // 2] < seconds / 20, (sorted(during), seconds)
    assert max(during) < seconds / 2, (max(during), seconds)


def test_timeout_holds_during_a_large_decode(start_server, testdata: Path, big_body: bytes) -> None:
    server = start_server(
        "--model_name=half_plus_two",
        f"--model_base_path={testdata / 'saved_model_half_plus_two_cpu'}",
        "--rest_api_timeout_in_ms=100",
        "--enable_batching=false",  # over any max_batch_size: batching would refuse it first
    )
    url = f"{server.rest_url}/v1/models/half_plus_two:predict"
    start = time.perf_counter()
    response = requests.post(url, data=big_body, timeout=120)
    waited = time.perf_counter() - start
    assert response.status_code == 504, response.text[:200]
    assert response.json() == {"error": "Deadline Exceeded"}
    # The server goes on: once the abandoned decode is over, requests are answered.
    deadline = time.monotonic() + 30
    while True:
        small = requests.post(url, json={"instances": [1.0, 2.0]}, timeout=30)
        if small.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert small.json() == {"predictions": [2.5, 3.0]}
    assert waited < 30
