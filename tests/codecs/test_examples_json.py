"""TF Serving's classify/regress JSON: examples in, results out."""

from __future__ import annotations

import json

import pytest

from sigserve import protos
from sigserve.codecs.examples_json import (
    decode_classification_response,
    decode_examples_request,
    decode_regression_response,
    encode_classification_result,
    encode_examples_request,
    encode_regression_result,
)
from sigserve.errors import ServingError


def test_examples_become_typed_features() -> None:
    body = {
        "signature_name": "s",
        "examples": [{"f": 1.5, "i": [1, 2], "b": True, "t": "hi", "raw": {"b64": "AP8="}}],
    }
    signature, request_input = decode_examples_request(json.dumps(body))
    assert signature == "s"
    feature = request_input.example_list.examples[0].features.feature
    assert list(feature["f"].float_list.value) == [1.5]
    assert list(feature["i"].int64_list.value) == [1, 2]
    assert list(feature["b"].int64_list.value) == [1]
    assert list(feature["t"].bytes_list.value) == [b"hi"]
    assert list(feature["raw"].bytes_list.value) == [b"\x00\xff"]


def test_context_makes_example_list_with_context() -> None:
    _, request_input = decode_examples_request('{"context": {"c": 1}, "examples": [{"x": 2.0}]}')
    with_context = request_input.example_list_with_context
    assert list(with_context.context.features.feature["c"].int64_list.value) == [1]
    assert len(with_context.examples) == 1


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("{}", "key 'examples' is expected"),
        ('{"examples": 1}', "to be an list/array"),
        ('{"examples": []}', "empty array"),
        ('{"examples": [1]}', "Example must be JSON object but got JSON Number"),
        ('{"examples": [{"x": [1, "a"]}]}', "Unexpected element type in feature: x"),
        ('{"examples": [{"x": null}]}', "unexpected JSON type: Null"),
        ('{"examples": [{"x": [[1]]}]}', "unexpected JSON type: Array"),
        ('{"examples": [{"x": 18446744073709551615}]}', "Only int64_t is supported"),
    ],
)
def test_bad_examples(body: str, needle: str) -> None:
    with pytest.raises(ServingError) as e:
        decode_examples_request(body)
    assert needle in e.value.message


def test_results_json_and_client_round_trip() -> None:
    result = protos.classification_pb2.ClassificationResult()
    entry = result.classifications.add().classes.add()
    entry.label, entry.score = "cat", 0.1
    body = encode_classification_result(result)
    assert json.loads(body) == {"results": [[["cat", 0.1]]]}
    assert decode_classification_response(body) == [[("cat", 0.1)]]
    regression = protos.regression_pb2.RegressionResult()
    regression.regressions.add().value = 3.0
    assert encode_regression_result(regression) == b'{\n    "results": [3.0]\n}'
    assert decode_regression_response(b'{"results":[3.0]}') == [3.0]
    request = encode_examples_request([{"x": b"\x01"}], context={"c": 1}, signature_name="s")
    signature, request_input = decode_examples_request(request)
    assert signature == "s"
    feature = request_input.example_list_with_context.examples[0].features.feature
    assert list(feature["x"].bytes_list.value) == [b"\x01"]
