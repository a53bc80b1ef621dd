"""JSON text laid out as TF Serving's writer (rapidjson ``PrettyWriter``) lays it out.

TF Serving writes every JSON answer with rapidjson's pretty writer: objects
break lines and indent by four spaces per level; arrays do the same, except in
"single-line array" mode, where elements follow each other after ``", "``.
TF Serving switches that mode on per row of a row-format answer, and for the
``JSON Value: ...`` quotes in its error messages (cut at 256 bytes).

:func:`write` takes plain values plus three markers: :class:`Raw` (number
text written as is), :class:`Block` (a numeric array rendered in one go by
orjson, then laid out) and :class:`SingleLine` (a value written in single-line
mode). Strings carrying undecodable bytes (``surrogateescape``) come out as
those raw bytes, as rapidjson copies string bytes unchecked.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

INDENT = b"    "


@dataclass(frozen=True)
class Raw:
    """Number text written verbatim (rapidjson ``RawValue``)."""

    text: str


@dataclass(frozen=True)
class Block:
    """A value orjson can serialise alone (an ndarray, lists with fragments)."""

    value: Any


@dataclass(frozen=True)
class SingleLine:
    """A value written in single-line array mode."""

    value: Any


class _Stop(Exception):
    """The byte limit was reached, or rapidjson's writer would refuse a value."""


_CONTROL_ESCAPE = re.compile(r"\\u00([01][0-9a-f])")


def string_token(text: str) -> bytes:
    """A JSON string as rapidjson escapes it: quotes, backslashes, control characters."""
    token = json.dumps(text, ensure_ascii=False)
    if "\\u00" in token:  # rapidjson writes the hex digits upper-case
        token = _CONTROL_ESCAPE.sub(lambda m: "\\u00" + m.group(1).upper(), token)
    return token.encode("utf-8", "surrogateescape")


_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_unicode(text: str) -> str:
    """``text`` with every lone surrogate (a byte that was not UTF-8, kept by
    ``surrogateescape``) replaced by U+FFFD, so that it encodes as valid UTF-8."""
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


def double_token(value: float) -> bytes:
    """A double as rapidjson's ``Writer::Double`` prints it (shortest digits)."""
    if math.isnan(value) or math.isinf(value):
        raise _Stop  # rapidjson's writer refuses non-finite doubles by default
    if value == 0:
        return b"-0.0" if math.copysign(1.0, value) < 0 else b"0.0"
    sign = "-" if value < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    assert isinstance(exponent, int)
    point = len(digits) + exponent
    length, kk = len(digits), point
    k = kk - length
    if k >= 0 and kk <= 21:
        text = digits + "0" * k + ".0"
    elif 0 < kk <= 21:
        text = digits[:kk] + "." + digits[kk:]
    elif -6 < kk <= 0:
        text = "0." + "0" * -kk + digits
    elif length == 1:
        text = f"{digits}e{kk - 1}"
    else:
        text = f"{digits[0]}.{digits[1:]}e{kk - 1}"
    return (sign + text).encode("ascii")


_INDENTED_LINE = re.compile(rb"\n( *)")


def render_block(value: Any, level: int, single_line: bool) -> bytes:
    """orjson's text of ``value`` laid out as rapidjson at nesting ``level``.

    orjson's two-space indentation is rapidjson's layout at half the width, so
    doubling every indent (and shifting by the level) gives rapidjson's text;
    single-line arrays are orjson's compact text with ``", "`` separators.
    Only for values without strings (numbers, booleans, fragments of number text).
    """
    option = orjson.OPT_SERIALIZE_NUMPY
    if single_line:
        return orjson.dumps(value, option=option).replace(b",", b", ")
    text = orjson.dumps(value, option=option | orjson.OPT_INDENT_2)
    return _INDENTED_LINE.sub(b"\n" + INDENT * level + rb"\1\1", text)


class _Writer:
    def __init__(self, limit: int | None, single_line: bool) -> None:
        self.parts: list[bytes] = []
        self.size = 0
        self.limit = limit
        self.single_line = single_line
        self.stack: list[list[Any]] = []  # [in_array, value_count] per open container

    def put(self, data: bytes) -> None:
        self.parts.append(data)
        self.size += len(data)

    def check(self) -> None:
        if self.limit is not None and self.size >= self.limit:
            raise _Stop

    def prefix(self) -> None:
        if not self.stack:
            return
        level = self.stack[-1]
        in_array, count = level
        if in_array:
            if count:
                self.put(b", " if self.single_line else b",")
            if not self.single_line:
                self.put(b"\n" + INDENT * len(self.stack))
        else:
            if count:
                self.put(b",\n" if count % 2 == 0 else b": ")
            else:
                self.put(b"\n")
            if count % 2 == 0:
                self.put(INDENT * len(self.stack))
        level[1] += 1

    def scalar(self, token: bytes) -> None:
        self.check()
        self.prefix()
        self.put(token)

    def value(self, value: Any) -> None:
        if isinstance(value, SingleLine):
            saved, self.single_line = self.single_line, True
            self.value(value.value)
            self.single_line = saved
        elif isinstance(value, str):
            self.scalar(string_token(value))
        elif isinstance(value, dict):
            self.container(value, False)
        elif isinstance(value, list):
            self.container(value, True)
        elif value is None:
            self.scalar(b"null")
        elif value is True or value is False:
            self.scalar(b"true" if value else b"false")
        elif isinstance(value, int):
            self.scalar(str(value).encode("ascii"))
        elif isinstance(value, float):
            self.check()
            self.prefix()  # rapidjson writes the separator before refusing NaN
            self.put(double_token(value))
        elif isinstance(value, Raw):
            self.scalar(value.text.encode("ascii"))
        elif isinstance(value, Block):
            self.check()
            self.prefix()
            self.put(render_block(value.value, len(self.stack), self.single_line))
        else:
            raise TypeError(f"cannot write {type(value).__name__} as JSON")

    def container(self, value: dict[str, Any] | list[Any], in_array: bool) -> None:
        self.check()
        self.prefix()
        self.put(b"[" if in_array else b"{")
        self.stack.append([in_array, 0])
        if in_array:
            for item in value:
                self.value(item)
        else:
            for key, item in value.items():  # type: ignore[union-attr]
                self.check()
                self.prefix()
                self.put(string_token(key))
                self.value(item)
        self.check()
        _, count = self.stack.pop()
        if count and (not in_array or not self.single_line):
            self.put(b"\n" + INDENT * len(self.stack))
        self.put(b"]" if in_array else b"}")


def write(value: Any, *, single_line: bool = False) -> bytes:
    """``value`` as TF Serving's pretty writer lays it out."""
    writer = _Writer(None, single_line)
    writer.value(value)
    return b"".join(writer.parts)


def debug_text(value: Any, max_bytes: int = 256) -> str:
    """A parsed JSON value quoted in an error, as TF Serving quotes it.

    Single-line arrays, pretty objects, cut once ``max_bytes`` are written (the
    token under way is finished; containers left open stay open).
    """
    writer = _Writer(max_bytes, True)
    with contextlib.suppress(_Stop, RecursionError):
        writer.value(value)
    return b"".join(writer.parts).decode("utf-8", "replace")
