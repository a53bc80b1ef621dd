"""Probing a real server from a test: slow requests, refused connections, waiting."""

from __future__ import annotations

import time

import numpy as np
import requests

from sigserve import protos
from sigserve.codecs.tensor_proto import from_numpy


def slow_predict(url: str, model: str, n: int, timeout: float = 120) -> requests.Response:
    """A REST Predict of ``slow`` running ``n`` matmuls (about 0.15 ms each here)."""
    body = {"signature_name": "slow", "inputs": {"n": n}}
    return requests.post(f"{url}/v1/models/{model}:predict", json=body, timeout=timeout)


def grpc_slow_request(model: str, n: int):
    request = protos.predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = "slow"
    request.inputs["n"].CopyFrom(from_numpy(np.array(n, dtype=np.int32)))
    return request


def refused(url: str) -> bool:
    """Whether nothing listens at ``url`` (a connection error, not an HTTP answer)."""
    try:
        requests.get(url, timeout=5)
    except requests.ConnectionError:
        return True
    return False


def wait_until(condition, timeout: float = 60, interval: float = 0.05, what: str = ""):
    """Poll ``condition()`` until it is truthy; its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")


def server_ready(server) -> bool:
    if server.process.poll() is not None:
        raise AssertionError(f"the server exited with {server.process.returncode}:\n{server.log()}")
    return "sigserve ready" in server.log()
