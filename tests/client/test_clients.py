"""sigserve's Python clients and ``sigserve predict`` against a real server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sigserve.client import Client, GrpcClient
from sigserve.client.model_info import SignatureInfo, TensorInfo, VersionStatus
from sigserve.errors import Code, ServingError


@pytest.fixture(scope="module")
def server(start_server, testdata: Path, echo_model: Path, tmp_path_factory):
    config = tmp_path_factory.mktemp("config") / "models.config"
    config.write_text(
        "model_config_list {\n"
        f'  config {{ name: "default" base_path: "{testdata}/saved_model_half_plus_two_cpu" '
        'model_platform: "tensorflow" }\n'
        f'  config {{ name: "echo" base_path: "{echo_model}" model_platform: "tensorflow" }}\n'
        "}\n"
    )
    return start_server(f"--model_config_file={config}")


@pytest.fixture(params=["rest", "grpc"])
def client(request, server):
    made = Client(server.rest_url) if request.param == "rest" else GrpcClient(server.grpc_address)
    yield made
    made.close()


def test_predict_numpy_in_numpy_out(client) -> None:
    y = client.predict("default", np.array([[1.0], [2.0]], np.float32))
    np.testing.assert_array_equal(y, np.array([[2.5], [3.0]], np.float32))
    y = client.predict("default", {"x": np.array([[5.0]], np.float32)}, version=123)
    np.testing.assert_array_equal(np.asarray(y, np.float32), [[4.5]])


def test_several_outputs_come_back_as_a_dict(client) -> None:
    out = client.predict("echo", {"x": np.array([[1.0, 2.0]], np.float32)},
                         signature_name="two_outputs")  # fmt: skip
    assert set(out) == {"sum", "double"}
    np.testing.assert_array_equal(np.asarray(out["double"], np.float32), [[2.0, 4.0]])


def test_bytes_and_int64_survive(client) -> None:
    columns = {
        "f16": np.array([0.5], np.float16), "f32": np.array([1.5], np.float32),
        "f64": np.array([0.1]), "bf16": np.array([1.0], np.float32),
        "i8": np.array([-3], np.int8), "i16": np.array([7], np.int16),
        "i32": np.array([9], np.int32), "i64": np.array([2**62 + 1], np.int64),
        "u8": np.array([255], np.uint8), "u16": np.array([1], np.uint16),
        "u32": np.array([2**32 - 1], np.uint32), "u64": np.array([2**64 - 1], np.uint64),
        "b": np.array([True]), "s": np.array([b"\xff\x00"], object),
    }  # fmt: skip
    if isinstance(client, GrpcClient):
        import ml_dtypes

        columns["bf16"] = columns["bf16"].astype(ml_dtypes.bfloat16)
    out = client.predict("echo", columns)
    assert out["i64_out"].tolist() == [2**62 + 1]
    assert out["u64_out"].tolist() == [2**64 - 1]
    assert out["s_bytes"].tolist() == [b"\xff\x00"]
    assert out["s_out"].tolist()[0] in (b"\xff\x00", "\ufffd\x00")


def test_errors_are_serving_errors(client) -> None:
    with pytest.raises(ServingError) as e:
        client.predict("nope", np.array([1.0], np.float32))
    assert e.value.code == Code.NOT_FOUND


def test_status_and_metadata(client) -> None:
    assert client.status("default") == [VersionStatus(123, "AVAILABLE", "OK", "")]
    metadata = client.metadata("default")
    assert (metadata.name, metadata.version) == ("default", 123)
    assert metadata.signatures["serving_default"] == SignatureInfo(
        "tensorflow/serving/predict",
        inputs={"x": TensorInfo("DT_FLOAT", (-1, 1), "x:0")},
        outputs={"y": TensorInfo("DT_FLOAT", (-1, 1), "y:0")},
    )
    assert metadata.signatures["classify_x_to_y"].inputs["inputs"].shape is None


def test_rest_classify_and_regress(server) -> None:
    with Client(server.rest_url) as client:
        assert client.regress("default", [{"x": 2.0}], signature_name="regress_x_to_y") == [3.0]
        assert client.classify("default", [{"x": 2.0}], signature_name="classify_x_to_y") == [
            [("", 3.0)]
        ]


def test_client_does_not_import_tensorflow() -> None:
    code = (
        "import sys, sigserve\nsigserve.Client\nsigserve.GrpcClient\n"
        "assert 'tensorflow' not in sys.modules"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("kind", ["rest", "grpc"])
def test_predict_command(server, tmp_path: Path, kind: str) -> None:
    np.save(tmp_path / "x.npy", np.array([[2.0]], np.float32))
    url = server.rest_url if kind == "rest" else server.grpc_address
    for arg in (f"x=@{tmp_path / 'x.npy'}", "x=[[2.0]]"):
        result = subprocess.run(
            [sys.executable, "-m", "sigserve", "predict", url, "--model", "default",
             "--input", arg],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == [[3.0]]
    result = subprocess.run(
        [sys.executable, "-m", "sigserve", "predict", url, "--model", "nope", "--input", "[1.0]"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert "NOT_FOUND" in result.stderr
