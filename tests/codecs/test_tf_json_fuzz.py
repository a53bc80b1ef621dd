"""Random and malformed bodies: the decoders answer or raise INVALID_ARGUMENT, nothing else."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigserve.codecs import json_parser
from sigserve.codecs.examples_json import decode_examples_request
from sigserve.codecs.tf_json import decode_predict_request
from sigserve.errors import Code, ServingError
from sigserve.types import TensorInfo

SPECS = [
    {"x": TensorInfo("DT_FLOAT", (-1, 2))},
    {"a": TensorInfo("DT_INT64", (-1,)), "s": TensorInfo("DT_STRING", (-1,))},
    {"b": TensorInfo("DT_BOOL", None)},
    {"u": TensorInfo("DT_UINT8", None), "h": TensorInfo("DT_HALF", None)},
]
KEYS = ["instances", "inputs", "x", "a", "s", "b", "u", "h", "b64", "signature_name",
        "examples", "context"]  # fmt: skip

scalars = (
    st.none() | st.booleans() | st.floats() | st.text(max_size=4)
    | st.integers(-(2**70), 2**70) | st.sampled_from([2**63, 2**64 - 1, -(2**63) - 1, 2**64])
)  # fmt: skip
json_like = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)
    | st.builds(lambda v: {"b64": v}, st.text(max_size=6)),
    max_leaves=20,
)


def body_text(value: object) -> str:
    return json.dumps(value, allow_nan=True)  # NaN/Infinity as the bare literals


def only_invalid_argument(call) -> None:
    try:
        call()
    except ServingError as e:
        assert e.code in (Code.INVALID_ARGUMENT, Code.UNIMPLEMENTED), e
        assert e.message


@settings(max_examples=250, deadline=None)
@given(body=json_like, spec_index=st.integers(0, len(SPECS) - 1))
def test_random_documents(body: object, spec_index: int) -> None:
    spec = SPECS[spec_index]
    only_invalid_argument(lambda: decode_predict_request(body_text(body), lambda _: spec))
    only_invalid_argument(lambda: decode_examples_request(body_text(body)))


@settings(max_examples=200, deadline=None)
@given(inner=json_like, key=st.sampled_from(["instances", "inputs", "examples"]),
       spec_index=st.integers(0, len(SPECS) - 1))  # fmt: skip
def test_random_documents_under_the_right_keys(inner: object, key: str, spec_index: int) -> None:
    spec = SPECS[spec_index]
    body = body_text({key: inner})
    only_invalid_argument(lambda: decode_predict_request(body, lambda _: spec))
    only_invalid_argument(lambda: decode_examples_request(body))


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=64) | st.text(max_size=40).map(str.encode))
def test_random_bytes(raw: bytes) -> None:
    only_invalid_argument(lambda: decode_predict_request(raw, lambda _: SPECS[1]))
    only_invalid_argument(lambda: decode_examples_request(raw))


@settings(max_examples=200, deadline=None)
@given(body=json_like, cut=st.integers(0, 200), junk=st.binary(max_size=3))
def test_damaged_documents(body: object, cut: int, junk: bytes) -> None:
    raw = body_text({"instances": body}).encode()
    damaged = raw[:cut] + junk + raw[cut:]
    only_invalid_argument(lambda: decode_predict_request(damaged, lambda _: SPECS[0]))
    only_invalid_argument(lambda: decode_examples_request(damaged))


@settings(max_examples=200, deadline=None)
@given(value=st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(-(2**63), 2**64 - 1) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner,
                                                                 max_size=3),
    max_leaves=20,
))  # fmt: skip
def test_fallback_parser_reads_what_orjson_reads(value: object) -> None:
    raw = orjson.dumps(value)
    assert json_parser.parse(raw) == orjson.loads(raw)


@pytest.mark.parametrize("depth", [70, 1100, 100_000])
@pytest.mark.parametrize(
    "template",
    ['{"inputs": %s}', '{"inputs": [1, %s]}', '{"instances": [{"x": %s}]}',
     '{"signature_name": %s}', '{"instances": [[1, 2], %s]}', '{"examples": [{"f": %s}]}',
     '{"context": %s, "examples": [{}]}', '%s'],
)  # fmt: skip
def test_deep_nesting(depth: int, template: str) -> None:
    body = template % ("[" * depth + "]" * depth)
    only_invalid_argument(lambda: decode_predict_request(body, lambda _: SPECS[0]))
    only_invalid_argument(lambda: decode_examples_request(body))
    unclosed = template % ("[" * depth)
    with pytest.raises(ServingError, match="JSON Parse error"):
        decode_predict_request(unclosed, lambda _: SPECS[0])


@pytest.mark.parametrize(
    "number", ["1e400", "-1e400", "1" * 400, "18446744073709551616", "-9223372036854775809",
               "1e-400", "-0", "0.0e0"],
)  # fmt: skip
def test_huge_and_odd_numbers(number: str) -> None:
    for spec in SPECS:
        only_invalid_argument(
            lambda spec=spec: decode_predict_request(f'{{"inputs": [{number}]}}', lambda _: spec)
        )
    only_invalid_argument(lambda: decode_examples_request(f'{{"examples": [{{"f": {number}}}]}}'))
