"""TF Serving's predict JSON: decoding, encoding, round trips, and random bodies."""

from __future__ import annotations

import base64
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigserve.codecs.json_floats import float32_display
from sigserve.codecs.json_values import to_tensor
from sigserve.codecs.tf_json import (
    Format,
    decode_predict_request,
    encode_error,
    encode_predict_response,
)
from sigserve.codecs.tf_json_client import decode_predict_response, encode_predict_request
from sigserve.errors import Code, ServingError
from sigserve.types import TensorInfo

X = {"x": TensorInfo("DT_FLOAT", (-1, 2))}
TWO = {"a": TensorInfo("DT_INT64", (-1,)), "s": TensorInfo("DT_STRING", (-1,))}


def infos(spec: dict[str, TensorInfo]):
    return lambda signature: spec


def decode(body: object, spec: dict[str, TensorInfo] = X):
    text = body if isinstance(body, str) else json.dumps(body)
    return decode_predict_request(text, infos(spec))


def error_of(body: object, spec: dict[str, TensorInfo] = X) -> str:
    with pytest.raises(ServingError) as e:
        decode(body, spec)
    assert e.value.code == Code.INVALID_ARGUMENT
    return e.value.message


def test_row_format_single_unnamed_input() -> None:
    request = decode({"instances": [[1, 2.5], [3, 4]]})
    assert request.format is Format.ROW
    assert request.inputs["x"].dtype == np.float32
    assert request.inputs["x"].tolist() == [[1.0, 2.5], [3.0, 4.0]]


def test_row_format_named_inputs_with_b64() -> None:
    body = {"instances": [{"a": 1, "s": {"b64": "AP8="}}, {"a": 2**62, "s": "héllo"}]}
    request = decode(body, TWO)
    assert request.inputs["a"].tolist() == [1, 2**62]
    assert request.inputs["s"].tolist() == [b"\x00\xff", "héllo".encode()]


def test_columnar_format_and_signature_name() -> None:
    seen = []
    request = decode_predict_request(
        '{"signature_name": "sig", "inputs": {"a": [9007199254740993], "s": ["z"]}}',
        lambda name: seen.append(name) or TWO,
    )
    assert seen == ["sig"]
    assert request.format is Format.COLUMNAR
    assert request.inputs["a"].tolist() == [9007199254740993]  # 2**53 + 1, exact


def test_nan_and_infinity_literals_are_read() -> None:
    request = decode('{"inputs": [[NaN, Infinity], [-Infinity, 1]]}')
    values = request.inputs["x"]
    assert math.isnan(values[0, 0]) and values[0, 1] == math.inf and values[1, 0] == -math.inf


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("", "The document is empty"),
        ("{", "JSON Parse error"),
        ([1], "Is not object"),
        ({"instances": [[1, 2]], "inputs": [[1, 2]]}, "expecting only one of"),
        ({"foo": 1}, "Missing 'inputs' or 'instances' key"),
        ({"instances": 5}, "Expecting 'instances' to be an list/array"),
        ({"instances": []}, "No values in 'instances' array"),
        ({"instances": [[1, 2], [3]]}, "Failed to process element: 1"),
        ({"instances": [["a", 1]]}, "is not of expected type: float"),
        ({"instances": [[True, 1]]}, "is not of expected type: float"),
        ({"signature_name": 3, "instances": [[1, 2]]}, "'signature_name' key must be a string"),
        ({"inputs": [[1, 2], [3, [4]]]}, "Encountered list at unexpected"),
        ({"inputs": {"y": [[1, 2]]}}, "Missing named input: x"),
    ],
)
def test_bad_bodies_get_tf_serving_messages(body: object, needle: str) -> None:
    assert needle in error_of(body)


def test_int_range_and_type_errors() -> None:
    spec = {"i": TensorInfo("DT_INT8", (-1,))}
    assert "is not of expected type: int8" in error_of({"inputs": [1, 300]}, spec)
    assert "is not of expected type: int8" in error_of({"inputs": [1.5]}, spec)
    spec = {"u": TensorInfo("DT_UINT64", (-1,))}
    assert decode({"inputs": [2**64 - 1]}, spec).inputs["u"].tolist() == [2**64 - 1]
    assert "uint64" in error_of({"inputs": [-1]}, spec)


def test_named_row_keys_must_match() -> None:
    message = error_of({"instances": [{"a": 1}]}, TWO)
    assert "keys must be equal to: a,s" in message
    assert "does not have named input: b" in error_of({"instances": [{"b": 1}]}, TWO)
    assert "plain list" in error_of({"instances": [1]}, TWO)


def test_encode_one_output_row_and_columnar() -> None:
    y = np.array([[0.1], [3.0]], np.float32)
    row = encode_predict_response({"y": y}, Format.ROW)
    assert row == b'{\n    "predictions": [[0.1], [3.0]\n    ]\n}'
    columnar = encode_predict_response({"y": y}, Format.COLUMNAR)
    assert columnar == (
        b'{\n    "outputs": [\n        [\n            0.1\n        ],\n'
        b"        [\n            3.0\n        ]\n    ]\n}"
    )
    scalar = encode_predict_response({"y": np.float32(2.5)}, Format.COLUMNAR)
    assert scalar == b'{\n    "outputs": 2.5\n}'


