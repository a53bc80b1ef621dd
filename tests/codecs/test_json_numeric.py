"""Large number arrays read ahead of the document (json_numeric) against the usual reading.

Every body is decoded twice: by ``decode_predict_request`` (which reads large
number arrays ahead where it can) and by the usual path alone (the read-ahead
switched off). Both must give the same dtype, shape and bytes, or the same
error code and text. Regular arrays must also really take the read-ahead path.
The size thresholds are lowered so that small generated bodies take it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sigserve.codecs import json_numeric, tf_json
from sigserve.errors import ServingError
from sigserve.types import TensorInfo

FLOATS = ["DT_FLOAT", "DT_DOUBLE", "DT_HALF", "DT_BFLOAT16"]
INTS = ["DT_INT8", "DT_INT16", "DT_INT32", "DT_INT64", "DT_UINT8", "DT_UINT16", "DT_UINT32",
        "DT_UINT64"]  # fmt: skip
OTHERS = ["DT_STRING", "DT_BOOL", "DT_COMPLEX64"]

PROPERTY = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@pytest.fixture(scope="module", autouse=True)
def small_thresholds() -> Iterator[None]:
    """Small bodies and arrays take the read-ahead; tiny chunks exercise their joining."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(json_numeric, "MIN_BODY", 0)
        patch.setattr(json_numeric, "MIN_ARRAY", 1)
        patch.setattr(json_numeric, "_BLOCK", 1)
        patch.setattr(json_numeric, "_STRIDE", 1)
        patch.setattr(json_numeric, "_CHUNK", 8)
        yield


Infos = dict[str, TensorInfo]


def outcome(decode: Callable[[], tf_json.PredictRequest]) -> tuple[Any, ...]:
    try:
        request = decode()
    except ServingError as e:
        return ("error", e.code, e.message)
    arrays = {
        name: (str(array.dtype), array.shape, array.tobytes())
        for name, array in request.inputs.items()
    }
    return ("ok", request.signature_name, request.format, arrays)


def usual(body: bytes, infos: Infos) -> tuple[Any, ...]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tf_json, "read_with_arrays_ahead", lambda _: None)
        return outcome(lambda: tf_json.decode_predict_request(body, lambda _: infos))


def ours(body: bytes, infos: Infos) -> tuple[Any, ...]:
    return outcome(lambda: tf_json.decode_predict_request(body, lambda _: infos))


def read_ahead_only(body: bytes, infos: Infos) -> tuple[Any, ...]:
    """The read-ahead reading alone, required to succeed with every array used."""
    ahead = json_numeric.read_with_arrays_ahead(body)
    assert ahead is not None, body[:200]
    result = outcome(lambda: tf_json._predict_request(ahead.doc, lambda _: infos, False,
                                                      ahead.arrays))  # fmt: skip
    assert result[0] == "ok", result
    assert ahead.arrays.all_taken()
    return result


# -- number spellings ----------------------------------------------------------------------

digits = st.text("0123456789", min_size=1, max_size=20)
small_ints = st.integers(-300, 300).map(str)
json_ints = st.one_of(
    small_ints,
    st.integers(-(2**64), 2**65).map(str),
    st.sampled_from(["-0", "0", str(2**53 + 1), str(2**63 - 1), str(2**63), str(2**64 - 1),
                     str(2**64), str(-(2**63)), str(-(2**63) - 1), "1" + "0" * 25]),
)  # fmt: skip
finite_floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
    st.floats(-1, 1).map(lambda v: f"{v:.3f}"),
    st.builds(lambda sign, whole, frac: f"{sign}{int(whole)}.{frac}",
              st.sampled_from(["", "-"]), digits, digits),
    st.builds(lambda mant, e, sign, exp: f"{mant}{e}{sign}{exp}",
              st.one_of(small_ints, st.floats(-10, 10).map(repr)), st.sampled_from("eE"),
              st.sampled_from(["", "+", "-"]), st.one_of(st.integers(0, 400).map(str),
                                                          st.just("007"))),
    st.sampled_from(["-0.0", "0.0", "1e-400", "4.9e-324", "2.5e-324", "1.7976931348623157e308",
                     "65504", "65520", "3.4028235e38", "3.4028236e38", "1E+2", "0e0", "-0E-0",
                     "0.1000000000000000055511151231257827", "123456789012345678901234567890"]),
)  # fmt: skip
json_floats = st.one_of(
    finite_floats, st.sampled_from(["1e400", "-1e400", "1.7976931348623159e308", "1e99999"])
)
not_json = st.sampled_from(["+1", ".5", "1.", "01", "-01", "1e", "1e+", "-", "--1", "1.2.3",
                            "1e5e3", "NaN", "Infinity", "-Infinity", "0x10", "1_0", "true",
                            '"1"', "null", "1 2", "", "[]", "{}", "1,"])  # fmt: skip
