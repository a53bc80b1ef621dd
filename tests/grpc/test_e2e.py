"""A real ``sigserve serve`` process spoken to with the ``tensorflow-serving-api`` stubs.

The cases follow TF Serving's own ``tensorflow_model_server_test.py`` (Predict,
Classify, Regress, MultiInference, metadata, status, UDS, channel arguments,
config reload), plus every dtype, versions and labels, and each bad request.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import grpc
import numpy as np
import pytest
import requests
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tensorflow_serving.apis import (
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    inference_pb2,
    model_management_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
    regression_pb2,
)

from sigserve.codecs import tensor_proto

pytestmark = pytest.mark.slow
TIMEOUT = 30
DTYPES = {
    "f16": np.float16, "f32": np.float32, "f64": np.float64, "bf16": "bfloat16",
    "i8": np.int8, "i16": np.int16, "i32": np.int32, "i64": np.int64,
    "u8": np.uint8, "u16": np.uint16, "u32": np.uint32, "u64": np.uint64, "b": np.bool_,
}  # fmt: skip


@pytest.fixture(scope="module")
def server(start_server, testdata: Path, echo_model: Path, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grpc")
    config = tmp / "models.config"
    config.write_text(
        "model_config_list {\n"
        f'  config {{ name: "default" base_path: "{testdata}/saved_model_half_plus_two_cpu" '
        'model_platform: "tensorflow" }\n'
        f'  config {{ name: "tf2" base_path: "{testdata}/saved_model_half_plus_two_tf2_cpu" '
        'model_platform: "tensorflow" }\n'
        f'  config {{ name: "echo" base_path: "{echo_model}" model_platform: "tensorflow" }}\n'
        f'  config {{ name: "two" base_path: "{testdata}/saved_model_half_plus_two_2_versions" '
        'model_platform: "tensorflow" model_version_policy { all {} } '
        'version_labels { key: "stable" value: 123 } '
        'version_labels { key: "canary" value: 124 } }\n'
        "}\n"
    )
    socket_path = tmp / "grpc.sock"
    process = start_server(
        f"--model_config_file={config}",
        f"--grpc_socket_path={socket_path}",
        "--enable_grpc_healthcheck_service=true",
        # as TF Serving, labels are set before the first load: this lets them name versions
        "--allow_version_labels_for_unavailable_models=true",
    )
    process.socket_path = socket_path
    return process


@pytest.fixture(scope="module")
def channel(server):
    with grpc.insecure_channel(server.grpc_address) as channel:
        yield channel


@pytest.fixture(scope="module")
def predict_stub(channel):
    return prediction_service_pb2_grpc.PredictionServiceStub(channel)


@pytest.fixture(scope="module")
def model_stub(channel):
    return model_service_pb2_grpc.ModelServiceStub(channel)


def half_plus_two_request(
    model: str = "default", signature_name: str = "serving_default", batch_input: bool = False
) -> predict_pb2.PredictRequest:
    """TF Serving's VerifyPredictRequest request: x = [2.0] as float_val."""
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = signature_name
    request.inputs["x"].dtype = 1  # DT_FLOAT
    request.inputs["x"].float_val.append(2.0)
    request.inputs["x"].tensor_shape.dim.add().size = 1
    if batch_input:
        request.inputs["x"].tensor_shape.dim.add().size = 1
    return request


def example_input(message, x: float = 2.0) -> None:
    example = message.input.example_list.examples.add()
    example.features.feature["x"].float_list.value.append(x)


def assert_spec(spec, name: str, signature_name: str, version: int) -> None:
    assert (spec.name, spec.signature_name, spec.version.value) == (name, signature_name, version)


def rpc_error(call, request) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call(request, timeout=TIMEOUT)
    return info.value