def test_float32_text_follows_tf_serving() -> None:
    body = encode_predict_response({"y": np.array([0.1, 0.123456789, 1e30], np.float32)},
                                   Format.COLUMNAR)  # fmt: skip
    values = json.loads(body)["outputs"]
    assert values[0] == 0.1  # %.6g reads back to the same float32
    assert values[1] == 0.123456791  # %.9g otherwise
    assert np.float32(values[2]) == np.float32(1e30)


def test_encode_several_outputs() -> None:
    outputs = {"a": np.array([1, 2], np.int64), "b": np.array([[True], [False]])}
    row = json.loads(encode_predict_response(outputs, Format.ROW))
    assert row == {"predictions": [{"a": 1, "b": [True]}, {"a": 2, "b": [False]}]}
    col = json.loads(encode_predict_response(outputs, Format.COLUMNAR))
    assert col == {"outputs": {"a": [1, 2], "b": [[True], [False]]}}
    with pytest.raises(ServingError, match="inconsistent batch size"):
        encode_predict_response({"a": np.zeros(2), "b": np.zeros(3)}, Format.ROW)
    with pytest.raises(ServingError, match="has no shape information"):
        encode_predict_response({"a": np.float32(1)}, Format.ROW)


def test_bytes_outputs_and_special_floats() -> None:
    outputs = {
        "img_bytes": np.array([b"\xff\x00"], object),
        "text": np.array([b"ok", b"\xfe"], object).reshape(2)[:1],
        "f": np.array([np.nan], np.float32),
    }
    body = encode_predict_response(outputs, Format.COLUMNAR)
    assert b"NaN" in body and b"null" not in body
    out = json.loads(body)["outputs"]
    assert out["img_bytes"] == [{"b64": base64.b64encode(b"\xff\x00").decode()}]
    assert out["text"] == ["ok"]
    assert encode_error('say "x"') == b'{\n    "error": "say \\"x\\""\n}'


DTYPES = {
    "DT_FLOAT": st.floats(width=32, allow_nan=False),
    "DT_DOUBLE": st.floats(allow_nan=False),
    "DT_INT32": st.integers(-(2**31), 2**31 - 1),
    "DT_INT64": st.integers(-(2**63), 2**63 - 1),
    "DT_UINT64": st.integers(0, 2**64 - 1),
    "DT_BOOL": st.booleans(),
    "DT_STRING": st.binary(max_size=8),
}


@settings(max_examples=150, deadline=None)
@given(data=st.data(), dtype=st.sampled_from(sorted(DTYPES)), rows=st.integers(1, 4))
def test_client_and_server_codecs_round_trip(data: st.DataObject, dtype: str, rows: int) -> None:
    values = data.draw(st.lists(DTYPES[dtype], min_size=rows, max_size=rows))
    from sigserve.codecs.dtypes import numpy_dtype

    array = np.array(values, dtype=numpy_dtype(dtype))
    spec = {"v": TensorInfo(dtype, (-1,))}
    request = decode_predict_request(encode_predict_request({"v": array}), infos(spec))
    np.testing.assert_array_equal(request.inputs["v"], array)
    for fmt in Format:
        answer = decode_predict_response(encode_predict_response({"v": array}, fmt))
        expected = array.astype(np.float32) if dtype == "DT_FLOAT" else array
        got = np.asarray(answer)
        if dtype == "DT_FLOAT":
            got = got.astype(np.float32)
        np.testing.assert_array_equal(got.reshape(expected.shape), expected)


def test_float32_text_matches_printf_on_random_bit_patterns() -> None:
    rng = np.random.default_rng(7)
    bits = rng.integers(0, 2**32, size=200_000, dtype=np.uint64).astype(np.uint32)
    values = bits.view(np.float32)
    values = values[np.isfinite(values)]
    values = np.concatenate([values, np.float32([0.1, 1.0, 999999.9, 1e-45, 3.4e38, -0.0, 0.0])])
    expected = np.array(
        [float(f"{v:.6g}") if np.float32(float(f"{v:.6g}")) == v else float(f"{v:.9g}")
         for v in values.astype(np.float64)]
    )  # fmt: skip
    np.testing.assert_array_equal(float32_display(values), expected)
    for i in range(0, 2000, 100):  # the small-array path agrees too
        np.testing.assert_array_equal(float32_display(values[i : i + 7]), expected[i : i + 7])


def test_fast_and_checked_paths_agree() -> None:
    for value, dtype in [
        ([[1, 2.5], [3, 4]], "DT_FLOAT"), ([[1, 2], [3, 4]], "DT_INT8"),
        ([2**63 - 1, -(2**63)], "DT_INT64"), ([2**64 - 1, 0], "DT_UINT64"),
        ([1.5, 2], "DT_DOUBLE"), (3, "DT_INT32"), ([], "DT_FLOAT"),
    ]:  # fmt: skip
        fast = to_tensor(value, dtype, has_bools=False)
        checked = to_tensor(value, dtype, has_bools=True)
        assert fast.dtype == checked.dtype and fast.shape == checked.shape
        np.testing.assert_array_equal(fast, checked)
    for value, dtype in [([300], "DT_INT8"), ([1.5], "DT_INT32"), ([-1], "DT_UINT8"),
                         ([[1], [2, 3]], "DT_FLOAT"), (["1"], "DT_FLOAT")]:  # fmt: skip
        with pytest.raises(ServingError):
            to_tensor(value, dtype, has_bools=False)
