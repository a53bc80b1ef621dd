"""The fallback parser reads and refuses what rapidjson (TF Serving's parser) does."""

from __future__ import annotations

import math

import pytest

from sigserve.codecs.json_parser import ParseError, parse
from sigserve.codecs.json_values import parse_json
from sigserve.errors import ServingError


def test_reads_nan_infinity_and_their_short_forms() -> None:
    value = parse(b'[NaN, -NaN, Inf, -Inf, Infinity, -Infinity, 1.5e3, -0, 7]')
    assert math.isnan(value[0]) and math.isnan(value[1])
    assert value[2:6] == [math.inf, -math.inf, math.inf, -math.inf]
    assert value[6:] == [1500.0, 0, 7]


def test_big_integers_become_doubles_as_in_rapidjson() -> None:
    assert parse(b"[18446744073709551615, -9223372036854775808]") == [2**64 - 1, -(2**63)]
    assert parse(b"[18446744073709551616]") == [float(2**64)]


def test_strings_escapes_raw_bytes_and_bom() -> None:
    assert parse(b'"a\\u00e9\\ud83d\\ude00\\n\\/"') == "a\u00e9\U0001f600\n/"
    assert parse(b'["\xff\xfe"]')[0].encode("utf-8", "surrogateescape") == b"\xff\xfe"
    assert parse(b"\xef\xbb\xbf[1]") == [1]


def test_stops_after_the_document() -> None:
    assert parse(b'{"a": 1} trailing [') == {"a": 1}
    assert parse(b"[1]\x00[") == [1]


@pytest.mark.parametrize(
    ("body", "reason", "offset"),
    [
        (b"", "The document is empty.", 0),
        (b"  ", "The document is empty.", 2),
        (b"}", "The document is empty.", 0),
        (b"{", "Missing a name for object member.", 1),
        (b'{"a":1,}', "Missing a name for object member.", 7),
        (b'{"a" 1}', "Missing a colon after a name of object member.", 5),
        (b'{"a": 1 "b"}', "Missing a comma or '}' after an object member.", 8),
        (b"[1,2}", "Missing a comma or ']' after an array element.", 4),
        (b"[1,]", "Invalid value.", 3),
        (b"[tru]", "Invalid value.", 4),
        (b"[-]", "Invalid value.", 2),
        (b"[NaX]", "Invalid value.", 3),
        (b"[Infinit]", "Invalid value.", 8),
        (b"[1.]", "Miss fraction part in number.", 3),
        (b"[1e+]", "Miss exponent in number.", 4),
        (b"[1e400]", "Number too big to be stored in double.", 1),
        (b'["\\x"]', "Invalid escape character in string.", 2),
        (b'["\\u12G4"]', "Incorrect hex digit after \\u escape in string.", 2),
        (b'["\\ud800"]', "The surrogate pair in string is invalid.", 2),
        (b'["\\udc00"]', "The surrogate pair in string is invalid.", 2),
        (b'["a\x01"]', "Invalid encoding in string.", 3),
        (b'["abc', "Missing a closing quotation mark in string.", 5),
    ],
)
def test_errors_word_and_place_as_rapidjson(body: bytes, reason: str, offset: int) -> None:
    with pytest.raises(ParseError) as e:
        parse(body)
    assert (e.value.reason, e.value.offset) == (reason, offset)
    with pytest.raises(ServingError) as served:
        parse_json(body or b" ")
    assert served.value.message.startswith("JSON Parse error: ")


def test_empty_body_message_is_tf_servings_own() -> None:
    with pytest.raises(ServingError) as e:
        parse_json(b"")
    assert e.value.message == "JSON Parse error: The document is empty"
