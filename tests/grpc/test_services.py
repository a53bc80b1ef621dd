"""The gRPC transport against a fake Service: specs, codecs, status codes, options."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2

from sigserve import protos
from sigserve.codecs import tensor_proto
from sigserve.errors import Code, ServingError
from sigserve.types import ModelRef


def predict_request(name: str = "m", **spec: object) -> object:
    request = protos.predict_pb2.PredictRequest()
    request.model_spec.name = name
    for key, value in spec.items():
        if key == "version":
            request.model_spec.version.value = value
        else:
            setattr(request.model_spec, key, value)
    request.inputs["x"].CopyFrom(tensor_proto.from_numpy(np.array([2.0, 3.0], np.float32)))
    return request


def rpc_error(call, request) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call(request, timeout=10)
    return info.value


def test_predict_decodes_inputs_and_reports_the_resolved_spec(stubs, fake) -> None:
    response = stubs.predict.Predict(predict_request(), timeout=10)
    assert response.model_spec.name == "m"
    assert response.model_spec.version.value == 2
    assert response.model_spec.signature_name == "serving_default"
    # TF Serving's default: typed fields, not tensor_content
    assert list(response.outputs["y"].float_val) == [3.0, 3.5]
    assert not response.outputs["y"].tensor_content
    assert list(response.outputs["name"].string_val) == [b"two"]
    method, (ref, signature, inputs, output_filter) = fake.calls[-1]
    assert (method, ref, signature, list(output_filter)) == ("predict", ModelRef("m"), "", [])
    assert inputs["x"].dtype == np.float32 and inputs["x"].tolist() == [2.0, 3.0]


def test_predict_version_label_signature_and_output_filter(stubs, fake) -> None:
    request = predict_request(version=1, signature_name="sig")
    request.output_filter.append("name")
    response = stubs.predict.Predict(request, timeout=10)
    assert list(response.outputs) == ["name"]
    assert list(response.outputs["name"].string_val) == [b"one"]
    assert response.model_spec.signature_name == "sig"
    assert fake.calls[-1][1][0] == ModelRef("m", version=1)
    response = stubs.predict.Predict(predict_request(version_label="stable"), timeout=10)
    assert response.model_spec.version.value == 1
    assert fake.calls[-1][1][0] == ModelRef("m", label="stable")


def test_tensor_content_answers_when_enabled(serve_fake, connect) -> None:
    server = serve_fake(enable_serialization_as_tensor_content=True)
    response = connect(f"127.0.0.1:{server.port}").predict.Predict(predict_request(), timeout=10)
    assert response.outputs["y"].tensor_content == np.array([3.0, 3.5], np.float32).tobytes()
    assert not response.outputs["y"].float_val


@pytest.mark.parametrize(
    ("mutate", "code", "message"),
    [
        (lambda r: r.ClearField("model_spec"), "INVALID_ARGUMENT", "Missing ModelSpec"),
        (lambda r: setattr(r.model_spec, "name", "nope"), "NOT_FOUND", "Latest(nope)"),
        (lambda r: r.model_spec.version.__setattr__("value", 9), "NOT_FOUND", "Specific(m, 9)"),
        (lambda r: setattr(r.model_spec, "version_label", "x"), "NOT_FOUND", "label: x"),
        (
            lambda r: r.inputs["x"].float_val.append(1.0),
            "INVALID_ARGUMENT",
            "tensor parsing error: x",
        ),
    ],
)
def test_predict_errors(stubs, mutate, code: str, message: str) -> None:
    request = predict_request()
    mutate(request)
    error = rpc_error(stubs.predict.Predict, request)
    assert error.code() == grpc.StatusCode[code]
    assert message in error.details()


@pytest.mark.parametrize(
    "code", [Code.INVALID_ARGUMENT, Code.FAILED_PRECONDITION, Code.UNAVAILABLE]
)
def test_serving_errors_keep_their_code_and_message(stubs, fake, code: Code) -> None:
    fake.fail = ServingError(code, "what went wrong")
    error = rpc_error(stubs.predict.Predict, predict_request())
    assert error.code() == grpc.StatusCode[code.name]
    assert error.details() == "what went wrong"


def test_long_messages_are_truncated_as_tf_serving(stubs, fake) -> None:
    fake.fail = ServingError(Code.INVALID_ARGUMENT, "x" * 2000)
    error = rpc_error(stubs.predict.Predict, predict_request())
    assert error.details() == "x" * 1024 + "...TRUNCATED"


def test_unexpected_exceptions_are_internal_without_details(stubs, fake, caplog) -> None:
    fake.fail = RuntimeError("secret detail")
    with caplog.at_level(logging.ERROR, logger="sigserve.grpc"):
        error = rpc_error(
            stubs.model.GetModelStatus,
            protos.get_model_status_pb2.GetModelStatusRequest(model_spec={"name": "m"}),
        )
    assert error.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in error.details()
    assert any("secret detail" in (r.exc_text or "") for r in caplog.records)


def test_classify_and_regress(stubs, fake) -> None:
    request = protos.classification_pb2.ClassificationRequest()
    request.model_spec.name = "m"
    request.input.example_list.examples.add()
    response = stubs.predict.Classify(request, timeout=10)
    assert response.model_spec.signature_name == "serving_default"
    assert response.model_spec.version.value == 2
    assert response.result.classifications[0].classes[0].label == "a"
    assert fake.calls[-1][1][2] == request.input

    request = protos.regression_pb2.RegressionRequest()
    request.model_spec.name = "m"
    request.model_spec.signature_name = "regress_x_to_y"
    response = stubs.predict.Regress(request, timeout=10)
    assert response.model_spec.signature_name == "regress_x_to_y"
    assert response.result.regressions[0].value == 3.0
    request.ClearField("model_spec")
    error = rpc_error(stubs.predict.Regress, request)
    assert (error.code(), error.details()) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "Missing ModelSpec",
    )


def test_multi_inference_is_passed_through(stubs, fake) -> None:
    request = protos.inference_pb2.MultiInferenceRequest()
    request.tasks.add().model_spec.name = "m"
    response = stubs.predict.MultiInference(request, timeout=10)
    assert response.results[0].model_spec.name == "m"
    assert fake.calls[-1] == ("multi_inference", (request,))


def test_metadata_packs_a_signature_def_map(stubs) -> None:
    request = protos.get_model_metadata_pb2.GetModelMetadataRequest()
    request.model_spec.name = "m"
    request.metadata_field.append("signature_def")
    response = stubs.predict.GetModelMetadata(request, timeout=10)
    assert response.model_spec.name == "m"
    assert response.model_spec.version.value == 2
    assert response.model_spec.signature_name == ""
    signature_map = protos.get_model_metadata_pb2.SignatureDefMap()
    assert response.metadata["signature_def"].Unpack(signature_map)
    assert signature_map.signature_def["serving_default"].inputs["x"].name == "x:0"
    assert response.metadata["signature_def"].type_url.endswith(
        "tensorflow.serving.SignatureDefMap"
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ([], "GetModelMetadataRequest must specify at least one metadata_field"),
        (["signature_def", "graph"], "Metadata field graph is not supported"),
    ],
)
def test_metadata_field_errors(stubs, fields: list[str], message: str) -> None:
    request = protos.get_model_metadata_pb2.GetModelMetadataRequest()
    request.model_spec.name = "m"
    request.metadata_field.extend(fields)
    error = rpc_error(stubs.predict.GetModelMetadata, request)
    assert (error.code(), error.details()) == (grpc.StatusCode.INVALID_ARGUMENT, message)


def test_model_status(stubs, fake) -> None:
    request = protos.get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = "m"
    request.model_spec.version.value = 2
    response = stubs.model.GetModelStatus(request, timeout=10)
    assert response.model_version_status[0].version == 2
    assert fake.calls[-1] == ("status", (ModelRef("m", version=2),))
    error = rpc_error(
        stubs.model.GetModelStatus, protos.get_model_status_pb2.GetModelStatusRequest()
    )
    assert error.details() == "Missing ModelSpec"


def test_reload_config(stubs, fake) -> None:
    request = protos.model_management_pb2.ReloadConfigRequest()
    entry = request.config.model_config_list.config.add()
    entry.name, entry.base_path = "m", "/models/m"
    request.metric_names.append("some_metric")
    response = stubs.model.HandleReloadConfigRequest(request, timeout=10)
    assert response.HasField("status") and response.status.error_code == 0
    assert [(m.name, m.int64_value_increase) for m in response.metric] == [("some_metric", 0)]
    assert fake.calls[-1] == ("reload_config", (request.config,))

    fake.fail = ServingError(Code.INVALID_ARGUMENT, "bad base path")
    error = rpc_error(stubs.model.HandleReloadConfigRequest, request)
    assert (error.code(), error.details()) == (grpc.StatusCode.INVALID_ARGUMENT, "bad base path")


def test_reload_config_needs_a_model_config_list(stubs, fake) -> None:
    error = rpc_error(
        stubs.model.HandleReloadConfigRequest, protos.model_management_pb2.ReloadConfigRequest()
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "Only ModelConfigList is currently supported" in error.details()
    assert not fake.calls


def test_health_reports_what_tf_serving_reports(stubs) -> None:
    for service in ["", "ModelService", "PredictionService"]:
        response = stubs.health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
        assert response.status == health_pb2.HealthCheckResponse.SERVING
    request = health_pb2.HealthCheckRequest(service="tensorflow.serving.PredictionService")
    assert rpc_error(stubs.health.Check, request).code() == grpc.StatusCode.NOT_FOUND


def test_health_is_off_unless_enabled(serve_fake, connect) -> None:
    server = serve_fake()
    error = rpc_error(
        connect(f"127.0.0.1:{server.port}").health.Check, health_pb2.HealthCheckRequest()
    )
    assert error.code() == grpc.StatusCode.UNIMPLEMENTED


def test_unix_socket_only(serve_fake, connect, tmp_path: Path) -> None:
    path = tmp_path / "grpc.sock"
    serve_fake(port=0, grpc_socket_path=str(path))
    response = connect(f"unix:{path}").predict.Predict(predict_request(), timeout=10)
    assert list(response.outputs["y"].float_val) == [3.0, 3.5]


def test_large_messages_are_accepted_as_by_tf_serving(stubs) -> None:
    request = predict_request()
    big = np.ones(3_000_000, np.float32)  # 12 MB, over gRPC's 4 MB default
    request.inputs["x"].CopyFrom(tensor_proto.from_numpy(big))
    request.output_filter.append("name")
    assert list(stubs.predict.Predict(request, timeout=30).outputs) == ["name"]


def test_channel_arguments_are_applied(serve_fake, connect) -> None:
    server = serve_fake(grpc_channel_arguments="grpc.max_receive_message_length=1000")
    request = predict_request()
    request.inputs["x"].CopyFrom(tensor_proto.from_numpy(np.ones(1000, np.float32)))
    error = rpc_error(connect(f"127.0.0.1:{server.port}").predict.Predict, request)
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_grpc_max_threads_bounds_calls_in_progress(serve_fake, connect, fake) -> None:
    server = serve_fake(grpc_max_threads=1)
    started, release = threading.Event(), threading.Event()
    original = fake.predict

    async def slow_predict(*args, **kwargs):
        started.set()
        while not release.is_set():
            await asyncio.sleep(0.01)
        return await original(*args, **kwargs)

    fake.predict = slow_predict
    stub = connect(f"127.0.0.1:{server.port}").predict
    first = stub.Predict.future(predict_request(), timeout=10)
    assert started.wait(10)
    error = rpc_error(stub.Predict, predict_request())
    release.set()
    assert list(first.result().outputs["y"].float_val) == [3.0, 3.5]
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_tf_servings_good_channel_arguments_start(serve_fake, connect) -> None:
    options = "grpc.max_connection_age_ms=2000,grpc.lb_policy_name=grpclb"
    server = serve_fake(grpc_channel_arguments=options)
    response = connect(f"127.0.0.1:{server.port}").predict.Predict(predict_request(), timeout=10)
    assert list(response.outputs["y"].float_val) == [3.0, 3.5]
