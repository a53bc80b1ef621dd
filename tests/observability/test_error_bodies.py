"""Every REST error body is valid JSON, even when the request held bytes that are not UTF-8."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from sigserve.codecs.json_values import parse_json
from sigserve.codecs.json_writer import write
from sigserve.codecs.tf_json import encode_error

BAD_BYTES = b'{"signature_name": "sig\xff\xfe", "instances": [1.0]}'


def test_undecodable_bytes_in_a_message_become_replacement_characters() -> None:
    name = parse_json(BAD_BYTES)["signature_name"]  # the bytes kept as surrogates
    body = encode_error(f'Serving signature name: "{name}" not found in signature def')
    assert json.loads(body) == {
        "error": 'Serving signature name: "sig\ufffd\ufffd" not found in signature def'
    }


@pytest.mark.parametrize("message", ["plain", 'quote " and \\ backslash', "é ü 日本", "\x01"])
def test_valid_messages_keep_tf_serving_text(message: str) -> None:
    assert json.loads(encode_error(message)) == {"error": message}
    assert encode_error(message) == write({"error": message})  # TF Serving's layout, unchanged


def test_a_lone_surrogate_from_anywhere_still_encodes() -> None:
    assert json.loads(encode_error("x \ud800 y")) == {"error": "x \ufffd y"}


@pytest.fixture(scope="module")
def server(start_server, testdata: Path):
    return start_server(
        "--model_name=hp", f"--model_base_path={testdata}/saved_model_half_plus_two_cpu"
    )


@pytest.mark.parametrize(
    "body",
    [
        BAD_BYTES,
        b'{"inputs": {"x\xff": [1.0]}, "signature_name": "\xc3"}',
        b'{"instances": [1.0], "signature_name": "\xed\xa0\x80"}',  # an encoded surrogate
    ],
)
def test_server_answers_parse_as_json(server, body: bytes) -> None:
    r = requests.post(f"{server.rest_url}/v1/models/hp:predict", data=body, timeout=30)
    assert r.status_code == 400
    error = json.loads(r.content)["error"]  # raises if the body is not valid UTF-8 JSON
    assert "\ufffd" in error and "not found in signature def" in error
    assert "Traceback" not in error and "/work/" not in error