@pytest.mark.parametrize("model", ["default", "tf2"])
@pytest.mark.parametrize("specify_output", [True, False])
@pytest.mark.parametrize("batch_input", [False, True])
def test_predict_as_tf_serving_verifies_it(predict_stub, model, specify_output, batch_input):
    request = half_plus_two_request(model, batch_input=batch_input)
    if specify_output:
        request.output_filter.append("y")
    result = predict_stub.Predict(request, timeout=TIMEOUT)
    assert list(result.outputs) == ["y"]
    assert result.outputs["y"].dtype == 1
    assert list(result.outputs["y"].float_val) == [3.0]
    assert_spec(result.model_spec, model, "serving_default", 123)


def test_empty_signature_name_answers_serving_default(predict_stub):
    result = predict_stub.Predict(half_plus_two_request(signature_name=""), timeout=TIMEOUT)
    assert_spec(result.model_spec, "default", "serving_default", 123)


def test_predict_batch_from_tensor_content(predict_stub):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "tf2"
    x = np.array([1.0, 2.0, 3.0, 4.5], np.float32)
    request.inputs["x"].CopyFrom(tensor_proto.from_numpy(x))
    result = predict_stub.Predict(request, timeout=TIMEOUT)
    assert tensor_proto.to_numpy(result.outputs["y"]).tolist() == (x * 0.5 + 2).tolist()


@pytest.mark.parametrize("as_content", [True, False])
def test_every_dtype_round_trips(predict_stub, as_content: bool):
    import ml_dtypes

    request = predict_pb2.PredictRequest()
    request.model_spec.name = "echo"
    arrays = {}
    for name, dtype in DTYPES.items():
        np_dtype = ml_dtypes.bfloat16 if dtype == "bfloat16" else dtype
        if np.dtype(np_dtype).kind in "iu":
            info = np.iinfo(np_dtype)
            arrays[name] = np.array([info.min, info.max, 1], np_dtype)
        elif np.dtype(np_dtype).kind == "b":
            arrays[name] = np.array([True, False, True])
        else:
            arrays[name] = np.array([1.5, -0.0, np.inf], np_dtype)
    arrays["i64"][2] = 2**53 + 1
    arrays["s"] = np.array([b"\x00\xff", b"", "é".encode()], object)
    for name, array in arrays.items():
        tensor_proto.fill(request.inputs[name], array, as_content=as_content)
    result = predict_stub.Predict(request, timeout=TIMEOUT)
    for name, array in arrays.items():
        output = tensor_proto.to_numpy(result.outputs[f"{name}_out"])
        assert output.dtype == array.dtype, name
        assert output.tolist() == array.tolist(), name
        if name != "s":
            assert output.tobytes() == array.tobytes(), name
            assert not result.outputs[f"{name}_out"].tensor_content  # TF Serving's default


def test_output_filter_selects_outputs(predict_stub):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "echo"
    request.model_spec.signature_name = "two_outputs"
    request.inputs["x"].CopyFrom(tensor_proto.from_numpy(np.array([[1, 2], [3, 4]], np.float32)))
    assert set(predict_stub.Predict(request, timeout=TIMEOUT).outputs) == {"sum", "double"}
    request.output_filter.append("sum")
    result = predict_stub.Predict(request, timeout=TIMEOUT)
    assert list(result.outputs) == ["sum"]
    assert tensor_proto.to_numpy(result.outputs["sum"]).tolist() == [3.0, 7.0]


@pytest.mark.parametrize("model", ["default", "tf2"])
def test_classify(predict_stub, model):
    request = classification_pb2.ClassificationRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = "classify_x_to_y"
    example_input(request)
    result = predict_stub.Classify(request, timeout=TIMEOUT)
    assert len(result.result.classifications) == 1
    assert len(result.result.classifications[0].classes) == 1
    assert result.result.classifications[0].classes[0].score == 3.0
    assert_spec(result.model_spec, model, "classify_x_to_y", 123)


@pytest.mark.parametrize("model", ["default", "tf2"])
def test_regress(predict_stub, model):
    request = regression_pb2.RegressionRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = "regress_x_to_y"
    example_input(request)
    result = predict_stub.Regress(request, timeout=TIMEOUT)
    assert [r.value for r in result.result.regressions] == [3.0]
    assert_spec(result.model_spec, model, "regress_x_to_y", 123)


