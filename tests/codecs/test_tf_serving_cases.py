"""TF Serving's own json_tensor_test.cc cases, restated against sigserve's codecs."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from sigserve import protos
from sigserve.codecs.examples_json import (
    decode_examples_request,
    encode_classification_result,
    encode_regression_result,
)
from sigserve.codecs.tf_json import Format, decode_predict_request, encode_predict_response
from sigserve.errors import Code, ServingError
from sigserve.types import TensorInfo


def spec(**dtypes: str) -> dict[str, TensorInfo]:
    return {name: TensorInfo(dtype, None) for name, dtype in dtypes.items()}


def decode(body: str, infos: dict[str, TensorInfo]):
    return decode_predict_request(body, lambda _: infos)


def error(body: str, infos: dict[str, TensorInfo]) -> str:
    with pytest.raises(ServingError) as e:
        decode(body, infos)
    assert e.value.code == Code.INVALID_ARGUMENT
    return e.value.message


INT = spec(default="DT_INT32")


def test_single_unnamed_tensor() -> None:
    request = decode('{"instances": [[1,2],[3,4],[5,6]]}', INT)
    assert request.format is Format.ROW
    assert request.inputs["default"].dtype == np.int32
    assert request.inputs["default"].tolist() == [[1, 2], [3, 4], [5, 6]]


def test_deeply_nested_but_well_formed_body_is_read() -> None:
    body = '{"instances":[1], "nested":' + "[" * 500_000 + "]" * 500_000 + "}"
    assert decode(body, INT).inputs["default"].tolist() == [1]


def test_deeply_nested_signature_name_is_refused_clearly() -> None:
    body = '{"signature_name":' + "[" * 500_000 + "]" * 500_000 + "}"
    message = error(body, INT)
    assert "key must be a string value" in message
    assert message.startswith('JSON Value: {\n    "signature_name": [[[[')
    assert len(message.encode()) < 400
    assert sys.getrecursionlimit() < 500_000  # nothing recursed that deep


def test_mixed_ints_and_floats_for_float_and_double() -> None:
    floats = decode('{"instances": [1, 2.0, 3, 4, 5.003, 0.007, 0.0]}', spec(d="DT_FLOAT"))
    np.testing.assert_array_equal(
        floats.inputs["d"], np.float32([1, 2, 3, 4, 5.003, 0.007, 0])
    )
    doubles = decode('{"instances": [1.0, 2, 3, 4, 0.662, 0, 0.0]}', spec(d="DT_DOUBLE"))
    assert doubles.inputs["d"].dtype == np.float64
    assert doubles.inputs["d"].tolist() == [1, 2, 3, 4, 0.662, 0, 0]


def test_float_precision_loss_and_overflow_as_tf_serving() -> None:
    one = decode('{"instances": [1435774380]}', spec(d="DT_FLOAT")).inputs["d"]
    two = decode('{"instances": [1435774380.0]}', spec(d="DT_FLOAT")).inputs["d"]
    assert one.tolist() == two.tolist() == [float(np.float32(1435774380))]
    big = decode('{"instances": [1.7976931348623157e308, -1.7976931348623157e308]}',
                 spec(d="DT_FLOAT")).inputs["d"]  # fmt: skip
    assert big.tolist() == [math.inf, -math.inf]
    tiny = decode('{"instances": [2.2250738585072014e-308]}', spec(d="DT_FLOAT")).inputs["d"]
    assert tiny.tolist() == [0.0]


def test_signature_name_and_trailing_bytes() -> None:
    request = decode('{"signature_name": "predict_images", "instances": [[1,2]]}', INT)
    assert request.signature_name == "predict_images"
    request = decode('{"instances": [[1,2],[3,4],[5,6]]}X', INT)  # rapidjson stops when done
    assert request.inputs["default"].shape == (3, 2)


def test_base64_scalars_lists_and_named() -> None:
    strings = spec(default="DT_STRING")
    scalars = decode('{"instances": [{"b64": "aGVsbG8="}, {"b64": "d29ybGQ="}]}', strings)
    assert scalars.inputs["default"].tolist() == [b"hello", b"world"]
    lists = decode('{"instances": [[{"b64": "aGVsbG8="}], [{"b64": "d29ybGQ="}]]}', strings)
    assert lists.inputs["default"].shape == (2, 1)
    named = decode(
        '{"instances": [{"default": [[{"b64": "aGVsbG8="}], [{"b64": "d29ybGQ="}]]}]}', strings
    )
    assert named.inputs["default"].shape == (1, 2, 1)


def test_multiple_named_tensors_with_nan_and_infinity() -> None:
    infos = spec(int_tensor="DT_INT32", str_tensor="DT_STRING", float_tensor="DT_FLOAT",
                 dbl_tensor="DT_DOUBLE")  # fmt: skip
    request = decode(
        """{"instances": [
          {"int_tensor": [[1,2],[3,4],[5,6]], "str_tensor": ["foo", "bar"],
           "float_tensor": [1.0, NaN], "dbl_tensor": [NaN]},
          {"int_tensor": [[7,8],[9,0],[1,2]], "str_tensor": ["baz", "bat"],
           "float_tensor": [2.0, Infinity], "dbl_tensor": [2.0]}]}""",
        infos,
    )
    assert request.inputs["int_tensor"].shape == (2, 3, 2)
    assert request.inputs["str_tensor"].tolist() == [[b"foo", b"bar"], [b"baz", b"bat"]]
    floats = request.inputs["float_tensor"]
    assert floats.dtype == np.float32 and math.isnan(floats[0, 1]) and floats[1, 1] == math.inf
    assert request.inputs["dbl_tensor"].shape == (2, 1)


def test_columnar_single_and_multiple() -> None:
    infos = spec(int_tensor="DT_INT32")
    for body in ('{"inputs": {"int_tensor": [[[1,2],[3,4],[5,6]]]}}',
                 '{"inputs": [[[1,2],[3,4],[5,6]]]}'):  # fmt: skip
        request = decode(body, infos)
        assert request.format is Format.COLUMNAR
        assert request.inputs["int_tensor"].shape == (1, 3, 2)
    infos = spec(int_tensor="DT_INT32", str_tensor="DT_STRING", bin_tensor="DT_STRING")
    request = decode(
        '{"inputs": {"int_tensor": [[[1,2],[3,4],[5,6]]], "str_tensor": ["foo", "bar"],'
        ' "bin_tensor": {"b64": "aGVsbG8="}}}',
        infos,
    )
    assert request.inputs["bin_tensor"].shape == ()
    assert request.inputs["bin_tensor"].item() == b"hello"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ('{"signature_name": 5, "instances": [[1,2],[3,4],[5,6,7]]}', "must be a string value"),
        ('{"instances": [[1,2],[3,4],[5,6,7]], "inputs": [[1,2],[3,4],[5,6,7]]}',
         "Not formatted correctly"),
        ('{"instances": [[1,2],[3,4],[5,6,7]]}', "Expecting tensor size"),
        ('{"instances": [[1,2],[3,4],[[5,6]]]}', "Expecting shape"),
        ('{"instances": [1, [1]]}', "Expecting shape"),
        ('{"instances": [[1,2],["a", "b"]]}', "not of expected type"),
    ],
)  # fmt: skip
def test_single_unnamed_tensor_errors(body: str, needle: str) -> None:
    assert needle in error(body, INT)


def test_exact_error_texts() -> None:
    assert error('{"instances": [[1,2],[3,4],[5,6,7]]}', INT) == (
        "Failed to process element: 2 of 'instances' list. Error: INVALID_ARGUMENT: "
        "Expecting tensor size: 2 but got: 3"
    )
    assert error('{"instances": [1, [1]]}', INT) == (
        "Failed to process element: 1 of 'instances' list. Error: INVALID_ARGUMENT: "
        "Expecting shape [] but got: [1]"
    )
    assert error('{"instances": 5}', INT) == (
        "JSON Value: {\n    \"instances\": 5\n} Expecting 'instances' to be an list/array"
    )
    assert error('{"inputs": [1, "a"]}', INT) == (
        'JSON Value: "a" Type: String is not of expected type: int32'
    )
    assert error('{"inputs": [["a", "b"], {"b64": "eA=="}]}', spec(s="DT_STRING")) == (
        'JSON Value: {\n    "b64": "eA=="\n} found at incorrect level: 2 in the JSON DOM. '
        "Expected at level: 2"
    )
    assert error('{"inputs": {"b64": 1}}', spec(s="DT_STRING")) == (
        "Missing named input: s in 'inputs' object."  # not base64: an object of named inputs
    )
    assert error('{"inputs": [{"b64": 1}]}', spec(s="DT_STRING")) == (
        'JSON Value: {\n    "b64": 1\n} not formatted correctly for base64 data'
    )
    assert error("[1, 2", INT) == (
        "JSON Parse error: Missing a comma or ']' after an array element. at offset: 5"
    )


def test_errors_come_in_tf_serving_order() -> None:
    infos = spec(a="DT_INT32", b="DT_INT32")
    # element 0 has a bad value, element 1 a missing key: TF Serving names element 0
    message = error('{"instances": [{"a": "x", "b": 1}, {"a": 1}]}', infos)
    assert message.startswith("Failed to process element: 0 key: a of 'instances' list.")
    # in one value, the first bad leaf in document order wins
    message = error('{"inputs": [["x", 1], [2]]}', INT)
    assert message == 'JSON Value: "x" Type: String is not of expected type: int32'


def test_multiple_named_tensor_errors() -> None:
    infos = spec(int_tensor="DT_INT32", str_tensor="DT_STRING")
    assert "Expecting shape" in error(
        '{"instances": [{"int_tensor": [[1,2],[3,4],[5,6]], "str_tensor": ["foo", "bar"]},'
        ' {"int_tensor": [[[7,8],[9,0],[1,2]]], "str_tensor": ["baz", "bat"]}]}',
        infos,
    )
    assert "Expecting tensor size" in error(
        '{"instances": [{"int_tensor": [[1,2],[3,4],[5,6],[7,8]], "str_tensor": ["foo", "bar"]},'
        ' {"int_tensor": [[7,8],[9,0],[1,2]], "str_tensor": ["baz", "bat"]}]}',
        infos,
    )
    assert "Expecting object but got list" in error(
        '{"instances": [{"int_tensor": [[1,2]], "str_tensor": ["foo"]}, [1, 20, 30]]}', infos
    )
    assert "Expecting value/list but got object" in error(
        '{"instances": [["baz", "bar"], {"str_tensor": ["baz", "bat"]}]}',
        spec(str_tensor="DT_STRING"),
    )


INT_2x3x2 = np.array([[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 0], [1, 2]]], np.int32)


def test_from_tensors_row_and_columnar_text() -> None:
    assert encode_predict_response({"int_tensor": INT_2x3x2}, Format.ROW) == (
        b'{\n    "predictions": [[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 0], [1, 2]]\n    ]\n}'
    )
    ints = np.arange(1, 6, dtype=np.int32)
    assert encode_predict_response({"t": ints}, Format.ROW) == (
        b'{\n    "predictions": [1, 2, 3, 4, 5\n    ]\n}'
    )
    assert encode_predict_response({"t": ints[:2]}, Format.COLUMNAR) == (
        b'{\n    "outputs": [\n        1,\n        2\n    ]\n}'
    )


def test_from_tensors_bytes_and_float_text() -> None:
    words = np.array([[b"hello", b"world"], [b"tf", b"serving"]], dtype=object)
    assert encode_predict_response({"str_tensor_bytes": words}, Format.ROW) == (
        b'{\n    "predictions": [[{\n                "b64": "aGVsbG8="\n            }, {\n'
        b'                "b64": "d29ybGQ="\n            }], [{\n'
        b'                "b64": "dGY="\n            }, {\n'
        b'                "b64": "c2VydmluZw=="\n            }]\n    ]\n}'
    )
    floats = np.float32([[9000000, 999999, 0.5], [0.0003, 0.00003, 555557.5]])
    assert encode_predict_response({"f": floats}, Format.ROW) == (
        b'{\n    "predictions": [[9e+06, 999999.0, 0.5], [0.0003, 3e-05, 555557.5]\n    ]\n}'
    )
    special = np.float32([[np.nan, np.inf], [3, -np.inf]])
    assert encode_predict_response({"f": special}, Format.ROW) == (
        b'{\n    "predictions": [[NaN, Infinity], [3.0, -Infinity]\n    ]\n}'
    )


def test_from_tensors_errors() -> None:
    with pytest.raises(ServingError, match="empty tensor map"):
        encode_predict_response({}, Format.ROW)
    with pytest.raises(ServingError, match="tensor type: complex64"):
        encode_predict_response({"t": np.complex64([1, 2])}, Format.ROW)
    with pytest.raises(ServingError, match="no shape information"):
        encode_predict_response({"t": np.int32(1)}, Format.ROW)
    with pytest.raises(ServingError, match="inconsistent batch size"):
        encode_predict_response(
            {"ints": np.zeros((2, 3), np.int32), "strs": np.array([[b"a"] * 3], object)},
            Format.ROW,
        )
    with pytest.raises(ServingError, match="inconsistent batch size"):
        encode_predict_response(
            {"a": np.zeros((0, 2), np.int32), "b": np.array([[b"a", b"b"]], object)}, Format.ROW
        )


def test_from_multiple_named_tensors_text() -> None:
    outputs = {
        "double_scalar_tensor": np.float64([8, 9]),
        "float_tensor": np.float32([[1], [2]]),
        "str_tensor": np.array([[b"foo", b"bar"], [b"baz", b"bat"]], object),
    }
    assert encode_predict_response(outputs, Format.ROW) == (
        b'{\n    "predictions": [\n        {\n            "double_scalar_tensor": 8.0,\n'
        b'            "float_tensor": [1.0],\n            "str_tensor": ["foo", "bar"]\n'
        b'        },\n        {\n            "double_scalar_tensor": 9.0,\n'
        b'            "float_tensor": [2.0],\n            "str_tensor": ["baz", "bat"]\n'
        b"        }\n    ]\n}"
    )
    assert encode_predict_response(outputs, Format.COLUMNAR).startswith(
        b'{\n    "outputs": {\n        "double_scalar_tensor": [\n            8.0,\n'
    )


def test_zero_batch() -> None:
    outputs = {"s": np.empty((0, 1, 2), object), "f": np.zeros((0, 3, 4), np.float32)}
    assert encode_predict_response(outputs, Format.ROW) == b'{\n    "predictions": []\n}'
    one = {"int_tensor": np.zeros((0, 2), np.int32)}
    assert encode_predict_response(one, Format.ROW) == b'{\n    "predictions": []\n}'


def test_non_utf8_string_output_is_copied_raw() -> None:
    body = encode_predict_response({"s": np.array([b"\xff"], object)}, Format.COLUMNAR)
    assert body == b'{\n    "outputs": [\n        "\xff"\n    ]\n}'


def _features(example) -> dict[str, list]:
    out = {}
    for name, feature in example.features.feature.items():
        kind = feature.WhichOneof("kind")
        out[name] = (kind, list(getattr(feature, kind).value) if kind else [])
    return out


def test_examples_without_context() -> None:
    _, request_input = decode_examples_request(
        '{"examples": [{"names": ["foo", "bar"], "ratings": [8.0, 9.0], "age": 20},'
        ' {"names": ["baz"], "ratings": 6.0}]}'
    )
    first, second = request_input.example_list.examples
    assert _features(first) == {
        "names": ("bytes_list", [b"foo", b"bar"]),
        "ratings": ("float_list", [8.0, 9.0]),
        "age": ("int64_list", [20]),
    }
    assert _features(second) == {
        "names": ("bytes_list", [b"baz"]), "ratings": ("float_list", [6.0])
    }


def test_examples_with_context_signature_and_specials() -> None:
    signature, request_input = decode_examples_request(
        '{"signature_name": "custom_signture", "context": {"query": "pizza", "location": ["sfo"]},'
        ' "examples": [{"ratings": [8.0, 9.0, NaN, Infinity]},'
        ' {"names": ["baz", {"b64": "aGVsbG8="}], "intboolmix": [1, true, false]},'
        ' {"ratings": -Infinity}]}'
    )
    assert signature == "custom_signture"
    with_context = request_input.example_list_with_context
    assert _features(with_context.context)["location"] == ("bytes_list", [b"sfo"])
    first, second, third = with_context.examples
    ratings = _features(first)["ratings"][1]
    assert ratings[:2] == [8.0, 9.0] and math.isnan(ratings[2]) and ratings[3] == math.inf
    assert _features(second)["names"] == ("bytes_list", [b"baz", b"hello"])
    assert _features(second)["intboolmix"] == ("int64_list", [1, 1, 0])
    assert _features(third)["ratings"] == ("float_list", [-math.inf])


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ('{"signature_name": ["hello"], "examples": [{"names": ["foo"]}]}',
         "'signature_name' key must be a string"),
        ('{"context": [{"names": ["foo", "bar"]}]}', "Example must be JSON object"),
        ('{"examples": {"names": ["foo", "bar"]}}', "list/array"),
        ('{"examples": [[{"names": ["foo", "bar"]}]]}', "Example must be JSON object"),
        ('{"examples": [{"names": [10, null]}]}',
         "names has element with unexpected JSON type: Null"),
        ('{"examples": [{"names": [10, 10.0]}]}', "feature: names expecting type: int64"),
        ('{"examples": [{"names": [10, {"test": 10}]}]}',
         "names has element with unexpected JSON type: Object"),
        ('{"examples": [{"names": [[10], 20]}]}',
         "names has element with unexpected JSON type: Array"),
        ('{"examples": [{"names": [20, 18446744073709551603]}]}', "Only int64_t is supported"),
        ('{"examples": [{"names": [1.5, 18446744073709551603]}]}', "expecting type: float"),
    ],
)  # fmt: skip
def test_examples_errors(body: str, needle: str) -> None:
    with pytest.raises(ServingError) as e:
        decode_examples_request(body)
    assert e.value.code == Code.INVALID_ARGUMENT
    assert needle in e.value.message


def test_classification_and_regression_text() -> None:
    result = protos.classification_pb2.ClassificationResult()
    for scores in ((0.2, 0.7, 0.1), (0.7, 0.1, 0.2)):
        classes = result.classifications.add()
        for label, score in zip(("car", "bike", "bus"), scores, strict=True):
            entry = classes.classes.add()
            entry.label, entry.score = label, score
    assert encode_classification_result(result) == (
        b'{\n    "results": [[["car", 0.2], ["bike", 0.7], ["bus", 0.1]],'
        b' [["car", 0.7], ["bike", 0.1], ["bus", 0.2]]\n    ]\n}'
    )
    regression = protos.regression_pb2.RegressionResult()
    for value in (0.2, math.inf, 1.0, -math.inf, math.nan):
        regression.regressions.add().value = value
    assert encode_regression_result(regression) == (
        b'{\n    "results": [0.2, Infinity, 1.0, -Infinity, NaN]\n}'
    )
    with pytest.raises(ServingError, match="empty ClassificationResults"):
        encode_classification_result(protos.classification_pb2.ClassificationResult())
    with pytest.raises(ServingError, match="empty RegressionResults"):
        encode_regression_result(protos.regression_pb2.RegressionResult())
