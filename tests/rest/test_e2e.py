"""A real ``sigserve serve`` process spoken to over HTTP, as TF Serving's clients do."""

from __future__ import annotations

import base64
import json
import math
import threading
import time
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


@pytest.fixture(scope="module")
def server(start_server, testdata: Path, echo_model: Path, tmp_path_factory):
    config = tmp_path_factory.mktemp("config") / "models.config"
    config.write_text(
        "model_config_list {\n"
        f'  config {{ name: "default" base_path: "{testdata}/saved_model_half_plus_two_cpu" '
        'model_platform: "tensorflow" }\n'
        f'  config {{ name: "tf2" base_path: "{testdata}/saved_model_half_plus_two_tf2_cpu" '
        'model_platform: "tensorflow" }\n'
        f'  config {{ name: "echo" base_path: "{echo_model}" model_platform: "tensorflow" }}\n'
        "}\n"
    )
    return start_server(f"--model_config_file={config}")


def post(server, path: str, body: object) -> requests.Response:
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return requests.post(server.rest_url + path, data=data, timeout=30)


@pytest.mark.parametrize("model", ["default", "tf2"])
def test_predict_row_and_columnar(server, model: str) -> None:
    r = post(server, f"/v1/models/{model}:predict", {"instances": [2.0, 3.0, 4.0]})
    assert r.status_code == 200, r.text
    assert r.json() == {"predictions": [3.0, 3.5, 4.0]}
    r = post(server, f"/v1/models/{model}:predict", {"inputs": [2.0, 3.0, 4.0]})
    assert r.json() == {"outputs": [3.0, 3.5, 4.0]}
    r = post(server, f"/v1/models/{model}/versions/123:predict", {"inputs": {"x": [[1.0]]}})
    assert r.json() == {"outputs": [[2.5]]}


def test_response_is_json_content_type(server) -> None:
    r = post(server, "/v1/models/default:predict", {"instances": [1.0]})
    assert r.headers["content-type"] == "application/json"


@pytest.mark.parametrize("model", ["default", "tf2"])
def test_classify_and_regress(server, model: str) -> None:
    r = post(
        server,
        f"/v1/models/{model}:classify",
        {"signature_name": "classify_x_to_y", "examples": [{"x": 2.0}]},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"results": [[["", 3.0]]]}
    r = post(
        server,
        f"/v1/models/{model}:regress",
        {"signature_name": "regress_x_to_y", "examples": [{"x": 2.0}]},
    )
    assert r.json() == {"results": [3.0]}


def test_status(server) -> None:
    r = requests.get(server.rest_url + "/v1/models/default", timeout=10)
    assert r.status_code == 200
    assert r.json() == {
        "model_version_status": [
            {
                "version": "123",
                "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": ""},
            }
        ]
    }


def _sorted(obj: object) -> object:
    if isinstance(obj, dict):
        return sorted((k, _sorted(v)) for k, v in obj.items())
    if isinstance(obj, list):
        return sorted((_sorted(x) for x in obj), key=repr)
    return obj


def test_metadata_matches_tf_serving(server, testdata: Path) -> None:
    expected = json.loads((testdata / "half_plus_two_model_metadata.json").read_text())
    r = requests.get(server.rest_url + "/v1/models/default/metadata", timeout=10)
    assert r.status_code == 200
    assert _sorted(r.json()) == _sorted(expected)
    r = requests.get(server.rest_url + "/v1/models/default/versions/123/metadata", timeout=10)
    assert _sorted(r.json()) == _sorted(expected)


def test_every_dtype_round_trips(server) -> None:
    big = 2**53 + 1
    columns = {
        "f16": [0.5, -2.0], "f32": [0.1, 1e30], "f64": [0.1, 1e300], "bf16": [1.5, -3.0],
        "i8": [-128, 127], "i16": [-32768, 32767], "i32": [-(2**31), 2**31 - 1],
        "i64": [-big, big], "u8": [0, 255], "u16": [0, 65535], "u32": [0, 2**32 - 1],
        "u64": [0, 2**64 - 1], "b": [True, False],
        "s": [{"b64": base64.b64encode(b"\xff\x00raw").decode()}, "text"],
    }  # fmt: skip
    r = post(server, "/v1/models/echo:predict", {"inputs": columns})
    assert r.status_code == 200, r.text
    text = r.text
    assert str(big) in text and str(2**64 - 1) in text  # no float rounding on the way out
    out = r.json()["outputs"]
    for name, values in columns.items():
        if name == "s":
            continue
        assert out[f"{name}_out"] == values, name
    assert out["s_bytes"] == [
        {"b64": base64.b64encode(b"\xff\x00raw").decode()},
        {"b64": base64.b64encode(b"text").decode()},
    ]


