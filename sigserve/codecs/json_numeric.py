"""Large all-number JSON arrays read ahead of the document, without a list per row.

A Predict body that carries an image or a batch spends most of its decode time
building nested Python lists (one per row, all tracked by the garbage
collector) and then walking them again to make a numpy array. This module
finds, in a large body, each array written only with JSON numbers (brackets,
commas, whitespace, digits, ``-+.eE``), checks its bracket and comma layout
against the regular layout of the shape read off its first elements, reads its
numbers in flat chunks (the same parser as the document's, orjson, so every
number has the value it would have had) and puts a placeholder string in its
place. The rest of the document is then parsed as usual.

Anything irregular (ragged or empty arrays, numbers that orjson refuses, a rank
above 64) is left as text for the usual path. The caller reads the document
this way only while every placeholder ends where an array of numbers is
expected; on any doubt it reads the original body the usual way.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

MIN_BODY = 32 * 1024  # smaller bodies are parsed as they always were
MIN_ARRAY = 4 * 1024  # bytes of JSON text; smaller arrays stay in the document
MAX_RANK = 64  # as json_values.MAX_RANK: deeper arrays stay in the document
_BLOCK = 2048  # an all-number run of 2 blocks holds a whole block: found by sampling
_STRIDE = 32
_CHUNK = 128 * 1024  # bytes read at once (checked, numbers parsed): cache-sized

_NUMBER_TEXT = b"0123456789+-.eE[], \t\n\r"
_ALLOWED = np.zeros(256, dtype=bool)
_ALLOWED[list(_NUMBER_TEXT)] = True
_OTHER = ~_ALLOWED
_UNBRACKET = bytes.maketrans(b"[]", b"  ")
# number characters -> "N", brackets and commas kept, any other byte -> "X"
_TOKENS = bytes(
    ord("N") if c in b"0123456789+-.eE" else c if c in b"[]," else ord("X") for c in range(256)
)
_OPEN, _CLOSE, _N = ord("["), ord("]"), ord("N")

# Placeholders: a string no client spells (a control character and a secret
# drawn at start-up); the caller still checks that each one is used once.
_SECRET = secrets.token_hex(8)


def _placeholder(index: int) -> tuple[str, bytes]:
    text = f"sigserve-array-{_SECRET}-{index}"  # hex digits: never "true" nor "false"
    return "\x01" + text, b'"\\u0001' + text.encode("ascii") + b'"'


@dataclass(frozen=True)
class NumericArray:
    """An array read ahead: its numbers in document order (int64 or float64) and shape."""

    values: np.ndarray
    shape: tuple[int, ...]


class ReadAhead:
    """The arrays a document's placeholders stand for; each may be taken once."""

    def __init__(self, arrays: dict[str, NumericArray]) -> None:
        self._arrays = arrays
        self._taken: set[str] = set()

    def holds(self, value: Any) -> bool:
        return type(value) is str and value in self._arrays

    def take(self, value: Any) -> NumericArray | None:
        """The array ``value`` stands for: a placeholder, or a list of them (stacked on dim 0).

        None when ``value`` is neither; raises :class:`LookupError` when an
        array is taken twice or the listed arrays differ in shape.
        """
        if self.holds(value):
            keys, stacked = [value], False
        elif type(value) is list and value and all(self.holds(item) for item in value):
            keys, stacked = value, True
        else:
            return None
        if len(set(keys)) != len(keys) or self._taken.intersection(keys):
            raise LookupError("an array read ahead was used twice")
        arrays = [self._arrays[key] for key in keys]
        if any(array.shape != arrays[0].shape for array in arrays):
            raise LookupError("arrays read ahead differ in shape")
        self._taken.update(keys)
        if not stacked:
            return arrays[0]
        values = np.concatenate([array.values for array in arrays])  # int64+float64: float64
        return NumericArray(values, (len(arrays), *arrays[0].shape))

    def all_taken(self) -> bool:
        return self._taken == self._arrays.keys()


@dataclass(frozen=True)
class Document:
    doc: Any
    arrays: ReadAhead
    text: bytes  # the document's text read, each array read ahead a placeholder string


