"""JSON values as TF Serving reads them (``json_tensor.cc``): parsing, b64, tensors.

Pure functions shared by the predict and classify/regress codecs: the document
parser (NaN/Infinity allowed), TF Serving's way of quoting a value in an error,
``{"b64": ...}`` bytes, and a (nested) JSON value turned into a numpy array of
a TF dtype with TF Serving's checks and messages.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson

from sigserve.codecs import json_parser
from sigserve.codecs.dtypes import TF_TYPE_NAME, numpy_dtype
from sigserve.codecs.json_numeric import NumericArray, ReadAhead
from sigserve.codecs.json_writer import debug_text
from sigserve.errors import Code, ServingError, invalid_argument


def parse_json(body: bytes | str) -> Any:
    """The JSON document, read as TF Serving reads it (rapidjson's rules and errors).

    orjson reads almost every body; what it refuses (``NaN``, ``Infinity``,
    deep nesting, text after the document, raw bytes) goes to slower parsers
    that accept what rapidjson accepts and word errors as rapidjson does.
    """
    if not body:
        raise invalid_argument("JSON Parse error: The document is empty")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else bytes(body)
    if b"\\ud" not in data.lower():  # the stdlib lets lone surrogates through
        try:
            return json.loads(data.decode("utf-8"), parse_int=_int, parse_float=_float)
        except (ValueError, RecursionError):
            pass
    try:
        return json_parser.parse(data)
    except json_parser.ParseError as e:
        raise invalid_argument(f"JSON Parse error: {e}") from None


def _int(text: str) -> int | float:
    value = int(text)
    if json_parser.INT64_MIN <= value <= json_parser.UINT64_MAX:
        return value
    return _float(text)  # rapidjson keeps integers beyond 64 bits as doubles


def _float(text: str) -> float:
    value = float(text)
    if value in (math.inf, -math.inf):
        raise ValueError("number too big for a double")
    return value


def debug_string(value: Any) -> str:
    """A JSON value in an error message, as TF Serving quotes it (cut at 256 bytes)."""
    return debug_text(value)


def json_type(value: Any) -> str:
    """rapidjson's name for the type of a JSON value, as in TF Serving's messages."""
    if value is None:
        return "Null"
    if value is True:
        return "True"
    if value is False:
        return "False"
    if isinstance(value, dict):
        return "Object"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, str):
        return "String"
    return "Number"


def is_b64(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("b64"), str)


def decode_b64(value: Any) -> bytes:
    if not is_b64(value):
        raise invalid_argument(
            f"JSON Value: {debug_string(value)} not formatted correctly for base64 data"
        )
    text = value["b64"]
    try:  # absl::Base64Unescape: the standard alphabet, padding optional
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise invalid_argument("Unable to base64 decode") from None


MAX_RANK = 64  # numpy's limit; TensorFlow allows 254, no model uses that many


def dense_shape(value: Any) -> list[int]:
    """The shape a (nested) JSON list spells, read along first elements."""
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return shape


_Check = Callable[[Any], None]


def flatten(value: Any, shape: list[int], level: int, out: list[Any], check: _Check) -> None:
    """The leaves of a dense nested list, checked in document order as TF Serving does."""
    rank = len(shape)
    if not isinstance(value, list):
        if level != rank:
            raise invalid_argument(
                f"JSON Value: {debug_string(value)} found at incorrect level: {level + 1} "
                f"in the JSON DOM. Expected at level: {rank}"
            )
        check(value)
        out.append(value)
        return
    if level >= rank:
        raise invalid_argument(f"Encountered list at unexpected level: {level} expected < {rank}")
    if len(value) != shape[level]:
        raise invalid_argument(
            f"Encountered list at unexpected size: {len(value)} at level: {level} "
            f"expected size: {shape[level]}"
        )
    for item in value:
        flatten(item, shape, level + 1, out, check)


def _type_error(value: Any, dtype: str) -> ServingError:
    return invalid_argument(
        f"JSON Value: {debug_string(value)} Type: {json_type(value)} is not of expected "
        f"type: {TF_TYPE_NAME.get(dtype, dtype)}"
    )


_FLOATS = {"DT_FLOAT", "DT_DOUBLE", "DT_HALF", "DT_BFLOAT16"}
_INTS = {"DT_INT8", "DT_INT16", "DT_INT32", "DT_INT64", "DT_UINT8", "DT_UINT16",
         "DT_UINT32", "DT_UINT64"}  # fmt: skip


def _leaf_check(dtype: str) -> _Check:
    """A check that a leaf is a JSON value of the kind ``dtype`` takes (TF's messages)."""
    if dtype == "DT_STRING":
        allowed: tuple[type, ...] = (str,)
    elif dtype in _FLOATS:
        allowed = (int, float)
    elif dtype in _INTS:
        allowed = (int,)
    elif dtype == "DT_BOOL":
        allowed = (bool,)
    else:
        allowed = ()

    def check(leaf: Any) -> None:
        if type(leaf) in allowed:
            return
        if isinstance(leaf, dict) and dtype == "DT_STRING":
            decode_b64(leaf)  # raises TF Serving's base64 error when malformed
            return
        if not allowed:
            raise ServingError(
                Code.UNIMPLEMENTED,
                f"Conversion of JSON Value: {debug_string(leaf)} to type: "
                f"{TF_TYPE_NAME.get(dtype, dtype)}",
            )
        raise _type_error(leaf, dtype)

    return check


def to_tensor(
    value: Any, dtype: str, *, has_bools: bool = True, arrays: ReadAhead | None = None
) -> np.ndarray:
    """A JSON value (scalar or nested lists) as a numpy array of TF dtype ``dtype``.

    ``has_bools=False`` promises the document holds no ``true``/``false``: then a
    dense numeric value takes numpy's C path; anything else takes the checked one.
    ``arrays``: the arrays read ahead of the document (:mod:`json_numeric`),
    used where ``value`` is a placeholder or a list of them, with ``has_bools=False``.
    """
    if arrays is not None:
        read = arrays.take(value)
        if read is not None:
            return _read_ahead_tensor(read, dtype)
    shape = dense_shape(value)
    if len(shape) > MAX_RANK:
        raise invalid_argument(
            f"JSON value nested {len(shape)} lists deep: tensors of rank above {MAX_RANK} "
            "are not supported"
        )
    if not has_bools and (dtype in _FLOATS or dtype in _INTS):
        fast = _numeric_fast_path(value, shape, dtype)
        if fast is not None:
            return fast
    leaves: list[Any] = []
    flatten(value, shape, 0, leaves, _leaf_check(dtype))
    if dtype == "DT_STRING":
        data = np.empty(len(leaves), dtype=object)
        for i, leaf in enumerate(leaves):
            if type(leaf) is str:
                data[i] = leaf.encode("utf-8", "surrogateescape")
            else:
                data[i] = decode_b64(leaf)
        return data.reshape(shape)
    target = numpy_dtype(dtype)
    if dtype in _INTS:
        bad = next((leaf for leaf in leaves if not _fits(leaf, target)), None)
        if bad is not None:
            raise _type_error(bad, dtype)
        return np.array(leaves, dtype=target).reshape(shape)
    with np.errstate(over="ignore"):  # beyond float32 is infinity, as in TF Serving
        wide = np.array(leaves, dtype=np.float64 if dtype == "DT_DOUBLE" else np.float32)
        return wide.astype(target, copy=False).reshape(shape)


def _read_ahead_tensor(read: NumericArray, dtype: str) -> np.ndarray:
    """An array read ahead as :func:`_numeric_fast_path` makes it from the same numbers.

    Raises where that path would give way to the checked one: the caller then
    reads the original body the usual way, for TF Serving's error.
    """
    if len(read.shape) > MAX_RANK or not (dtype in _FLOATS or dtype in _INTS):
        raise invalid_argument(f"not a numeric array of rank <= {MAX_RANK}")
    tensor = _numeric_cast(read.values.reshape(read.shape), dtype)
    if tensor is None:
        raise invalid_argument(f"numbers that do not fit {dtype}")
    return tensor


def _numeric_fast_path(value: Any, shape: list[int], dtype: str) -> np.ndarray | None:
    """numpy's own conversion, when it provably agrees with the checked path."""
    try:
        array = np.array(value)
    except (ValueError, TypeError, OverflowError):
        return None
    if list(array.shape) != shape:
        return None
    return _numeric_cast(array, dtype)


def _numeric_cast(array: np.ndarray, dtype: str) -> np.ndarray | None:
    """``np.array`` of a JSON value's numbers as ``dtype`` (None: left to the checked path)."""
    if array.dtype.kind not in ("fiu" if dtype in _FLOATS else "iu"):
        return None
    target = numpy_dtype(dtype)
    if target.kind in "iu" and array.size:
        info = np.iinfo(target)
        if array.min() < info.min or array.max() > info.max:
            return None
    with np.errstate(over="ignore"):
        if dtype == "DT_BFLOAT16":
            return array.astype(np.float32).astype(target)
        return array.astype(target, copy=False)


def _fits(value: int, dtype: np.dtype) -> bool:
    info = np.iinfo(dtype)
    return bool(info.min <= value <= info.max)
