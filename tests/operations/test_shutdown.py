"""Graceful shutdown of a real server: SIGTERM during requests, the grace period, a second
signal, and a signal during the initial load."""

from __future__ import annotations

import re
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
import requests

from .probes import grpc_slow_request, server_ready, slow_predict, wait_until

pytestmark = pytest.mark.slow

SLOW_STEPS = 12_000  # about 2 s per request here


def _stream(url: str, stop: threading.Event, statuses: list[int], errors: list[str]) -> None:
    """Fast predictions one after another until the server stops accepting."""
    with requests.Session() as session:
        while not stop.is_set():
            try:
                answer = session.post(url, json={"instances": [1.0]}, timeout=30)
            except requests.ConnectionError as e:  # not accepted: never received
                errors.append(type(e).__name__)
                return
            statuses.append(answer.status_code)


def test_sigterm_during_requests_answers_every_request_received(
    start_server, slow_model: Path
) -> None:
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    server = start_server(
        "--model_name=slow", f"--model_base_path={slow_model}", "--shutdown_drain_seconds=1"
    )
    predict_url = f"{server.rest_url}/v1/models/slow:predict"
    stop_stream = threading.Event()
    statuses: list[int] = []
    errors: list[str] = []
    streams = [
        threading.Thread(target=_stream, args=(predict_url, stop_stream, statuses, errors))
        for _ in range(2)
    ]
    with grpc.insecure_channel(server.grpc_address) as channel, ThreadPoolExecutor(4) as pool:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        for stream in streams:
            stream.start()
        wait_until(lambda: len(statuses) >= 5, what="the stream to flow")
        slow_rest = [pool.submit(slow_predict, server.rest_url, "slow", SLOW_STEPS)
                     for _ in range(2)]  # fmt: skip
        slow_grpc = [stub.Predict.future(grpc_slow_request("slow", SLOW_STEPS), timeout=120)
                     for _ in range(2)]  # fmt: skip
        time.sleep(0.3)  # sent; the drain second makes sure they are received
        server.process.send_signal(signal.SIGTERM)
        sent_at = time.monotonic()

        for future in slow_rest:
            answer = future.result(timeout=120)
            assert answer.status_code == 200, answer.text
            assert answer.json()["outputs"] > 0
        for call in slow_grpc:
            assert call.result().outputs["y"].float_val[0] > 0
        assert server.process.wait(timeout=60) == 0
        stop_stream.set()
        for stream in streams:
            stream.join(timeout=60)

    assert set(statuses) == {200}, statuses  # every answered request succeeded
    assert len(errors) == 2  # each stream ended on a connection the server no longer took
    log = server.log()
    in_progress = int(re.search(r"Not accepting requests any more; (\d+) in progress", log)[1])
    assert in_progress >= 4  # the slow ones were still running when the ports closed
    assert time.monotonic() - sent_at < 60


def test_grace_period_bounds_the_wait_for_a_request(start_server, slow_model: Path) -> None:
    server = start_server(
        "--model_name=slow", f"--model_base_path={slow_model}", "--shutdown_grace_seconds=1"
    )
    with ThreadPoolExecutor(1) as pool:
        very_slow = pool.submit(slow_predict, server.rest_url, "slow", 300_000)  # ~45 s
        time.sleep(1)
        server.process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert server.process.wait(timeout=30) == 0
        took = time.monotonic() - started
        answer = very_slow.result(timeout=30)
    # 1 s of grace, at most 5 s waiting for the unload (the model call cannot be
    # interrupted), then the process exits without waiting for that call.
    assert took < 15, took
    assert answer.status_code == 503
    assert answer.json() == {"error": "Server shut down before the request finished; try again"}
    assert "Traceback" not in server.log()


def test_second_signal_exits_at_once(start_server, slow_model: Path) -> None:
    server = start_server(
        "--model_name=slow", f"--model_base_path={slow_model}", "--shutdown_drain_seconds=120"
    )
    server.process.send_signal(signal.SIGTERM)
    wait_until(lambda: "Received SIGTERM" in server.log(), what="the first signal")
    server.process.send_signal(signal.SIGINT)
    started = time.monotonic()
    status = server.process.wait(timeout=10)
    assert time.monotonic() - started < 5
    assert status != 0
    assert status == -signal.SIGINT


def test_signal_during_the_initial_load_stops_and_exits_0(
    start_server, slow_loading_model: Path
) -> None:
    server = start_server(
        "--model_name=slow",
        f"--model_base_path={slow_loading_model}",
        "--num_request_iterations_for_warmup=12",
        wait=False,
    )
    wait_until(lambda: "Aspiring version 1 of servable slow" in server.log(), what="loading")
    assert not server_ready(server)
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=60) == 0
    log = server.log()
    assert "Received SIGTERM while loading" in log
    assert "sigserve ready" not in log
