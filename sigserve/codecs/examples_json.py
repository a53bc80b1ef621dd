"""TF Serving's Classify and Regress JSON (``json_tensor.cc``), both ways.

``{"signature_name": ..., "context": {...}, "examples": [{...}, ...]}`` becomes
an ``Input`` proto of tf.Examples: JSON integers (and booleans) become
int64_list features, other numbers float_list, strings and ``{"b64": ...}``
bytes_list. Answers are ``{"results": ...}``: per example a list of
``[label, score]`` pairs (classify) or one value (regress).
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

from sigserve import protos
from sigserve.codecs.json_floats import decimal_text
from sigserve.codecs.json_values import debug_string, decode_b64, is_b64, json_type, parse_json
from sigserve.codecs.json_writer import Raw, SingleLine, write
from sigserve.errors import invalid_argument

_KIND_NAME = {"bytes_list": "bytes", "float_list": "float", "int64_list": "int64"}


def _kind_error(name: str, feature: Any) -> Exception:
    kind = _KIND_NAME.get(feature.WhichOneof("kind") or "", "UNKNOWN")
    return invalid_argument(f"Unexpected element type in feature: {name} expecting type: {kind}")


def _unexpected(name: str, value: Any) -> Exception:
    return invalid_argument(
        f"Feature: {name} has element with unexpected JSON type: {json_type(value)}"
    )


def _add_value(value: Any, name: str, feature: Any) -> None:
    """One JSON value appended to a feature, with TF Serving's typing and checks, in its order."""
    if value is None or isinstance(value, list):
        raise _unexpected(name, value)
    if isinstance(value, bool):
        target, item = "int64_list", int(value)
    elif isinstance(value, dict):
        if not is_b64(value):
            raise _unexpected(name, value)
        target, item = "bytes_list", value
    elif isinstance(value, str):
        target, item = "bytes_list", value.encode("utf-8", "surrogateescape")
    elif isinstance(value, float):
        target, item = "float_list", value
    else:
        target, item = "int64_list", value
    kind = feature.WhichOneof("kind")
    if kind is not None and kind != target:
        raise _kind_error(name, feature)
    if isinstance(item, dict):
        item = decode_b64(item)
    elif target == "int64_list" and item >= 2**63:
        raise invalid_argument(f"Feature: {name} has uint64_t element. Only int64_t is supported.")
    getattr(feature, target).value.append(item)


def _example(value: Any, example: Any) -> None:
    if not isinstance(value, dict):
        raise invalid_argument(f"Example must be JSON object but got JSON {json_type(value)}")
    for name, content in value.items():
        feature = example.features.feature[name]
        for item in content if isinstance(content, list) else [content]:
            _add_value(item, name, feature)


def decode_examples_request(body: bytes | str) -> tuple[str, Any]:
    """``(signature_name, Input proto)`` from a classify/regress body."""
    doc = parse_json(body)
    if not isinstance(doc, dict):
        raise invalid_argument(f"JSON Value: {debug_string(doc)} Is not object")
    signature_name = doc.get("signature_name", "")
    if not isinstance(signature_name, str):
        raise invalid_argument(
            f"JSON Value: {debug_string(doc)} not formatted correctly. "
            "'signature_name' key must be a string value."
        )
    request_input = protos.input_pb2.Input()
    has_context = "context" in doc
    if has_context:
        _example(doc["context"], request_input.example_list_with_context.context)
    if "examples" not in doc:
        raise invalid_argument(
            f"JSON Value: {debug_string(doc)} When method is classify, key 'examples' is "
            "expected and was not found"
        )
    examples = doc["examples"]
    if not isinstance(examples, list):
        raise invalid_argument(
            f"JSON Value: {debug_string(doc)} Expecting 'examples' value to be an list/array"
        )
    if not examples:
        raise invalid_argument(
            f"JSON Value: {debug_string(doc)} 'examples' value is an empty array"
        )
    target = (
        request_input.example_list_with_context.examples
        if has_context
        else request_input.example_list.examples
    )
    for value in examples:
        _example(value, target.add())
    return signature_name, request_input


def encode_classification_result(result: Any) -> bytes:
    """``{"results": [[[label, score], ...], ...]}``, laid out as TF Serving writes it."""
    if not result.classifications:
        raise invalid_argument("Cannot convert empty ClassificationResults to JSON")
    rows = [
        SingleLine([[c.label, Raw(decimal_text(c.score, True))] for c in classification.classes])
        for classification in result.classifications
    ]
    return write({"results": rows})


def encode_regression_result(result: Any) -> bytes:
    """``{"results": [value, ...]}``, laid out as TF Serving writes it."""
    if not result.regressions:
        raise invalid_argument("Cannot convert empty RegressionResults to JSON")
    values = [Raw(decimal_text(r.value, True)) for r in result.regressions]
    return write({"results": SingleLine(values)})


# ------------------------------------------------------------- client side


def _client_feature(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"b64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, list):
        return [_client_feature(v) for v in value]
    return value


def encode_examples_request(
    examples: list[dict[str, Any]],
    context: dict[str, Any] | None = None,
    signature_name: str | None = None,
) -> bytes:
    doc: dict[str, Any] = {}
    if signature_name:
        doc["signature_name"] = signature_name
    if context is not None:
        doc["context"] = {k: _client_feature(v) for k, v in context.items()}
    doc["examples"] = [{k: _client_feature(v) for k, v in e.items()} for e in examples]
    return orjson.dumps(doc)


def _results(body: bytes | str) -> list[Any]:
    doc = parse_json(body)
    if not isinstance(doc, dict) or "results" not in doc:
        message = doc.get("error") if isinstance(doc, dict) else None
        raise invalid_argument(str(message or f"Unexpected response: {debug_string(doc)}"))
    return doc["results"]


def decode_classification_response(body: bytes | str) -> list[list[tuple[str, float]]]:
    return [[(label, score) for label, score in row] for row in _results(body)]


def decode_regression_response(body: bytes | str) -> list[float]:
    return list(_results(body))
