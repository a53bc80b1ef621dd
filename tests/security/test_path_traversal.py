"""Model names, versions and labels in requests never become file paths: a name that
spells a path next to (or above) a served model's base path reaches nothing, on REST
(raw, percent-encoded, double-encoded) and on gRPC, and no answer names a directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

pytestmark = pytest.mark.slow

BODY = {"instances": [1.0]}


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory, testdata: Path) -> Path:
    """root/served/1 is served as "served"; root/unserved/1 and root/1 hold SavedModels too
    (links to TF Serving's half_plus_two) but are in no config."""
    root = tmp_path_factory.mktemp("traversal")
    version = testdata / "saved_model_half_plus_two_cpu" / "00000123"
    for folder in ("served", "unserved"):
        (root / folder).mkdir()
        (root / folder / "1").symlink_to(version, target_is_directory=True)
    (root / "1").symlink_to(version, target_is_directory=True)
    return root


@pytest.fixture(scope="module")
def server(start_server: Callable[..., Any], layout: Path) -> Any:
    return start_server("--model_name=served", f"--model_base_path={layout / 'served'}",
                        "--rest_api_host=127.0.0.1", "--grpc_host=127.0.0.1")  # fmt: skip


NAMES = [
    "..", "../unserved", "served/../unserved", "served%2F..%2Funserved", "..%2Funserved",
    "%2e%2e", "%2e%2e%2funserved", "%252e%252e%252funserved", "..%5Cunserved",
    "%2Fetc%2Fpasswd", "served%00", "unserved", ".",
]  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
def test_rest_model_names_that_spell_paths(server: Any, layout: Path, name: str) -> None:
    base = f"{server.rest_url}/v1/models/{name}"
    answers = [
        httpx.post(base + ":predict", json=BODY, timeout=20),
        httpx.get(base, timeout=20),
        httpx.get(base + "/metadata", timeout=20),
        httpx.post(base + "/versions/1:predict", json=BODY, timeout=20),
    ]
    for answer in answers:
        assert answer.status_code in (400, 404), (name, answer.request.url, answer.text)
        assert str(layout) not in answer.text and "predictions" not in answer.text


@pytest.mark.parametrize(
    "suffix",
    ["/versions/..:predict", "/versions/%2e%2e:predict", "/versions/-1:predict",
     "/versions/1%2F..%2F..:predict", "/labels/..:predict", "/labels/..%2F..%2Funserved:predict",
     "/labels/%2e%2e", "/versions/../../unserved:predict"],
)  # fmt: skip
def test_rest_versions_and_labels_that_spell_paths(server: Any, layout: Path, suffix: str) -> None:
    url = f"{server.rest_url}/v1/models/served{suffix}"
    answer = httpx.request("POST" if suffix.endswith(":predict") else "GET", url, json=BODY,
                           timeout=20)  # fmt: skip
    assert answer.status_code in (400, 404), (suffix, answer.text)
    assert str(layout) not in answer.text


def test_the_served_model_answers(server: Any) -> None:
    answer = httpx.post(f"{server.rest_url}/v1/models/served:predict", json=BODY, timeout=20)
    assert answer.json() == {"predictions": [2.5]}


@pytest.mark.parametrize(
    "name", ["..", "../unserved", "served/../unserved", "/etc/passwd", "unserved", "served/.."]
)
def test_grpc_model_names_that_spell_paths(server: Any, layout: Path, name: str) -> None:
    with grpc.insecure_channel(server.grpc_address) as channel:
        predict = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        request = predict_pb2.PredictRequest()
        request.model_spec.name = name
        request.inputs["x"].dtype = 1
        request.inputs["x"].float_val.append(1.0)
        metadata = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        metadata.model_spec.name = name
        status = get_model_status_pb2.GetModelStatusRequest()
        status.model_spec.name = name
        calls = [
            lambda: predict.Predict(request, timeout=20),
            lambda: predict.GetModelMetadata(metadata, timeout=20),
            lambda: model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(
                status, timeout=20
            ),
        ]
        for call in calls:
            with pytest.raises(grpc.RpcError) as error:
                call()
            assert error.value.code() == grpc.StatusCode.NOT_FOUND, (name, error.value.details())
            assert str(layout) not in error.value.details()
