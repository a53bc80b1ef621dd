"""Batching in a real server: concurrent REST and gRPC requests share model calls.

The model's default signature also answers ``batch_rows``: how many rows the call
that computed a row saw, so a test can tell a merged call from a lone one.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
import requests
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

pytestmark = pytest.mark.slow

MAX_BATCH = 8
PARAMS = (
    f"max_batch_size {{ value: {MAX_BATCH} }}\n"
    "batch_timeout_micros { value: 100000 }\n"
    "num_batch_threads { value: 1 }\n"
)


def _save_model(path: Path) -> None:
    import tensorflow as tf

    class Rows(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
        def rows(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
            n = tf.shape(x)[0]
            return {"y": x * 2.0 + 1.0, "batch_rows": tf.fill([n], n), "first": x[:, 0]}

        @tf.function(input_signature=[tf.TensorSpec([], tf.float32, name="n")])
        def scalar(self, n: tf.Tensor) -> dict[str, tf.Tensor]:
            return {"twice": n * 2.0}

    module = Rows()
    tf.saved_model.save(
        module, str(path), signatures={"serving_default": module.rows, "scalar": module.scalar}
    )


@pytest.fixture(scope="module")
def model_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("rows")
    _save_model(base / "1")
    return base


@pytest.fixture(scope="module")
def server(start_server, model_base: Path, tmp_path_factory: pytest.TempPathFactory):
    params = tmp_path_factory.mktemp("batching") / "batching.txt"
    params.write_text(PARAMS)
    return start_server(
        "--model_name=m",
        f"--model_base_path={model_base}",
        "--enable_batching=true",
        f"--batching_parameters_file={params}",
    )


def rest_predict(server, body: dict[str, Any], model: str = "m") -> requests.Response:
    return requests.post(
        f"{server.rest_url}/v1/models/{model}:predict", data=json.dumps(body), timeout=30
    )


def concurrently(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run ``calls`` on one thread each, released together; their results in order."""
    results: list[Any] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def worker(index: int) -> None:
        start.wait()
        try:
            results[index] = calls[index]()
        except Exception as e:  # reported by the test
            results[index] = e

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def inputs_for(index: int, size: int = 1) -> list[list[float]]:
    return [[index + row / 4, -index - row / 4] for row in range(size)]  # exact in float32


def expected_y(rows: list[list[float]]) -> list[list[float]]:
    return (np.array(rows, np.float32) * 2 + 1).tolist()


def test_concurrent_rest_requests_are_merged_and_split_back(server) -> None:
    sizes = [1, 1, 1, 1, 1, 1, 2, 0]  # 0: the columnar form of one row
    bodies = [
        {"instances": inputs_for(i, size)} if size else {"inputs": {"x": inputs_for(i)}}
        for i, size in enumerate(sizes)
    ]
    responses = concurrently([lambda b=b: rest_predict(server, b) for b in bodies])
    merged = False
    for index, (body, response) in enumerate(zip(bodies, responses, strict=True)):
        assert isinstance(response, requests.Response), response
        assert response.status_code == 200, response.text
        if "instances" in body:
            predictions = response.json()["predictions"]
            assert [p["y"] for p in predictions] == expected_y(body["instances"])
            seen = {p["batch_rows"] for p in predictions}
            own = len(body["instances"])
        else:
            outputs = response.json()["outputs"]
            assert outputs["y"] == expected_y(body["inputs"]["x"])
            assert outputs["first"] == [float(index)]
            seen = set(outputs["batch_rows"])
            own = 1
        assert len(seen) == 1  # one call computed all of a request's rows
        merged |= seen.pop() > own
    assert merged, "no request shared its model call"


def _tensor(values: Any) -> Any:
    import tensorflow as tf

    array = values if isinstance(values, np.ndarray) else np.asarray(values, np.float32)
    return tf.make_tensor_proto(array)


