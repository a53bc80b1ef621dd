"""The writer lays JSON out as rapidjson's PrettyWriter does in TF Serving."""

from __future__ import annotations

import numpy as np
import pytest

from sigserve.codecs.json_floats import decimal_text, json_float_value
from sigserve.codecs.json_writer import Block, Raw, SingleLine, debug_text, double_token, write


@pytest.mark.parametrize(
    ("value", "text"),
    [(1.0, "1.0"), (0.1, "0.1"), (-2.5, "-2.5"), (100.0, "100.0"), (1e21, "1e21"),
     (1e-6, "0.000001"), (1.5e-7, "1.5e-7"), (1.234e33, "1.234e33"), (-0.0, "-0.0")],
)  # fmt: skip
def test_doubles_as_rapidjson_prints_them(value: float, text: str) -> None:
    assert double_token(value) == text.encode()


def test_pretty_objects_and_single_line_arrays() -> None:
    assert write({"a": [1, {"b": None}], "c": "q\"\x01"}) == (
        b'{\n    "a": [\n        1,\n        {\n            "b": null\n        }\n    ],\n'
        b'    "c": "q\\"\\u0001"\n}'
    )
    assert write({"a": SingleLine([1, [True, False], Raw("1e+06")])}) == (
        b'{\n    "a": [1, [true, false], 1e+06]\n}'
    )
    assert write({"a": Block(np.arange(2))}) == write({"a": [0, 1]})
    assert write({"a": SingleLine(Block(np.arange(4).reshape(2, 2)))}) == (
        b'{\n    "a": [[0, 1], [2, 3]]\n}'
    )


def test_debug_text_stops_near_256_bytes_and_never_recurses_deeply() -> None:
    text = debug_text(list(range(1000)))
    assert text.startswith("[0, 1, 2") and 256 <= len(text) < 262 and not text.endswith("]")
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert debug_text(deep) == "[" * 256
    assert debug_text([1, float("nan")]) == "[1, "  # rapidjson's writer refuses NaN


def test_float_text_as_tf_serving() -> None:
    assert decimal_text(0.1, False) == "0.1"
    assert decimal_text(1 / 3, False) == "0.33333333333333331"
    assert decimal_text(float(np.float32(0.1)), True) == "0.1"
    assert decimal_text(float(np.float32(1 / 3)), True) == "0.333333343"
    assert decimal_text(9e6, True) == "9e+06"
    assert decimal_text(float("-inf"), True) == "-Infinity"
    values = np.array([0.5, 1 / 3, 1e7, np.nan, 2.0], np.float64)
    assert write(SingleLine(Block(json_float_value(values)))) == (
        b"[0.5, 0.33333333333333331, 1e+07, NaN, 2.0]"
    )
