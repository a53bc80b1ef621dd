"""``sigserve.Client`` (REST) and ``sigserve.GrpcClient`` side by side on the same
real models: the same dtypes, values, Python types and error codes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sigserve.client import Client, GrpcClient
from sigserve.errors import Code, ServingError


@pytest.fixture(scope="module")
def server(start_server, testdata: Path, echo_model: Path, tmp_path_factory):
    config = tmp_path_factory.mktemp("config") / "models.config"
    config.write_text(
        "model_config_list {\n"
        f'  config {{ name: "half_plus_two" base_path: "{testdata}/saved_model_half_plus_two_cpu" '
        'model_platform: "tensorflow" }\n'
        f'  config {{ name: "echo" base_path: "{echo_model}" model_platform: "tensorflow" }}\n'
        "}\n"
    )
    return start_server(f"--model_config_file={config}")


@pytest.fixture(scope="module")
def clients(server):
    rest, grpc = Client(server.rest_url), GrpcClient(server.grpc_address)
    yield rest, grpc
    rest.close()
    grpc.close()


def same(rest_out, grpc_out) -> None:
    """Exactly the same arrays (dtype, shape, values), or dicts of them."""
    if isinstance(grpc_out, dict):
        assert isinstance(rest_out, dict) and set(rest_out) == set(grpc_out)
        for name in grpc_out:
            same(rest_out[name], grpc_out[name])
        return
    assert rest_out.dtype == grpc_out.dtype, (rest_out.dtype, grpc_out.dtype)
    assert rest_out.shape == grpc_out.shape
    if rest_out.dtype == object:
        assert rest_out.tolist() == grpc_out.tolist()
    else:
        np.testing.assert_array_equal(rest_out, grpc_out, strict=True)


RNG = np.random.default_rng(13)


@pytest.mark.parametrize(
    ("model", "signature", "inputs"),
    [
        ("half_plus_two", None, np.array([[0.1], [2.0], [-3.3]], np.float32)),
        ("half_plus_two", None, {"x": RNG.standard_normal((5, 1)).astype(np.float32)}),
        ("half_plus_two", "regress_x2_to_y3", {"inputs": np.array([[1e-7], [3e8]], np.float32)}),
        ("echo", "two_outputs", {"x": RNG.standard_normal((4, 2)).astype(np.float32) * 1e3}),
        ("echo", "two_outputs", {"x": np.array([[np.nan, 1.0], [np.inf, -np.inf]], np.float32)}),
    ],
)  # fmt: skip
def test_same_outputs_over_both_transports(clients, model, signature, inputs) -> None:
    rest, grpc = clients
    rest_out = rest.predict(model, inputs, signature_name=signature)
    grpc_out = grpc.predict(model, inputs, signature_name=signature)
    same(rest_out, grpc_out)
    outputs = grpc_out.values() if isinstance(grpc_out, dict) else [grpc_out]
    assert all(o.dtype == np.float32 for o in outputs)


def test_every_dtype_json_carries(clients) -> None:
    import ml_dtypes

    columns = {
        "f16": np.array([0.5, -2.25], np.float16), "f32": np.array([0.1, 3e-9], np.float32),
        "f64": np.array([0.1, 1 / 3]), "bf16": np.array([1.0, 0.1], ml_dtypes.bfloat16),
        "i8": np.array([-3, 127], np.int8), "i16": np.array([7, -300], np.int16),
        "i32": np.array([9, -(2**31)], np.int32), "i64": np.array([2**62 + 1, -1], np.int64),
        "u8": np.array([255, 0], np.uint8), "u16": np.array([1, 65535], np.uint16),
        "u32": np.array([2**32 - 1, 0], np.uint32), "u64": np.array([2**64 - 1, 0], np.uint64),
        "b": np.array([True, False]), "s": np.array([b"abc", b"xyz"], object),
    }  # fmt: skip
    rest, grpc = clients
    rest_out = rest.predict("echo", columns)
    grpc_out = grpc.predict("echo", columns)
    same(rest_out, grpc_out)
    for name, value in columns.items():
        assert grpc_out[f"{name}_out"].dtype == value.dtype, name


def test_status_and_metadata_are_the_same_objects(clients) -> None:
    rest, grpc = clients
    for model in ("half_plus_two", "echo"):
        assert rest.status(model) == grpc.status(model)
        assert rest.metadata(model) == grpc.metadata(model)
        assert list(rest.metadata(model).signatures) == list(grpc.metadata(model).signatures)
    assert rest.status("half_plus_two", version=123) == grpc.status("half_plus_two", version=123)


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda c: c.predict("nope", np.array([1.0], np.float32)), Code.NOT_FOUND),
        (lambda c: c.status("nope"), Code.NOT_FOUND),
        (lambda c: c.metadata("half_plus_two", version=999), Code.NOT_FOUND),
        (lambda c: c.predict("half_plus_two", {"x": np.ones(1)}, version=1, label="a"),
         Code.INVALID_ARGUMENT),
        (lambda c: c.predict("half_plus_two", {"y": np.ones((1, 1), np.float32)}),
         Code.INVALID_ARGUMENT),
    ],
)  # fmt: skip
def test_same_error_codes(clients, call, code) -> None:
    for client in clients:
        with pytest.raises(ServingError) as e:
            call(client)
        assert e.value.code == code, (type(client).__name__, e.value)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_nothing_listening_is_unavailable() -> None:
    port = _free_port()
    for client in (Client(f"http://127.0.0.1:{port}"), GrpcClient(f"127.0.0.1:{port}")):
        with client, pytest.raises(ServingError) as e:
            client.predict("m", {"x": np.ones(1, np.float32)})
        assert e.value.code == Code.UNAVAILABLE, e.value
        assert str(port) in e.value.message


def test_no_answer_in_time_is_deadline_exceeded(server) -> None:
    for client in (
        Client(server.rest_url, timeout=0.2),
        GrpcClient(server.grpc_address, timeout=0.2),
    ):
        with client, pytest.raises(ServingError) as e:
            client.predict("echo", {"n": np.array(3000, np.int32)}, signature_name="slow")
        assert e.value.code == Code.DEADLINE_EXCEEDED, e.value
        assert "within 0.2s" in e.value.message


def test_predict_command_prints_alike(server) -> None:
    printed = []
    for target in (server.rest_url, server.grpc_address):
        result = subprocess.run(
            [sys.executable, "-m", "sigserve", "predict", target, "--model", "echo",
             "--signature_name", "two_outputs", "--input", "x=[[0.1, 0.2], [1e-8, 3e20]]"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        printed.append(result.stdout)
    assert printed[0] == printed[1]
    assert json.loads(printed[0]) == {
        "double": [[0.2, 0.4], [2e-8, 6e20]],
        "sum": [0.3, 3e20],
    }