def _array(proto: Any) -> np.ndarray:
    import tensorflow as tf

    return tf.make_ndarray(proto)


def grpc_predict(
    server, x: Any, output_filter: tuple[str, ...] = (), model: str = "m", timeout: float = 30
) -> Any:
    with grpc.insecure_channel(server.grpc_address) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        request = predict_pb2.PredictRequest()
        request.model_spec.name = model
        request.inputs["x"].CopyFrom(_tensor(x))
        request.output_filter.extend(output_filter)
        return stub.Predict(request, timeout=timeout)


def test_concurrent_grpc_requests_are_merged_and_split_back(server) -> None:
    sizes = [1, 2, 1, 1, 1, 1, 1, 1]
    inputs = [inputs_for(i, size) for i, size in enumerate(sizes)]
    responses = concurrently([lambda x=x: grpc_predict(server, x) for x in inputs])
    merged = False
    for x, response in zip(inputs, responses, strict=True):
        assert isinstance(response, predict_pb2.PredictResponse), response
        assert response.model_spec.name == "m" and response.model_spec.version.value == 1
        assert response.model_spec.signature_name == "serving_default"
        assert _array(response.outputs["y"]).tolist() == expected_y(x)
        assert _array(response.outputs["first"]).tolist() == [row[0] for row in x]
        batch_rows = set(_array(response.outputs["batch_rows"]).tolist())
        assert len(batch_rows) == 1
        merged |= batch_rows.pop() > len(x)
    assert merged, "no request shared its model call"


def test_output_filter_in_the_callers_order_over_grpc(server) -> None:
    filters = [("y", "first"), ("first", "y"), ("batch_rows",), ("first", "batch_rows", "y")]
    inputs = [inputs_for(i + 1) for i in range(len(filters))]
    responses = concurrently(
        [lambda x=x, f=f: grpc_predict(server, x, f) for x, f in zip(inputs, filters, strict=True)]
    )
    for x, wanted, response in zip(inputs, filters, responses, strict=True):
        assert isinstance(response, predict_pb2.PredictResponse), response
        assert sorted(response.outputs) == sorted(wanted)
        if "y" in wanted:
            assert _array(response.outputs["y"]).tolist() == expected_y(x)
        if "first" in wanted:
            assert _array(response.outputs["first"]).tolist() == [x[0][0]]
        if "batch_rows" in wanted:
            assert _array(response.outputs["batch_rows"]).shape == (1,)


def test_a_request_larger_than_max_batch_size_is_refused(server) -> None:
    too_many = inputs_for(1, MAX_BATCH + 1)
    response = rest_predict(server, {"instances": too_many})
    assert response.status_code == 400
    assert response.json() == {
        "error": f"Task size {MAX_BATCH + 1} is larger than maximum input batch size {MAX_BATCH}"
    }
    with pytest.raises(grpc.RpcError) as e:
        grpc_predict(server, too_many)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "Task size 9 is larger than maximum input batch size 8" in e.value.details()
    fits = inputs_for(1, MAX_BATCH)  # the server still answers
    predictions = rest_predict(server, {"instances": fits}).json()["predictions"]
    assert [p["y"] for p in predictions] == expected_y(fits)


def test_a_bad_request_fails_alone(server) -> None:
    calls = [
        lambda: grpc_predict(server, inputs_for(1)),
        lambda: grpc_predict(server, np.array([[b"a", b"b"]], dtype=object)),  # strings
        lambda: grpc_predict(server, inputs_for(2)),
    ]
    responses = concurrently(calls)
    assert isinstance(responses[1], grpc.RpcError)
    assert responses[1].code() == grpc.StatusCode.INVALID_ARGUMENT
    for index, value in [(0, 1), (2, 2)]:
        assert isinstance(responses[index], predict_pb2.PredictResponse), responses[index]
        y = _array(responses[index].outputs["y"]).tolist()
        assert y == expected_y(inputs_for(value))


