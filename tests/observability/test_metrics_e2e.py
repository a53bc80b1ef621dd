"""Prometheus metrics of a real server, scraped after real REST and gRPC traffic."""

from __future__ import annotations

import itertools
import json
import threading
import time
from pathlib import Path

import grpc
import numpy as np
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from sigserve import protos
from sigserve.codecs import tensor_proto

METRICS_PATH = "/monitoring/prometheus/metrics"


@pytest.fixture(scope="module")
def server(start_server, testdata: Path, echo_model: Path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("config")
    models = folder / "models.config"
    models.write_text(
        "model_config_list {\n"
        f'  config {{ name: "hp" base_path: "{testdata}/saved_model_half_plus_two_cpu" '
        'model_platform: "tensorflow" }\n'
        f'  config {{ name: "echo" base_path: "{echo_model}" model_platform: "tensorflow" }}\n'
        "}\n"
    )
    batching = folder / "batching.txt"
    batching.write_text(
        "max_batch_size { value: 8 }\nbatch_timeout_micros { value: 20000 }\n"
        "num_batch_threads { value: 1 }\n"
    )
    return start_server(
        f"--model_config_file={models}",
        f"--monitoring_config_file={testdata}/monitoring_config.txt",
        "--enable_batching=true",
        f"--batching_parameters_file={batching}",
    )


def scrape(server) -> dict[str, dict]:
    """family name -> {(sample name, sorted labels): value}."""
    r = requests.get(server.rest_url + METRICS_PATH, timeout=10)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    families = {}
    for family in text_string_to_metric_families(r.text):
        families[family.name] = {
            (s.name, tuple(sorted(s.labels.items()))): s.value for s in family.samples
        }
    return families


def scrape_idle(server) -> dict[str, dict]:
    """A scrape once no request is in flight: a failed gRPC call's status reaches its client
    just before the call is counted."""
    deadline = time.monotonic() + 5
    while True:
        families = scrape(server)
        busy = sum(families["sigserve_requests_in_flight"].values())
        if not busy or time.monotonic() > deadline:
            return families
        time.sleep(0.01)


def value(families: dict, family: str, sample: str | None = None, **labels: str) -> float:
    samples = families.get(family, {})
    return samples.get((sample or family, tuple(sorted(labels.items()))), 0.0)


def grpc_predict(
    server, model: str, x: list[float], name: str = "x"
) -> tuple[grpc.StatusCode, int]:
    request = protos.predict_pb2.PredictRequest()
    request.model_spec.name = model
    tensor_proto.fill(request.inputs[name], np.array(x, np.float32))
    with grpc.insecure_channel(server.grpc_address) as channel:
        stub = protos.prediction_service_pb2_grpc.PredictionServiceStub(channel)
        try:
            stub.Predict(request, timeout=30)
        except grpc.RpcError as e:
            return e.code(), request.ByteSize()
    return grpc.StatusCode.OK, request.ByteSize()


def test_request_counts_latency_and_bytes_move_with_traffic(server) -> None:
    before = scrape(server)
    ok_body = json.dumps({"instances": [1.0, 2.0, 3.0]})
    for _ in range(3):
        assert requests.post(f"{server.rest_url}/v1/models/hp:predict", ok_body).status_code == 200
    bad_body = '{"instances": "nope"}'
    assert requests.post(f"{server.rest_url}/v1/models/hp:predict", bad_body).status_code == 400
    unknown = requests.post(f"{server.rest_url}/v1/models/nope:predict", ok_body)
    assert unknown.status_code == 404
    assert requests.get(f"{server.rest_url}/v1/models/hp").status_code == 200
    grpc_sizes = []
    for _ in range(2):
        code, size = grpc_predict(server, "hp", [1.0, 5.0])
        assert code == grpc.StatusCode.OK
        grpc_sizes.append(size)
    code, _ = grpc_predict(server, "hp", [1.0], name="no_such_input")
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    after = scrape_idle(server)

    def moved(family: str, sample: str | None = None, **labels: str) -> float:
        return value(after, family, sample, **labels) - value(before, family, sample, **labels)

    # TF Serving's names, labels and status names.
    count = ":tensorflow:serving:request_count"
    assert moved(count, model_name="hp", status="OK") == 3 + 1 + 2
    assert moved(count, model_name="hp", status="INVALID_ARGUMENT") == 2
    assert moved(count, model_name="", status="NOT_FOUND") == 1  # not "nope": bounded labels
    assert not any("nope" in str(key) for key in after[count])
    latency = ":tensorflow:serving:request_latency"
    rest = {"model_name": "hp", "API": "predict", "entrypoint": "REST"}
    grpc_ = {"model_name": "hp", "API": "Predict", "entrypoint": "GRPC"}
    assert moved(latency, latency + "_count", **rest) == 3  # OK requests only, as TF Serving
    assert moved(latency, latency + "_count", **grpc_) == 2
    assert moved(latency, latency + "_sum", **rest) > 0  # microseconds
    assert moved(latency, latency + "_bucket", le="+Inf", **grpc_) == 2
    buckets = sorted(
        (float(dict(labels)["le"]), v) for (name, labels), v in after[latency].items()
        if name.endswith("_bucket") and {k: v for k, v in labels if k != "le"} == rest
    )  # fmt: skip
    assert [b for b, _ in buckets][:3] == [10.0, 18.0, 32.4]  # TF Serving's bounds (us)
    assert all(a[1] <= b[1] for a, b in itertools.pairwise(buckets))

    # sigserve's own: by transport, API and code; bytes as sent on the wire.
    total = "sigserve_requests"
    assert moved(total, total + "_total", transport="rest", api="predict", model_name="hp",
                 code="OK") == 3  # fmt: skip
    assert moved(total, total + "_total", transport="rest", api="status", model_name="hp",
                 code="OK") == 1  # fmt: skip
    assert moved(total, total + "_total", transport="grpc", api="predict", model_name="hp",
                 code="INVALID_ARGUMENT") == 1  # fmt: skip
    sent = "sigserve_request_bytes"
    assert moved(sent, sent + "_total", transport="rest", api="predict", model_name="hp") == (
        3 * len(ok_body) + len(bad_body)
    )
    assert moved(sent, sent + "_total", transport="grpc", api="predict", model_name="hp") >= sum(
        grpc_sizes
    )
    answered = "sigserve_response_bytes"
    assert moved(answered, answered + "_total", transport="rest", api="predict",
                 model_name="hp") > 0  # fmt: skip
    seconds = "sigserve_request_duration_seconds"
    assert moved(seconds, seconds + "_count", transport="rest", api="predict", model_name="hp") == 4


def test_scrapes_are_not_counted(server) -> None:
    first = scrape(server)
    second = scrape(server)
    assert first[":tensorflow:serving:request_count"] == second[":tensorflow:serving:request_count"]


def test_version_state_and_load_counts(server, testdata: Path) -> None:
    families = scrape(server)
    state = "sigserve_model_version_state"
    assert value(families, state, model_name="hp", version="123", state="AVAILABLE") == 1
    assert value(families, state, model_name="echo", version="1", state="AVAILABLE") == 1
    loads = families[":tensorflow:cc:saved_model:load_attempt_count"]
    hp_loads = [v for (_, labels), v in loads.items()
                if dict(labels)["model_path"].endswith("saved_model_half_plus_two_cpu/00000123")
                and dict(labels)["status"] == "success"]  # fmt: skip
    assert hp_loads == [1.0]
    latency = families[":tensorflow:cc:saved_model:load_latency"]
    assert all(v > 0 for v in latency.values()) and len(latency) == 2


def test_in_flight_counts_a_request_while_it_runs(server) -> None:
    def slow() -> None:
        body = {"signature_name": "slow", "inputs": {"n": 3000}}
        requests.post(f"{server.rest_url}/v1/models/echo:predict", json=body, timeout=60)

    thread = threading.Thread(target=slow)
    thread.start()
    try:
        seen = 0.0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and thread.is_alive():
            seen = value(scrape(server), "sigserve_requests_in_flight", transport="rest")
            if seen >= 1:
                break
            time.sleep(0.05)
        assert seen >= 1
    finally:
        thread.join()
    assert value(scrape(server), "sigserve_requests_in_flight", transport="rest") == 0


def test_batching_sizes_and_queueing(server) -> None:
    before = scrape(server)
    body = json.dumps({"instances": [1.0, 2.0]})
    threads = [
        threading.Thread(
            target=requests.post, args=(f"{server.rest_url}/v1/models/hp:predict", body)
        )
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after = scrape(server)
    prefix = ":tensorflow:serving:batching_session:"

    def moved(name: str, sample: str, **labels: str) -> float:
        return value(after, prefix + name, prefix + sample, **labels) - value(
            before, prefix + name, prefix + sample, **labels
        )

    assert moved("input_batch_size", "input_batch_size_count") == 4
    assert moved("input_batch_size", "input_batch_size_sum") == 8  # rows
    assert moved("processed_batch_size", "processed_batch_size_sum") == 8
    assert 1 <= moved("processed_batch_size", "processed_batch_size_count") <= 4
    queued = moved("queuing_latency", "queuing_latency_count", thread_pool_name="batch_threads")
    assert queued == 4