def read_with_arrays_ahead(body: bytes) -> Document | None:
    """The document with its large number arrays read ahead, or None to read it as usual.

    None when the body is small, holds no such array, or the document left
    around the arrays is not one orjson reads.
    """
    if len(body) < MIN_BODY:
        return None
    pieces: list[bytes] = []
    arrays: dict[str, NumericArray] = {}
    done = 0
    for start, end, array in _number_arrays(body):
        key, text = _placeholder(len(arrays))
        arrays[key] = array
        pieces += (body[done:start], text)
        done = end
    if not arrays:
        return None
    pieces.append(body[done:])
    text = b"".join(pieces)
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return Document(doc, ReadAhead(arrays), text)


def _number_arrays(body: bytes) -> Iterator[tuple[int, int, NumericArray]]:
    """(start, end, array) of each outermost regular array of MIN_ARRAY bytes of numbers."""
    for start, end in _between_quotes(_candidate_runs(body), body):
        first, last = body.find(b"[", start, end), body.rfind(b"]", start, end) + 1
        if first < 0 or last - first < MIN_ARRAY:
            continue
        array = _read_array(body, first, last)  # mostly, a run is one array
        if array is not None:
            yield first, last, array
            continue
        for run_start, run_end in _runs(body, start, end):
            for outer_start, outer_end in _outermost_arrays(body, run_start, run_end):
                array = _read_array(body, outer_start, outer_end)
                if array is not None:
                    yield outer_start, outer_end, array


def _between_quotes(stretches: Iterator[tuple[int, int]], body: bytes) -> Iterator[tuple[int, int]]:
    """The stretches cut at each ``"``: two arrays a key or a string apart come apart."""
    for start, end in stretches:
        quote = body.find(b'"', start, end)
        while quote >= 0:
            yield start, quote
            start = quote + 1
            quote = body.find(b'"', start, end)
        yield start, end


def _candidate_runs(body: bytes) -> Iterator[tuple[int, int]]:
    """Stretches that may be number text: whole blocks whose sampled bytes all may be.

    Each stretch is widened to the nearest byte on either side that is not
    number text, so that it covers every run of number text of two blocks or
    more (such a run holds a whole block). It may still hold other bytes.
    """
    s = np.frombuffer(body, dtype=np.uint8)
    blocks = len(s) // _BLOCK
    sampled = _ALLOWED[s[: blocks * _BLOCK : _STRIDE]].reshape(blocks, _BLOCK // _STRIDE)
    candidate = sampled.all(axis=1)
    if not candidate.any():
        return
    bounds = np.flatnonzero(np.diff(np.concatenate(([0], candidate.view(np.int8), [0]))))
    for first_block, end_block in bounds.reshape(-1, 2).tolist():
        start, end = first_block * _BLOCK, end_block * _BLOCK
        low = max(start - _BLOCK, 0)  # the block before holds a byte that is not number text
        before = np.flatnonzero(_OTHER.take(s[low:start]))
        start = low + int(before[-1]) + 1 if before.size else low
        after = np.flatnonzero(_OTHER.take(s[end : end + _BLOCK]))  # so does the one after
        end = end + int(after[0]) if after.size else min(end + _BLOCK, len(s))
        yield start, end


def _runs(body: bytes, start: int, end: int) -> Iterator[tuple[int, int]]:
    """The runs of more than MIN_ARRAY bytes of number text in ``body[start:end]``."""
    s = np.frombuffer(body, dtype=np.uint8, count=end - start, offset=start)
    edges = np.concatenate(([-1], np.flatnonzero(_OTHER.take(s)), [len(s)]))
    for run in np.flatnonzero(np.diff(edges) > MIN_ARRAY).tolist():
        yield start + int(edges[run]) + 1, start + int(edges[run + 1])


def _outermost_arrays(body: bytes, start: int, end: int) -> Iterator[tuple[int, int]]:
    """The outermost bracket pairs of MIN_ARRAY bytes in ``body[start:end]`` (number text)."""
    run = np.frombuffer(body, dtype=np.uint8, count=end - start, offset=start)
    brackets = np.flatnonzero((run == _OPEN) | (run == _CLOSE))
    if not brackets.size:
        return
    step = np.where(run[brackets] == _OPEN, 1, -1)
    after = np.cumsum(step)
    before = after - step
    floor = np.minimum.accumulate(np.minimum(before, 0))  # lowest depth so far
    opens = brackets[(step == 1) & (before == floor)]
    closes = brackets[(step == -1) & (after == floor)]
    for first, last in zip(opens.tolist(), closes.tolist(), strict=False):  # alternating
        if last - first + 1 >= MIN_ARRAY:
            yield start + first, start + last + 1


def _read_array(body: bytes, start: int, end: int) -> NumericArray | None:
    """``body[start:end]`` as a regular array of JSON numbers, or None for anything else.

    Three checks: the brackets and commas alone are those of the regular array
    of the shape read off the first elements; no number touches a bracket on
    its wrong side (``1[``, ``]1``); orjson reads the text without brackets as
    exactly one number between each two commas. Together: a valid JSON array
    of that shape, whose numbers are the ones orjson reads in the document.
    The text is read in parts of about _CHUNK bytes cut at commas, each part
    checked and its numbers read while it is in the cache.
    """
    layouts, chunks = [], []
    while start < end:
        cut = body.find(b",", start + _CHUNK, end) if start + _CHUNK < end else -1
        cut = end if cut < 0 else cut
        part = body[start:cut]
        start = cut + 1
        tokens = part.translate(_TOKENS, b" \t\n\r")  # "[[NNN,N],[NN,N]]"
        chars = np.frombuffer(tokens, dtype=np.uint8)
        number = chars == _N
        if (number[:-1] & (chars[1:] == _OPEN)).any():
            return None  # a number right before "["
        if (number[1:] & (chars[:-1] == _CLOSE)).any():
            return None  # a number right after "]"
        layouts.append(tokens.translate(None, b"N"))  # other bytes ("X") stay: no match
        chunk = _numbers(part.translate(_UNBRACKET))
        if chunk is None:
            return None
        chunks.append(chunk)
    layout = b",".join(layouts)
    shape = _shape(layout)
    if shape is None or _layout(shape) != layout:
        return None
    values = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)  # int64+float64: float64
    if values.size != math.prod(shape):
        return None
    return NumericArray(values, shape)