int_numbers = json_ints
any_numbers = st.one_of(json_ints, json_floats)
# what the read-ahead takes: integers of int64, numbers of a double
read_ahead_numbers = st.one_of(small_ints, st.integers(-(2**63), 2**63 - 1).map(str), finite_floats)

shapes = st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple)
spaces = st.sampled_from(["", "", "", " ", "\n", "\t ", "\r\n  "])


@st.composite
def array_text(draw: st.DrawFn, shape: tuple[int, ...], numbers: st.SearchStrategy[str]) -> str:
    """A regular array of ``shape`` written with random numbers and random whitespace."""
    def write(level: int) -> str:
        if level == len(shape):
            return draw(spaces) + draw(numbers) + draw(spaces)
        items = [write(level + 1) for _ in range(shape[level])]
        return draw(spaces) + "[" + ",".join(items) + "]" + draw(spaces)

    return write(0)


def float_numbers_for(dtype: str) -> st.SearchStrategy[str]:
    return int_numbers if dtype in INTS else any_numbers


# -- regular arrays: the read-ahead is taken and agrees bit for bit ------------------------


@st.composite
def regular_request(draw: st.DrawFn) -> tuple[bytes, Infos]:
    layout = draw(st.sampled_from(["columnar", "columnar named", "row", "row objects"]))
    names = ["a"] if layout in ("columnar", "row") else draw(
        st.lists(st.sampled_from(["a", "b", "image", "z"]), min_size=1, max_size=3, unique=True)
    )  # fmt: skip
    infos: Infos = {}
    values: dict[str, Any] = {}
    batch = draw(st.integers(1, 3))
    for name in names:
        dtype = draw(st.sampled_from(FLOATS + INTS))
        shape = draw(shapes)
        infos[name] = TensorInfo(dtype, None)
        # small in-range ints for int dtypes, so that most arrays decode
        numbers = st.integers(0, 100).map(str) if dtype in INTS else read_ahead_numbers
        if layout == "row objects":
            values[name] = [draw(array_text(shape, numbers)) for _ in range(batch)]
        else:
            values[name] = draw(array_text(shape, numbers))
    if layout == "columnar":
        payload = '"inputs":' + values["a"]
    elif layout == "row":
        payload = '"instances":' + values["a"]
    elif layout == "columnar named":
        payload = '"inputs": {' + ", ".join(f'"{k}": {v}' for k, v in values.items()) + "}"
    else:
        rows = [
            "{" + ", ".join(f'"{k}":{values[k][i]}' for k in names) + "}" for i in range(batch)
        ]
        payload = '"instances": [' + ",".join(rows) + "]"
    signature = draw(st.sampled_from(["", '"signature_name": "serving_default"']))
    parts = [payload, signature] if draw(st.booleans()) else [signature, payload]
    return ("{" + ", ".join(p for p in parts if p) + "}").encode(), infos


@PROPERTY
@given(regular_request())
def test_regular_arrays_are_read_ahead_and_agree(case: tuple[bytes, Infos]) -> None:
    body, infos = case
    expected = usual(body, infos)
    assume(expected[0] == "ok")  # out-of-range numbers: see the irregular tests
    assert read_ahead_only(body, infos) == expected
    assert ours(body, infos) == expected