def test_a_request_checked_before_batching_names_its_signature(server) -> None:
    with grpc.insecure_channel(server.grpc_address) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "m"
        request.inputs["z"].CopyFrom(_tensor(inputs_for(1)))
        with pytest.raises(grpc.RpcError) as e:
            stub.Predict(request, timeout=30)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert e.value.details().endswith(
        'Signature "serving_default" expects inputs: x DT_FLOAT [?,2]'
    ), e.value.details()


def test_a_scalar_input_signature_runs_unbatched(server) -> None:
    response = rest_predict(server, {"signature_name": "scalar", "inputs": {"n": 3.5}})
    assert response.status_code == 200, response.text
    assert response.json() == {"outputs": 7.0}


@pytest.fixture(scope="module")
def per_model_server(start_server, tmp_path_factory: pytest.TempPathFactory, model_base: Path):
    root = tmp_path_factory.mktemp("per-model")
    shutil.copytree(model_base, root / "batched")
    shutil.copytree(model_base, root / "plain")
    (root / "batched" / "1" / "batching_params.pbtxt").write_text(PARAMS)
    config = root / "models.config"
    config.write_text(
        "model_config_list {\n"
        f'  config {{ name: "batched" base_path: "{root / "batched"}" '
        'model_platform: "tensorflow" }\n'
        f'  config {{ name: "plain" base_path: "{root / "plain"}" model_platform: "tensorflow" }}\n'
        "}\n"
    )
    return start_server(
        f"--model_config_file={config}",
        "--enable_batching=true",
        "--enable_per_model_batching_parameters=true",
    )


@pytest.mark.parametrize(("model", "batched"), [("batched", True), ("plain", False)])
def test_per_model_batching_parameters(per_model_server, model: str, batched: bool) -> None:
    inputs = [inputs_for(i) for i in range(MAX_BATCH)]
    responses = concurrently(
        [lambda x=x: grpc_predict(per_model_server, x, model=model) for x in inputs]
    )
    seen = set()
    for x, response in zip(inputs, responses, strict=True):
        assert isinstance(response, predict_pb2.PredictResponse), response
        assert _array(response.outputs["y"]).tolist() == expected_y(x)
        seen |= set(_array(response.outputs["batch_rows"]).tolist())
    if batched:
        assert max(seen) > 1, "no request shared its model call"
    else:
        assert seen == {1}
    large = rest_predict(per_model_server, {"instances": inputs_for(1, MAX_BATCH + 1)}, model)
    if batched:
        assert large.status_code == 400
        assert "Task size 9 is larger than maximum input batch size 8" in large.text
    else:
        assert large.status_code == 200, large.text
        assert {p["batch_rows"] for p in large.json()["predictions"]} == {MAX_BATCH + 1}


def test_batching_parameters_file_without_enable_batching_exits(
    start_server, model_base: Path, tmp_path: Path
) -> None:
    params = tmp_path / "batching.txt"
    params.write_text(PARAMS)
    server = start_server(
        "--model_name=m",
        f"--model_base_path={model_base}",
        f"--batching_parameters_file={params}",
        wait=False,
    )
    try:
        code = server.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.stop()
        raise
    assert code != 0
    assert (
        "server_options.batching_parameters_file is set without setting "
        "server_options.enable_batching to true."
    ) in server.log()


def test_a_bad_batching_parameters_file_exits(
    start_server, model_base: Path, tmp_path: Path
) -> None:
    params = tmp_path / "batching.txt"
    params.write_text("max_batch_size { value: 4 }\nallowed_batch_sizes: [2, 3]\n")
    server = start_server(
        "--model_name=m",
        f"--model_base_path={model_base}",
        "--enable_batching=true",
        f"--batching_parameters_file={params}",
        wait=False,
    )
    try:
        code = server.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.stop()
        raise
    assert code != 0
    assert (
        "Last entry in allowed_batch_sizes must match max_batch_size; last entry was 3; expected 4"
    ) in server.log()
