"""JSON read as TF Serving reads it: rapidjson's iterative parser, in Python.

TF Serving parses request bodies with rapidjson (iterative, ``NaN``/``Inf``
allowed, stop after the first value). That parser takes documents stricter
parsers refuse (``NaN``, ``-Inf``, ``Infinity``, nesting a million lists deep,
text after the document, raw non-UTF-8 bytes in strings) and words its
refusals its own way ("Missing a comma or ']' after an array element." at a
byte offset). :func:`parse` is the slow, faithful path, used when orjson
refuses a body. Strings holding bytes that are not UTF-8 come back with those
bytes as ``surrogateescape`` code points, so the bytes survive unchanged.
"""

from __future__ import annotations

import re
from typing import Any

_WHITESPACE = re.compile(rb"[ \t\n\r]*")
_DIGITS = re.compile(rb"[0-9]*")
_PLAIN_CHARS = re.compile(rb'[^"\\\x00-\x1f]*')
_HEX4 = re.compile(rb"[0-9a-fA-F]{4}")
_ESCAPES = {ord(k): v for k, v in zip('"\\/bfnrt', '"\\/\b\f\n\r\t', strict=False)}

INT64_MIN, UINT64_MAX = -(2**63), 2**64 - 1


class ParseError(Exception):
    """rapidjson's English message for a parse error, and its byte offset."""

    def __init__(self, reason: str, offset: int) -> None:
        super().__init__(f"{reason} at offset: {offset}")
        self.reason, self.offset = reason, offset


EMPTY = "The document is empty."
VALUE_INVALID = "Invalid value."
MISS_NAME = "Missing a name for object member."
MISS_COLON = "Missing a colon after a name of object member."
MISS_COMMA_CURLY = "Missing a comma or '}' after an object member."
MISS_COMMA_BRACKET = "Missing a comma or ']' after an array element."
BAD_HEX = "Incorrect hex digit after \\u escape in string."
BAD_SURROGATE = "The surrogate pair in string is invalid."
BAD_ESCAPE = "Invalid escape character in string."
MISS_QUOTE = "Missing a closing quotation mark in string."
BAD_ENCODING = "Invalid encoding in string."
TOO_BIG = "Number too big to be stored in double."
MISS_FRACTION = "Miss fraction part in number."
MISS_EXPONENT = "Miss exponent in number."

# After a value, in an object / in an array; and the error each state reports
# when it meets a token it cannot take (rapidjson's HandleError).
_VALUE_STATES = {"start", "after_colon", "array_start", "after_comma"}
_STATE_ERROR = {
    "start": EMPTY,
    "object_start": MISS_NAME,
    "after_member_comma": MISS_NAME,
    "after_key": MISS_COLON,
    "after_member": MISS_COMMA_CURLY,
    "after_colon": VALUE_INVALID,
    "array_start": VALUE_INVALID,
    "after_comma": VALUE_INVALID,
    "after_element": MISS_COMMA_BRACKET,
}


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        for bom in (0xEF, 0xBB, 0xBF):  # rapidjson's UTF-8 stream skips a BOM
            if self.peek() == bom:
                self.pos += 1

    def peek(self) -> int:
        return self.data[self.pos] if self.pos < len(self.data) else 0

    def consume(self, char: str) -> bool:
        if self.peek() == ord(char):
            self.pos += 1
            return True
        return False

    def literal(self, word: str, value: Any) -> Any:
        self.pos += 1
        for char in word[1:]:
            if not self.consume(char):
                raise ParseError(VALUE_INVALID, self.pos)
        return value

    def string(self) -> str:
        self.pos += 1  # the opening quote
        parts: list[str] = []
        data = self.data
        while True:
            match = _PLAIN_CHARS.match(data, self.pos)
            assert match is not None
            if match.end() > self.pos:
                parts.append(data[self.pos : match.end()].decode("utf-8", "surrogateescape"))
                self.pos = match.end()
            char = self.peek()
            if char == ord('"'):
                self.pos += 1
                return "".join(parts)
            if char == ord("\\"):
                parts.append(self.escape())
            elif char == 0:
                raise ParseError(MISS_QUOTE, self.pos)
            else:
                raise ParseError(BAD_ENCODING, self.pos)

    def escape(self) -> str:
        start = self.pos
        self.pos += 1
        char = self.peek()
        if char in _ESCAPES:
            self.pos += 1
            return _ESCAPES[char]
        if char != ord("u"):
            raise ParseError(BAD_ESCAPE, start)
        self.pos += 1
        code = self.hex4(start)
        if 0xD800 <= code <= 0xDBFF:
            if not (self.consume("\\") and self.consume("u")):
                raise ParseError(BAD_SURROGATE, start)
            low = self.hex4(start)
            if not 0xDC00 <= low <= 0xDFFF:
                raise ParseError(BAD_SURROGATE, start)
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        elif 0xDC00 <= code <= 0xDFFF:
            raise ParseError(BAD_SURROGATE, start)
        return chr(code)

    def hex4(self, escape_start: int) -> int:
        match = _HEX4.match(self.data, self.pos)
        if match is None:
            raise ParseError(BAD_HEX, escape_start)
        self.pos = match.end()
        return int(match.group(), 16)

    def number(self) -> Any:
        start = self.pos
        minus = self.consume("-")
        char = self.peek()
        if char == ord("0"):
            self.pos += 1
        elif ord("1") <= char <= ord("9"):
            self.pos = _DIGITS.match(self.data, self.pos).end()  # type: ignore[union-attr]
        elif char in (ord("N"), ord("I")):
            return self.special(minus)
        else:
            raise ParseError(VALUE_INVALID, self.pos)
        is_float = False
        if self.consume("."):
            if not ord("0") <= self.peek() <= ord("9"):
                raise ParseError(MISS_FRACTION, self.pos)
            self.pos = _DIGITS.match(self.data, self.pos).end()  # type: ignore[union-attr]
            is_float = True
        if self.consume("e") or self.consume("E"):
            if not self.consume("+"):
                self.consume("-")
            if not ord("0") <= self.peek() <= ord("9"):
                raise ParseError(MISS_EXPONENT, self.pos)
            self.pos = _DIGITS.match(self.data, self.pos).end()  # type: ignore[union-attr]
            is_float = True
        text = self.data[start : self.pos]
        if not is_float:
            value = int(text)
            if INT64_MIN <= value <= UINT64_MAX:
                return value
        result = float(text)
        if result in (float("inf"), float("-inf")):
            raise ParseError(TOO_BIG, start)
        return result

    def special(self, minus: bool) -> float:
        if self.consume("N"):
            if self.consume("a") and self.consume("N"):
                return float("nan")
            raise ParseError(VALUE_INVALID, self.pos)
        self.pos += 1  # "I"
        if not (self.consume("n") and self.consume("f")):
            raise ParseError(VALUE_INVALID, self.pos)
        if self.peek() == ord("i") and not all(self.consume(c) for c in "inity"):
            raise ParseError(VALUE_INVALID, self.pos)
        return float("-inf") if minus else float("inf")

    def skip_whitespace(self) -> None:
        self.pos = _WHITESPACE.match(self.data, self.pos).end()  # type: ignore[union-attr]