@PROPERTY
@given(st.data(), st.sampled_from(FLOATS + INTS), shapes)
def test_every_spelling_of_numbers_agrees(data: st.DataObject, dtype: str, shape: tuple) -> None:
    """Big and negative ints, -0, long mantissas, exponents, overflow: the same as usual."""
    text = data.draw(array_text(shape, float_numbers_for(dtype) | json_floats))
    body = ('{"inputs": ' + text + "}").encode()
    infos = {"x": TensorInfo(dtype, None)}
    assert ours(body, infos) == usual(body, infos)


# -- irregular arrays and invalid JSON: the usual reading decides --------------------------

MUTATIONS = ["[", "]", ",", " ", "1", "-", "+", ".", "e", "0", '"', "true", "null", "{}", "[]",
             '"x"', "NaN"]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()) and at < len(text):  # delete or replace one character
            text = text[:at] + draw(st.sampled_from(["", *MUTATIONS])) + text[at + 1 :]
        else:
            text = text[:at] + draw(st.sampled_from(MUTATIONS)) + text[at:]
    return text


@st.composite
def irregular_request(draw: st.DrawFn) -> tuple[bytes, Infos]:
    dtype = draw(st.sampled_from(FLOATS + INTS + OTHERS))
    shape = draw(shapes)
    numbers = st.one_of(float_numbers_for(dtype), not_json) if draw(st.booleans()) else (
        float_numbers_for(dtype)
    )  # fmt: skip
    text = draw(array_text(shape, numbers))
    if draw(st.booleans()):
        text = draw(mutated(text))
    second = draw(array_text(draw(shapes), any_numbers))
    template = draw(st.sampled_from([
        '{"inputs": %s}',
        '{"instances": %s}',
        '{"inputs": {"x": %s, "y": %s}}',
        '{"instances": [{"x": %s, "y": %s}, {"x": %s, "y": %s}]}',
        '{"instances": [{"x": %s}, {"x": %s}]}',
        '{"instances": [%s, %s]}',
        '{"instances": [{"x": 1}, %s]}',
        '{"signature_name": %s, "inputs": %s}',
        '{"inputs": %s, "inputs": %s}',
        '{"inputs": "%s"}',
        '{%s: 1, "inputs": %s}',
        '{"inputs": {"x": %s}, "extra": %s}',
        '{"inputs": %s, "instances": %s}',
        '[%s, %s]',
    ]))  # fmt: skip
    fills = [text if i % 2 == 0 else second for i in range(template.count("%s"))]
    body = (template % tuple(fills)).encode()
    two = draw(st.booleans())
    infos = {"x": TensorInfo(dtype, None)}
    if two:
        infos["y"] = TensorInfo(draw(st.sampled_from(FLOATS + INTS + OTHERS)), None)
    return body, infos


@PROPERTY
@given(irregular_request())
def test_irregular_and_invalid_bodies_agree(case: tuple[bytes, Infos]) -> None:
    body, infos = case
    assert ours(body, infos) == usual(body, infos)


@PROPERTY
@given(st.sampled_from(FLOATS + INTS + OTHERS), shapes, st.data())
def test_valid_arrays_where_no_numbers_are_expected_agree(
    dtype: str, shape: tuple, data: st.DataObject
) -> None:
    """An array as signature name, as an unknown key, twice under one key, in a string..."""
    text = data.draw(array_text(shape, read_ahead_numbers))
    template = data.draw(st.sampled_from([
        '{"signature_name": %s, "inputs": %s}',
        '{"inputs": %s, "inputs": %s}',
        '{"instances": %s, "instances": %s}',
        '{"inputs": {"x": %s, "x": %s}}',
        '{"inputs": {"x": %s}, "extra": %s}',
        '{"inputs": %s, "instances": %s}',
        '{"instances": [{"x": %s}, {"x": %s, "y": 1}]}',
        '{"instances": [{"x": %s}, %s]}',
        '{"instances": [%s, {"x": %s}]}',
        '{"inputs": {"b64": %s}}',
        '{"inputs": [{"b64": %s}]}',
        '{"inputs": ["%s"]}',
        '{%s: 1, "inputs": [1]}',
        '[%s, %s]',
        '%s',
        '{"inputs": %s} %s',
    ]))  # fmt: skip
    body = (template % ((text,) * template.count("%s"))).encode()
    infos = {"x": TensorInfo(dtype, None)}
    assert ours(body, infos) == usual(body, infos)


