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
from typing import Any

import numpy as np
import orjson

from sigserve.codecs.dtypes import TF_TYPE_NAME, numpy_dtype
from sigserve.errors import Code, ServingError, invalid_argument


def parse_json(body: bytes | str) -> Any:
    """The JSON document, read as TF Serving reads it (NaN/Infinity allowed)."""
    if not body:
        raise invalid_argument("JSON Parse error: The document is empty")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as fast_error:
        try:  # the stdlib parser also reads NaN, Infinity and -Infinity
            return json.loads(body)
        except (ValueError, RecursionError):
            reason = str(fast_error).split(":", 1)[0]
            raise invalid_argument(
                f"JSON Parse error: {reason} at offset: {fast_error.pos}"
            ) from None


def debug_string(value: Any) -> str:
    """A JSON value in an error message, cut at 256 bytes as TF Serving does."""
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(value)
    except RecursionError:
        text = "<a value nested too deeply to print>"
    return text[:256]


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
    try:
        return base64.b64decode(value["b64"], validate=True)
    except (binascii.Error, ValueError):
        try:  # TF Serving (absl) also accepts web-safe base64
            return base64.urlsafe_b64decode(value["b64"])
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


def flatten(value: Any, shape: list[int], level: int, out: list[Any]) -> None:
    rank = len(shape)
    if not isinstance(value, list):
        if level != rank:
            raise invalid_argument(
                f"JSON Value: {debug_string(value)} found at incorrect level: {level + 1} "
                f"in the JSON DOM. Expected at level: {rank}"
            )
        out.append(value)
        return
    if level >= rank:
        raise invalid_argument(f"Encountered list at unexpected level: {level} expected < {rank}")
    if len(value) != shape[level]:
        raise invalid_argument(
            f"Encountered list at unexpected size: {len(value)} at level: {level} "
            f"expected size: {shape[level]}"
        )
    if level == rank - 1:
        if any(type(v) is list for v in value):
            raise invalid_argument(
                f"Encountered list at unexpected level: {level + 1} expected < {rank}"
            )
        out.extend(value)
        return
    for item in value:
        flatten(item, shape, level + 1, out)


def _type_error(value: Any, dtype: str) -> ServingError:
    return invalid_argument(
        f"JSON Value: {debug_string(value)} Type: {json_type(value)} is not of expected "
        f"type: {TF_TYPE_NAME.get(dtype, dtype)}"
    )


_FLOATS = {"DT_FLOAT", "DT_DOUBLE", "DT_HALF", "DT_BFLOAT16"}
_INTS = {"DT_INT8", "DT_INT16", "DT_INT32", "DT_INT64", "DT_UINT8", "DT_UINT16",
         "DT_UINT32", "DT_UINT64"}  # fmt: skip


def to_tensor(value: Any, dtype: str, *, has_bools: bool = True) -> np.ndarray:
    """A JSON value (scalar or nested lists) as a numpy array of TF dtype ``dtype``.

    ``has_bools=False`` promises the document holds no ``true``/``false``: then a
    dense numeric value takes numpy's C path; anything else takes the checked one.
    """
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
    flatten(value, shape, 0, leaves)
    kinds = set(map(type, leaves))
    if dtype == "DT_STRING":
        data = np.empty(len(leaves), dtype=object)
        for i, leaf in enumerate(leaves):
            if type(leaf) is str:
                data[i] = leaf.encode("utf-8")
            elif isinstance(leaf, dict):
                data[i] = decode_b64(leaf)
            else:
                raise _type_error(leaf, dtype)
        return data.reshape(shape)
    if dtype in _FLOATS:
        allowed: tuple[type, ...] = (int, float)
    elif dtype in _INTS:
        allowed = (int,)
    elif dtype == "DT_BOOL":
        allowed = (bool,)
    else:
        raise ServingError(
            Code.UNIMPLEMENTED,
            f"Conversion of JSON Value: {debug_string(value)} to type: "
            f"{TF_TYPE_NAME.get(dtype, dtype)}",
        )
    if not kinds <= set(allowed):
        bad = next(leaf for leaf in leaves if type(leaf) not in allowed)
        raise _type_error(bad, dtype)
    target = numpy_dtype(dtype)
    try:
        if dtype in _INTS and kinds:
            return np.array(leaves, dtype=target).reshape(shape)
        return (
            np.array(leaves, dtype=target if dtype != "DT_BFLOAT16" else np.float32)
            .astype(target, copy=False)
            .reshape(shape)
        )
    except OverflowError:
        bad = next(leaf for leaf in leaves if not _fits(leaf, target))
        raise _type_error(bad, dtype) from None


def _numeric_fast_path(value: Any, shape: list[int], dtype: str) -> np.ndarray | None:
    """numpy's own conversion, when it provably agrees with the checked path."""
    try:
        array = np.array(value)
    except (ValueError, TypeError, OverflowError):
        return None
    if list(array.shape) != shape or array.dtype.kind not in ("fiu" if dtype in _FLOATS else "iu"):
        return None
    target = numpy_dtype(dtype)
    if target.kind in "iu" and array.size:
        info = np.iinfo(target)
        if array.min() < info.min or array.max() > info.max:
            return None
    if dtype == "DT_BFLOAT16":
        return array.astype(np.float32).astype(target)
    return array.astype(target, copy=False)


def _fits(value: int, dtype: np.dtype) -> bool:
    info = np.iinfo(dtype)
    return info.min <= value <= info.max