def test_nan_and_infinity_as_tf_serving_writes_them(server) -> None:
    body = '{"signature_name": "two_outputs", "instances": [[NaN, 1.0], [Infinity, -Infinity]]}'
    r = post(server, "/v1/models/echo:predict", body)
    assert r.status_code == 200, r.text
    assert "NaN" in r.text and "Infinity" in r.text and "null" not in r.text
    doubled = json.loads(r.text)["predictions"]  # Python's json reads NaN/Infinity
    assert math.isnan(doubled[0]["double"][0])
    assert doubled[1]["double"] == [math.inf, -math.inf]


def test_several_outputs_row_and_columnar(server) -> None:
    body = {"signature_name": "two_outputs", "instances": [[1.0, 2.0], [3.0, 4.0]]}
    r = post(server, "/v1/models/echo:predict", body)
    assert r.json() == {
        "predictions": [{"sum": 3.0, "double": [2.0, 4.0]}, {"sum": 7.0, "double": [6.0, 8.0]}]
    }
    body = {"signature_name": "two_outputs", "inputs": {"x": [[1.0, 2.0]]}}
    r = post(server, "/v1/models/echo:predict", body)
    assert r.json() == {"outputs": {"sum": [3.0], "double": [[2.0, 4.0]]}}


@pytest.mark.parametrize(
    ("path", "body", "status", "needle"),
    [
        ("/v1/models/nope:predict", {"instances": [1.0]}, 404, "nope"),
        ("/v1/models/default/versions/999:predict", {"instances": [1.0]}, 404, "999"),
        ("/v1/models/default/labels/nolabel:predict", {"instances": [1.0]}, 400, "nolabel"),
        ("/v1/models/default:predict", "{not json", 400, ""),
        ("/v1/models/default:predict", {"instances": [1.0], "inputs": [1.0]}, 400, "instances"),
        ("/v1/models/default:predict", {"foo": 1}, 400, ""),
        ("/v1/models/echo:predict",
         {"signature_name": "two_outputs", "instances": [[1.0, 2.0], [3.0]]}, 400, ""),
        ("/v1/models/default:predict", {"signature_name": "nope", "instances": [1.0]}, 400,
         "nope"),
        ("/v1/models/default:explain", {"instances": [1.0]}, 400, "Malformed request"),
        ("/v1/models/default:predict", {"instances": ["a"]}, 400, ""),
    ],
)  # fmt: skip
def test_bad_requests_get_tf_serving_errors(server, path, body, status, needle) -> None:
    r = post(server, path, body)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert isinstance(error, str) and error
    assert needle in error


def test_malformed_get_path(server) -> None:
    r = requests.get(server.rest_url + "/v1/models/default:predict", timeout=10)
    assert r.status_code == 400
    assert r.json() == {"error": "Malformed request: GET /v1/models/default:predict"}


def test_slow_request_does_not_stall_others(server) -> None:
    finished: dict[str, float] = {}

    def slow() -> None:
        post(server, "/v1/models/echo:predict", {"signature_name": "slow", "inputs": {"n": 4000}})
        finished["slow"] = time.monotonic()

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.2)
    r = post(server, "/v1/models/default:predict", {"instances": [1.0]})
    finished["fast"] = time.monotonic()
    thread.join()
    assert r.status_code == 200
    assert finished["fast"] < finished["slow"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["instances", "inputs", "x", "signature_name", "b64"]),
                      children, max_size=3),
    max_leaves=12,
)  # fmt: skip


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=json_values | st.binary(max_size=40).map(lambda b: b.decode("latin-1")))
def test_random_bodies_get_4xx_never_5xx(server, body: object) -> None:
    data = body if isinstance(body, str) else json.dumps(body)
    for model in ("default", "echo"):
        r = post(server, f"/v1/models/{model}:predict", data)
        assert r.status_code in (200, 400, 404), (r.status_code, r.text)
        if r.status_code != 200:
            assert r.json()["error"]
    assert post(server, "/v1/models/default:predict", {"instances": [2.0]}).status_code == 200