@PROPERTY
@given(st.sampled_from(FLOATS + INTS), shapes.filter(lambda s: len(s) > 1), st.data())
def test_a_number_on_the_wrong_side_of_a_bracket_is_an_error(
    dtype: str, shape: tuple, data: st.DataObject
) -> None:
    """``[[1,2]3,...]`` keeps the commas and brackets of a regular array, but is no JSON."""
    text = data.draw(array_text(shape, st.integers(0, 9).map(str)))
    moves = [m.start() for m in re.finditer(r"\d\s*\]", text)]
    moves += [-m.start() - 1 for m in re.finditer(r"\[\s*\d", text)]
    at = data.draw(st.sampled_from(moves))
    if at >= 0:  # "1]" -> "]1"
        text = text[:at] + text[at + 1 : text.index("]", at) + 1] + text[at] + text[
            text.index("]", at) + 1 :]
    else:  # "[1" -> "1["
        at = -at - 1
        digit = re.search(r"\d", text[at:]).start() + at  # type: ignore[union-attr]
        text = text[:at] + text[digit] + text[at:digit] + text[digit + 1 :]
    body = ('{"inputs": ' + text + "}").encode()
    infos = {"x": TensorInfo(dtype, None)}
    expected = usual(body, infos)
    assert expected[0] == "error"
    assert ours(body, infos) == expected


@PROPERTY
@given(st.sampled_from(FLOATS + INTS), shapes, st.integers(1, 4), st.data())
def test_rows_of_different_shapes_agree(
    dtype: str, shape: tuple, batch: int, data: st.DataObject
) -> None:
    """Row objects whose arrays differ in shape: TF Serving's shape error, as usual."""
    texts = [data.draw(array_text(data.draw(st.sampled_from([shape, (*shape, 2), (2, *shape)])),
                                  float_numbers_for(dtype))) for _ in range(batch)]  # fmt: skip
    rows = ",".join(f'{{"x": {text}}}' for text in texts)
    body = ('{"instances": [' + rows + "]}").encode()
    infos = {"x": TensorInfo(dtype, None)}
    assert ours(body, infos) == usual(body, infos)


def test_bools_anywhere_keep_the_usual_reading() -> None:
    body = b'{"inputs": {"x": [[1.5, 2.5, 3.5]], "b": [true]}}'
    infos = {"x": TensorInfo("DT_HALF", None), "b": TensorInfo("DT_BOOL", None)}
    assert json_numeric.read_with_arrays_ahead(body) is not None  # the arrays alone would be
    assert ours(body, infos) == usual(body, infos)
    assert ours(body, infos)[0] == "ok"


# -- real sizes, real thresholds -----------------------------------------------------------


REAL = {
    name: getattr(json_numeric, name)
    for name in ("MIN_BODY", "MIN_ARRAY", "_BLOCK", "_STRIDE", "_CHUNK")
}  # read at import, before the module's fixture lowers them


@pytest.fixture
def real_thresholds() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in REAL.items():
            patch.setattr(json_numeric, name, value)
        yield


def image_body(rng: np.random.Generator, layout: str, batch: int = 1) -> bytes:
    images = rng.random((batch, 64, 64, 3)).round(3)
    if layout == "instances":
        return json.dumps({"instances": images.tolist()}).encode()
    if layout == "objects":
        rows = [{"image": image.tolist(), "id": i} for i, image in enumerate(images)]
        return json.dumps({"signature_name": "serving_default", "instances": rows}).encode()
    return json.dumps({"inputs": {"image": images.astype(np.float32).tolist(), "id": 7}}).encode()


