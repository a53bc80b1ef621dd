"""Access-log lines of real servers: plain, JSON, and off."""

from __future__ import annotations

import json
import time
from pathlib import Path

import grpc
import numpy as np
import pytest
import requests

from sigserve import protos
from sigserve.codecs import tensor_proto


def model_flags(testdata: Path) -> list[str]:
    return ["--model_name=hp", f"--model_base_path={testdata}/saved_model_half_plus_two_cpu"]


def traffic(server) -> None:
    """One REST success, one REST failure, one gRPC success, one gRPC failure."""
    url = f"{server.rest_url}/v1/models/hp:predict"
    assert requests.post(url, data='{"instances": [1.0, 2.0]}', timeout=30).status_code == 200
    assert requests.post(url, data='{"instances": "x"}', timeout=30).status_code == 400
    request = protos.predict_pb2.PredictRequest()
    request.model_spec.name = "hp"
    tensor_proto.fill(request.inputs["x"], np.array([1.0], np.float32))
    with grpc.insecure_channel(server.grpc_address) as channel:
        stub = protos.prediction_service_pb2_grpc.PredictionServiceStub(channel)
        stub.Predict(request, timeout=30)
        request.model_spec.name = "missing"
        with pytest.raises(grpc.RpcError):
            stub.Predict(request, timeout=30)


def access_lines(server, count: int) -> list[str]:
    deadline = time.monotonic() + 10
    while True:
        lines = [line for line in server.log().splitlines() if "sigserve.access" in line]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def test_plain_lines(start_server, testdata: Path) -> None:
    server = start_server(*model_flags(testdata))
    traffic(server)
    lines = access_lines(server, 4)
    assert len(lines) == 4, lines
    ok, bad, grpc_ok, grpc_missing = lines
    assert " INFO sigserve.access: transport=rest method=POST path=/v1/models/hp:predict " in ok
    for field in ("model=hp", "version=123", "status=200", "code=OK", "bytes_in=25",
                  "bytes_out=", "latency_ms=", "peer=127.0.0.1:"):  # fmt: skip
        assert field in ok, ok
    assert "status=400 code=INVALID_ARGUMENT" in bad
    assert 'error="JSON Value:' in bad  # the message the client got, quoted
    assert "transport=grpc rpc=/tensorflow.serving.PredictionService/Predict model=hp " in grpc_ok
    assert "version=123 code=OK" in grpc_ok
    assert "model=missing code=NOT_FOUND" in grpc_missing
    assert 'error="Servable not found for request: Latest(missing)' in grpc_missing
    assert "Traceback" not in server.log()


def test_json_lines(start_server, testdata: Path) -> None:
    server = start_server(*model_flags(testdata), "--log_format=json")
    traffic(server)
    lines = access_lines(server, 4)
    records = [json.loads(line) for line in lines]
    assert [r["transport"] for r in records] == ["rest", "rest", "grpc", "grpc"]
    ok = records[0]
    assert ok["level"] == "INFO" and ok["logger"] == "sigserve.access"
    assert ok["method"] == "POST" and ok["path"] == "/v1/models/hp:predict"
    assert (ok["model"], ok["version"], ok["status"], ok["code"]) == ("hp", 123, 200, "OK")
    assert ok["bytes_in"] == 25 and ok["bytes_out"] > 0 and ok["latency_ms"] > 0
    assert "error" not in ok
    assert records[1]["status"] == 400 and records[1]["error"].startswith("JSON Value:")
    assert records[2]["rpc"] == "/tensorflow.serving.PredictionService/Predict"
    assert records[2]["version"] == 123 and records[2]["bytes_in"] > 0
    assert records[3]["code"] == "NOT_FOUND" and records[3]["model"] == "missing"
    # Every line the server wrote through logging is JSON.
    logged = [line for line in server.log().splitlines() if line.startswith('{"time"')]
    assert any(json.loads(line)["logger"] == "sigserve.manager" for line in logged)


def test_access_log_off_and_no_metrics_page(start_server, testdata: Path) -> None:
    server = start_server(*model_flags(testdata), "--access_log=false")
    traffic(server)
    page = requests.get(f"{server.rest_url}/monitoring/prometheus/metrics", timeout=10)
    assert page.status_code == 404  # no --monitoring_config_file: no metrics page
    time.sleep(0.3)
    assert "sigserve.access" not in server.log()


def test_bad_log_format_is_a_usage_error(start_server, testdata: Path) -> None:
    server = start_server(*model_flags(testdata), "--log_format=xml", wait=False)
    assert server.process.wait(timeout=60) == 2
    assert "--log_format must be one of plain, json" in server.log()