def parse(data: bytes) -> Any:
    """The first JSON value in ``data``, as rapidjson reads it; else :class:`ParseError`."""
    reader = _Reader(data)
    stack: list[Any] = []  # open containers; objects keep their pending key
    keys: list[str] = []
    state = "start"
    root: Any = None

    def finish(value: Any) -> str:
        nonlocal root
        if not stack:
            root = value
            return "done"
        parent = stack[-1]
        if isinstance(parent, list):
            parent.append(value)
            return "after_element"
        parent[keys.pop()] = value
        return "after_member"

    while True:
        reader.skip_whitespace()
        char = reader.peek()
        if char == 0:
            raise ParseError(_STATE_ERROR[state], reader.pos)
        if state in _VALUE_STATES:
            if char == ord("{"):
                reader.pos += 1
                stack.append({})
                state = "object_start"
                continue
            if char == ord("["):
                reader.pos += 1
                stack.append([])
                state = "array_start"
                continue
            if char == ord("]") and state == "array_start":
                reader.pos += 1
                state = finish(stack.pop())
            elif char in b"]}:,":
                raise ParseError(_STATE_ERROR[state], reader.pos)
            elif char == ord('"'):
                state = finish(reader.string())
            elif char == ord("t"):
                state = finish(reader.literal("true", True))
            elif char == ord("f"):
                state = finish(reader.literal("false", False))
            elif char == ord("n"):
                state = finish(reader.literal("null", None))
            else:
                state = finish(reader.number())
            if state == "done":
                return root
        elif state in ("object_start", "after_member_comma"):
            if char == ord('"'):
                keys.append(reader.string())
                state = "after_key"
            elif char == ord("}") and state == "object_start":
                reader.pos += 1
                state = finish(stack.pop())
                if state == "done":
                    return root
            else:
                raise ParseError(MISS_NAME, reader.pos)
        elif state == "after_key":
            if not reader.consume(":"):
                raise ParseError(MISS_COLON, reader.pos)
            state = "after_colon"
        else:  # after_member / after_element
            closer = "}" if state == "after_member" else "]"
            if reader.consume(","):
                state = "after_member_comma" if closer == "}" else "after_comma"
            elif reader.consume(closer):
                state = finish(stack.pop())
                if state == "done":
                    return root
            else:
                raise ParseError(_STATE_ERROR[state], reader.pos)