@pytest.mark.parametrize("model", ["default", "tf2"])
def test_multi_inference(predict_stub, model):
    request = inference_pb2.MultiInferenceRequest()
    for signature, method in [
        ("regress_x_to_y", "tensorflow/serving/regress"),
        ("classify_x_to_y", "tensorflow/serving/classify"),
    ]:
        task = request.tasks.add()
        task.model_spec.name = model
        task.model_spec.signature_name = signature
        task.method_name = method
    example_input(request)
    result = predict_stub.MultiInference(request, timeout=TIMEOUT)
    assert len(result.results) == 2
    assert result.results[0].regression_result.regressions[0].value == 3.0
    assert result.results[1].classification_result.classifications[0].classes[0].score == 3.0
    for task, answer in zip(request.tasks, result.results, strict=True):
        assert_spec(answer.model_spec, model, task.model_spec.signature_name, 123)


def test_metadata_matches_tf_serving(predict_stub, testdata: Path):
    request = get_model_metadata_pb2.GetModelMetadataRequest()
    request.model_spec.name = "default"
    request.metadata_field.append("signature_def")
    result = predict_stub.GetModelMetadata(request, timeout=TIMEOUT)
    assert result.model_spec.name == "default"
    assert result.model_spec.version.value == 123
    assert list(result.metadata) == ["signature_def"]
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    assert result.metadata["signature_def"].Unpack(signature_map)
    expected = json.loads((testdata / "half_plus_two_model_metadata.json").read_text())
    expected_signatures = expected["metadata"]["signature_def"]["signature_def"]
    assert set(signature_map.signature_def) == set(expected_signatures)
    for key, signature in signature_map.signature_def.items():
        assert signature.method_name == expected_signatures[key]["method_name"]
        assert set(signature.inputs) == set(expected_signatures[key]["inputs"])


def test_status(model_stub):
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = "default"
    result = model_stub.GetModelStatus(request, timeout=TIMEOUT)
    assert len(result.model_version_status) == 1
    status = result.model_version_status[0]
    assert (status.version, status.state, status.status.error_code) == (123, 30, 0)


@pytest.mark.parametrize(
    ("spec", "version"),
    [
        ({"version": 123}, 123),
        ({"version": 124}, 124),
        ({"version_label": "stable"}, 123),
        ({"version_label": "canary"}, 124),
        ({}, 124),
    ],
)
def test_versions_and_labels(predict_stub, spec: dict, version: int):
    request = half_plus_two_request("two")
    if "version" in spec:
        request.model_spec.version.value = spec["version"]
    if "version_label" in spec:
        request.model_spec.version_label = spec["version_label"]
    result = predict_stub.Predict(request, timeout=TIMEOUT)
    assert result.model_spec.version.value == version


def test_unix_socket_client(server):
    with grpc.insecure_channel(f"unix:{server.socket_path}") as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        result = stub.Predict(half_plus_two_request(), timeout=TIMEOUT)
    assert list(result.outputs["y"].float_val) == [3.0]


def test_health(channel):
    stub = health_pb2_grpc.HealthStub(channel)
    for service in ["", "ModelService", "PredictionService"]:
        response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=TIMEOUT)
        assert response.status == health_pb2.HealthCheckResponse.SERVING


def _bad(request, **changes):
    for key, value in changes.items():
        if key == "version":
            request.model_spec.version.value = value
        elif key in ("name", "signature_name", "version_label"):
            setattr(request.model_spec, key, value)
        elif key == "x":
            request.inputs["x"].CopyFrom(value)
        elif key == "output_filter":
            request.output_filter.append(value)
        elif key == "drop_x":
            del request.inputs["x"]
    return request


