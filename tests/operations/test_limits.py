"""Limits on a real server: request bodies (413 without reading them) and requests in
progress (503 / UNAVAILABLE at once, shared by REST and gRPC, probes exempt)."""

from __future__ import annotations

import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
import requests

from .probes import grpc_slow_request, slow_predict

pytestmark = pytest.mark.slow

BODY_LIMIT = 1000
IN_PROGRESS = 2
SLOW_STEPS = 10_000  # about 1.5 s per request here


@pytest.fixture(scope="module")
def server(start_server, slow_model: Path):
    return start_server(
        "--model_name=slow",
        f"--model_base_path={slow_model}",
        f"--rest_api_max_body_bytes={BODY_LIMIT}",
        f"--max_requests_in_progress={IN_PROGRESS}",
    )


def _connect(server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.rest_port), timeout=5)
    sock.settimeout(5)
    return sock


def _read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes, bool]:
    """Status, headers, body of one HTTP answer, and whether the server then closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    while len(body) < int(headers["content-length"]):
        body += sock.recv(65536)
    closed = sock.recv(65536) == b""
    return int(lines[0].split()[1]), headers, body, closed


def _post_head(extra: str) -> bytes:
    return (
        "POST /v1/models/slow:predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"{extra}\r\n"
    ).encode()


def test_declared_oversized_body_gets_413_before_any_of_it_is_sent(server) -> None:
    with _connect(server) as sock:
        started = time.monotonic()
        sock.sendall(_post_head("Content-Length: 300000000\r\n"))  # and no body at all
        status, headers, body, closed = _read_answer(sock)
    assert time.monotonic() - started < 2  # it did not wait for the 300 MB
    assert status == 413
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {
        "error": f"Request body too large: 300000000 bytes, more than the limit of "
        f"{BODY_LIMIT} bytes"
    }
    assert closed  # the rest of the body is never read


def test_streamed_body_gets_413_once_its_chunks_pass_the_limit(server) -> None:
    chunk = b" " * 600
    with _connect(server) as sock:
        sock.sendall(_post_head("Transfer-Encoding: chunked\r\n"))
        for _ in range(2):  # 1200 bytes so far; the final chunk is never sent
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        status, _, body, closed = _read_answer(sock)
    assert status == 413
    assert json.loads(body) == {
        "error": f"Request body too large: more than the limit of {BODY_LIMIT} bytes"
    }
    assert closed


def test_body_of_exactly_the_limit_is_served(server) -> None:
    body = json.dumps({"instances": [1.0, 2.0]}).encode()
    body += b" " * (BODY_LIMIT - len(body))
    url = f"{server.rest_url}/v1/models/slow:predict"
    answer = requests.post(url, data=body, timeout=30)
    assert (answer.status_code, answer.json()) == (200, {"predictions": [2.0, 4.0]})
    answer = requests.post(url, data=body + b" ", timeout=30)
    assert answer.status_code == 413


def test_rest_burst_past_the_bound_gets_only_fast_503s(server) -> None:
    def timed() -> tuple[int, float, requests.Response]:
        started = time.monotonic()
        answer = slow_predict(server.rest_url, "slow", SLOW_STEPS)
        return answer.status_code, time.monotonic() - started, answer

    with ThreadPoolExecutor(10) as pool:
        burst = [pool.submit(timed) for _ in range(10)]
        time.sleep(0.3)  # while the burst runs, probes are still answered
        assert requests.get(f"{server.rest_url}/readyz", timeout=5).status_code == 200
        assert requests.get(f"{server.rest_url}/livez", timeout=5).status_code == 200
        results = [future.result(timeout=120) for future in burst]
    statuses = [status for status, _, _ in results]
    assert set(statuses) == {200, 503}, statuses
    refused = [(took, answer) for status, took, answer in results if status == 503]
    served = [took for status, took, _ in results if status == 200]
    for took, answer in refused:
        assert answer.json() == {
            "error": f"Server is at its limit of {IN_PROGRESS} requests in progress; "
            "try again later"
        }
        assert answer.headers["retry-after"] == "1"
        assert took < min(served), (took, served)  # refused at once, not queued
    # Afterwards the slots are free again.
    after = requests.post(
        f"{server.rest_url}/v1/models/slow:predict", json={"instances": [3.0]}, timeout=30
    )
    assert after.json() == {"predictions": [6.0]}


def test_grpc_shares_the_bound_and_answers_unavailable(server) -> None:
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    with grpc.insecure_channel(server.grpc_address) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        calls = [
            stub.Predict.future(grpc_slow_request("slow", SLOW_STEPS), timeout=120)
            for _ in range(8)
        ]
        time.sleep(0.3)
        # The slots are held by gRPC calls: REST is refused too.
        rest = slow_predict(server.rest_url, "slow", 1)
        codes = []
        for call in calls:
            try:
                call.result()
                codes.append(grpc.StatusCode.OK)
            except grpc.RpcError as error:
                codes.append(error.code())
                assert error.details() == (
                    f"Server is at its limit of {IN_PROGRESS} requests in progress; "
                    "try again later"
                )
    assert set(codes) == {grpc.StatusCode.OK, grpc.StatusCode.UNAVAILABLE}, codes
    assert codes.count(grpc.StatusCode.OK) <= IN_PROGRESS + 1
    assert rest.status_code == 503