def _shape(layout: bytes) -> tuple[int, ...] | None:
    """The shape a regular bracket and comma layout spells, read off its first elements."""
    rank = len(layout) - len(layout.lstrip(b"["))
    if not 0 < rank <= MAX_RANK:
        return None
    shape = []
    inner = 0  # the text length of one element one level down (numbers take none)
    for depth in range(rank - 1, -1, -1):
        closes = rank - depth
        end = layout.find(b"]" * closes)
        if end < 0:
            return None
        length = end + closes - depth  # the first array at this depth
        count, rest = divmod(length - 1, inner + 1)
        if rest or count < 1:
            return None
        shape.append(count)
        inner = length
    return tuple(reversed(shape))


def _layout(shape: tuple[int, ...]) -> bytes:
    element = b""
    for size in reversed(shape):
        element = b"[" + (element + b",") * (size - 1) + element + b"]"
    return element


def _numbers(text: bytes) -> np.ndarray | None:
    """Comma-separated JSON numbers as ``np.array`` makes them from orjson's values, or None.

    int64 or float64 only (a part of integers alone is float64 when one is beyond
    uint64, which orjson reads as a float, or when it mixes negatives with integers
    beyond int64); anything else (uint64, object) is left to the usual path. So
    int64 and float64 parts join as ``np.array`` of all the numbers would make them.
    A part with a fraction or an exponent holds a float, so ``np.array`` makes it
    float64, as ``np.fromiter`` does, faster.
    """
    try:
        numbers = orjson.loads(b"[" + text + b"]")
        if b"." in text or b"e" in text or b"E" in text:
            return np.fromiter(numbers, dtype=np.float64, count=len(numbers))
        values = np.array(numbers)
    except (orjson.JSONDecodeError, ValueError, TypeError, OverflowError):
        return None
    return values if values.dtype == np.int64 or values.dtype == np.float64 else None