PREDICT_ERRORS = {
    "unknown model": ({"name": "nope"}, "NOT_FOUND"),
    "unknown version": ({"version": 7}, "NOT_FOUND"),
    "unknown label": ({"version_label": "nope"}, "INVALID_ARGUMENT"),  # as TF Serving
    "unknown signature": ({"signature_name": "nope"}, "FAILED_PRECONDITION"),
    "missing input": ({"drop_x": True}, "INVALID_ARGUMENT"),
    "wrong dtype": ({"x": tensor_proto.from_numpy(np.array([2], np.int32))}, "INVALID_ARGUMENT"),
    "bad tensor": (
        {"x": tensor_proto.from_numpy(np.ones(3, np.float32), as_content=False)},
        "INVALID_ARGUMENT",
    ),
    "unknown output": ({"output_filter": "z"}, "INVALID_ARGUMENT"),
}


@pytest.mark.parametrize("case", PREDICT_ERRORS)
def test_predict_errors(predict_stub, case: str):
    changes, code = PREDICT_ERRORS[case]
    request = half_plus_two_request()
    if case == "bad tensor":
        changes["x"].tensor_shape.dim[0].size = 2  # 3 values for 2 elements
    error = rpc_error(predict_stub.Predict, _bad(request, **changes))
    assert error.code() == grpc.StatusCode[code], error.details()
    assert error.details()


def test_bad_shape(predict_stub):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "echo"
    request.model_spec.signature_name = "two_outputs"  # x: [None, 2], summed over axis 1
    request.inputs["x"].CopyFrom(tensor_proto.from_numpy(np.ones(4, np.float32)))
    error = rpc_error(predict_stub.Predict, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details()


def test_missing_model_spec(predict_stub, model_stub):
    request = half_plus_two_request()
    request.ClearField("model_spec")
    error = rpc_error(predict_stub.Predict, request)
    assert (error.code(), error.details()) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "Missing ModelSpec",
    )
    error = rpc_error(model_stub.GetModelStatus, get_model_status_pb2.GetModelStatusRequest())
    assert (error.code(), error.details()) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "Missing ModelSpec",
    )