@pytest.mark.parametrize("layout", ["instances", "objects", "inputs"])
@pytest.mark.parametrize("dtype", ["DT_FLOAT", "DT_HALF", "DT_BFLOAT16", "DT_DOUBLE"])
def test_images_at_real_size_are_read_ahead(
    real_thresholds: None, layout: str, dtype: str
) -> None:
    body = image_body(np.random.default_rng(7), layout, batch=2)
    assert len(body) > json_numeric.MIN_BODY
    infos = {"image": TensorInfo(dtype, (-1, 64, 64, 3))}
    if layout in ("objects", "inputs"):
        infos["id"] = TensorInfo("DT_INT64", (-1,))
    expected = usual(body, infos)
    assert expected[0] == "ok"
    assert read_ahead_only(body, infos) == expected
    assert ours(body, infos) == expected


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b.replace(b"]], [[", b"]], [[0.5], [", 1), "Encountered list at unexpected"),
        (lambda b: b.replace(b", ", b", .", 1), "JSON Parse error"),
        (lambda b: b.replace(b", ", b", NaN, ", 1), "Encountered list at unexpected size"),
        (lambda b: b.replace(b", ", b', "x", ', 1), "is not of expected type: float"),
        (lambda b: b.replace(b"[[[[", b'{"a": [[[[', 1) + b"}", "to be an list/array"),
        (lambda b: b.replace(b"[[[[", b"[[[[[", 1), "JSON Parse error"),
        (lambda b: b.replace(b"]]]]", b"]]]]]", 1), "JSON Parse error"),
        (lambda b: b.replace(b"[[[[", b"[[[[]", 1), "JSON Parse error"),
    ],
)
def test_errors_in_large_bodies_keep_their_text(
    real_thresholds: None, mutate: Callable[[bytes], bytes], message: str
) -> None:
    body = mutate(image_body(np.random.default_rng(3), "instances"))
    infos = {"image": TensorInfo("DT_FLOAT", (-1, 64, 64, 3))}
    expected = usual(body, infos)
    assert expected[0] == "error" and message in expected[2], expected
    assert ours(body, infos) == expected


def test_int_out_of_range_and_floats_for_ints_keep_their_text(real_thresholds: None) -> None:
    rng = np.random.default_rng(5)
    values = rng.integers(0, 255, (1, 64, 64, 3))
    for body, dtype in [
        (json.dumps({"instances": values.tolist()}).encode(), "DT_INT8"),
        (json.dumps({"instances": (values + 0.5).tolist()}).encode(), "DT_INT32"),
        (json.dumps({"instances": values.tolist()}).encode(), "DT_STRING"),
    ]:
        infos = {"x": TensorInfo(dtype, None)}
        expected = usual(body, infos)
        assert expected[0] == "error", expected
        assert ours(body, infos) == expected
    body = json.dumps({"instances": values.tolist()}).encode()
    infos = {"x": TensorInfo("DT_UINT8", None)}
    assert read_ahead_only(body, infos) == usual(body, infos)


def test_an_array_inside_a_string_or_as_a_key_is_not_read(real_thresholds: None) -> None:
    numbers = json.dumps(np.random.default_rng(1).random(5000).round(4).tolist())
    infos = {"x": TensorInfo("DT_STRING", None)}
    for body in [
        ('{"inputs": "' + numbers + '"}').encode(),
        ('{"inputs": ["' + numbers + '"]}').encode(),
        ("{" + numbers + ': 1, "inputs": ["a"]}').encode(),
        ('{"signature_name": ' + numbers + ', "inputs": ["a"]}').encode(),
    ]:
        assert ours(body, infos) == usual(body, infos)


def test_layout_of_shapes() -> None:
    for shape in [(1,), (3,), (2, 3), (1, 1, 1), (4, 1, 2, 5)]:
        text = json.dumps(np.zeros(shape, dtype=int).tolist(), separators=(",", ":"))
        layout = text.encode().translate(None, b"0")
        assert json_numeric._shape(layout) == shape
        assert json_numeric._layout(shape) == layout
    for ragged in [b"[[,],[]]", b"[[,],[,,]]", b"[[]]]", b"[[],", b"]", b"", b"[[,]"]:
        shape = json_numeric._shape(ragged)
        assert shape is None or json_numeric._layout(shape) != ragged