def test_classify_with_a_predict_signature(predict_stub):
    request = classification_pb2.ClassificationRequest()
    request.model_spec.name = "default"
    example_input(request)
    error = rpc_error(predict_stub.Classify, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    # TF Serving's method-name check is off by default: the signature's shape is what fails.
    assert "No classification inputs found in SignatureDef" in error.details()


def test_regress_unknown_model(predict_stub):
    request = regression_pb2.RegressionRequest()
    request.model_spec.name = "nope"
    example_input(request)
    assert rpc_error(predict_stub.Regress, request).code() == grpc.StatusCode.NOT_FOUND


def test_metadata_errors(predict_stub):
    request = get_model_metadata_pb2.GetModelMetadataRequest()
    request.model_spec.name = "default"
    error = rpc_error(predict_stub.GetModelMetadata, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    request.metadata_field.append("graph")
    error = rpc_error(predict_stub.GetModelMetadata, request)
    assert error.details() == "Metadata field graph is not supported"
    request.metadata_field[:] = ["signature_def"]
    request.model_spec.name = "nope"
    assert rpc_error(predict_stub.GetModelMetadata, request).code() == grpc.StatusCode.NOT_FOUND


def test_status_unknown_model(model_stub):
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = "nope"
    assert rpc_error(model_stub.GetModelStatus, request).code() == grpc.StatusCode.NOT_FOUND


# --- REST and gRPC answer the same request with the same numbers ---------------


def rest_predict(server, model: str, signature: str, inputs: dict) -> dict:
    body = {"signature_name": signature, "inputs": inputs}
    response = requests.post(f"{server.rest_url}/v1/models/{model}:predict", json=body, timeout=30)
    assert response.status_code == 200, response.text
    outputs = response.json()["outputs"]
    return outputs if isinstance(outputs, dict) else {"y": outputs}


@pytest.mark.parametrize(
    ("model", "signature", "inputs"),
    [
        ("default", "serving_default", {"x": [1.0, 2.5, -3.0]}),
        ("tf2", "serving_default", {"x": [0.1, 1e30]}),
        ("echo", "two_outputs", {"x": [[1.5, 2.25], [3.0, -4.0]]}),
    ],
)
def test_rest_and_grpc_agree_on_predict(server, predict_stub, model, signature, inputs):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = signature
    for name, value in inputs.items():
        request.inputs[name].CopyFrom(tensor_proto.from_numpy(np.array(value, np.float32)))
    grpc_outputs = predict_stub.Predict(request, timeout=TIMEOUT).outputs
    rest_outputs = rest_predict(server, model, signature, inputs)
    assert set(rest_outputs) == set(grpc_outputs)
    for name, value in rest_outputs.items():
        # REST writes float32 as TF Serving does (shortest %.6g/%.9g): the same float32s.
        grpc_value = tensor_proto.to_numpy(grpc_outputs[name])
        np.testing.assert_array_equal(grpc_value, np.array(value, dtype=grpc_value.dtype))


@pytest.mark.parametrize("kind", ["classify", "regress"])
def test_rest_and_grpc_agree_on_examples(server, predict_stub, kind):
    body = {"signature_name": f"{kind}_x_to_y", "examples": [{"x": 2.0}, {"x": -1.5}]}
    rest = requests.post(f"{server.rest_url}/v1/models/default:{kind}", json=body, timeout=30)
    assert rest.status_code == 200, rest.text
    module = classification_pb2 if kind == "classify" else regression_pb2
    request = getattr(
        module, "ClassificationRequest" if kind == "classify" else "RegressionRequest"
    )()
    request.model_spec.name = "default"
    request.model_spec.signature_name = f"{kind}_x_to_y"
    example_input(request, 2.0)
    example_input(request, -1.5)
    if kind == "classify":
        result = predict_stub.Classify(request, timeout=TIMEOUT).result
        grpc_results = [[[c.label, c.score] for c in r.classes] for r in result.classifications]
    else:
        result = predict_stub.Regress(request, timeout=TIMEOUT).result
        grpc_results = [r.value for r in result.regressions]
    assert rest.json()["results"] == grpc_results


# --- more servers: TF Serving's channel-argument and config-reload scenarios -----


def test_good_channel_arguments(start_server, testdata: Path):
    server = start_server(
        "--model_name=default",
        f"--model_base_path={testdata}/saved_model_half_plus_two_cpu",
        "--grpc_channel_arguments=grpc.max_connection_age_ms=2000,grpc.lb_policy_name=grpclb",
    )
    with grpc.insecure_channel(server.grpc_address) as channel:
        predict = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        result = predict.Predict(half_plus_two_request(), timeout=TIMEOUT)
    assert list(result.outputs["y"].float_val) == [3.0]


def test_reload_config(start_server, testdata: Path):
    server = start_server(
        "--model_name=half_plus_two",
        f"--model_base_path={testdata}/saved_model_half_plus_two_cpu",
        "--max_num_load_retries=0",  # a failed load fails the reload at once
    )
    with grpc.insecure_channel(server.grpc_address) as channel:
        predict = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        models = model_service_pb2_grpc.ModelServiceStub(channel)
        result = predict.Predict(half_plus_two_request("half_plus_two"), timeout=TIMEOUT)
        assert list(result.outputs["y"].float_val) == [3.0]

        request = model_management_pb2.ReloadConfigRequest()
        entry = request.config.model_config_list.config.add()
        entry.name = "half_plus_three"
        entry.base_path = str(testdata / "saved_model_half_plus_three")
        entry.model_platform = "tensorflow"
        response = models.HandleReloadConfigRequest(request, timeout=60)
        assert response.status.error_code == 0

        deadline = time.monotonic() + 30
        while True:
            try:
                result = predict.Predict(half_plus_two_request("half_plus_three"), timeout=TIMEOUT)
                break
            except grpc.RpcError as e:  # the manager may still be loading it
                if time.monotonic() > deadline:
                    raise AssertionError(e.details()) from None
                time.sleep(0.2)
        assert list(result.outputs["y"].float_val) == [4.0]

        request.config.Clear()
        error = rpc_error(models.HandleReloadConfigRequest, request)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
