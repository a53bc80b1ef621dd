"""TF Serving's Predict JSON (``json_tensor.cc``): row and columnar formats, both ways.

Server side: :func:`decode_predict_request` turns a request body into numpy
inputs typed by the signature, :func:`encode_predict_response` writes outputs
as TF Serving does. Client side: :func:`encode_predict_request` and
:func:`decode_predict_response`. Pure functions, no I/O.

Conventions kept from TF Serving: ``{"b64": "..."}`` carries bytes for
DT_STRING; string outputs whose name ends in ``_bytes`` are written as
``{"b64": ...}``; NaN and infinities are read and written as the bare literals
``NaN``, ``Infinity``, ``-Infinity``; float32 values are written with the
shortest of ``%.6g`` / ``%.9g`` that reads back to the same float32.
Beyond TF Serving: float16 and bfloat16 are accepted, and a non-UTF-8 string
output is written as ``{"b64": ...}`` rather than as invalid JSON.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from sigserve.codecs.dtypes import TF_TYPE_NAME, numpy_dtype
from sigserve.errors import Code, ServingError, invalid_argument
from sigserve.types import TensorInfo

InputInfo = Callable[[str], Mapping[str, TensorInfo]]


class Format(enum.Enum):
    ROW = "row"
    COLUMNAR = "columnar"


@dataclass(frozen=True)
class PredictRequest:
    signature_name: str
    inputs: dict[str, np.ndarray]
    format: Format


# ----------------------------------------------------------------- parsing


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


def _signature_name(doc: dict[str, Any]) -> str:
    name = doc.get("signature_name", "")
    if not isinstance(name, str):
        raise invalid_argument(
            f"JSON Value: {debug_string(doc)} not formatted correctly. "
            "'signature_name' key must be a string value."
        )
    return name


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


# ------------------------------------------------------------ JSON -> tensor


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


def _flatten(value: Any, shape: list[int], level: int, out: list[Any]) -> None:
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
        _flatten(item, shape, level + 1, out)


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
    _flatten(value, shape, 0, leaves)
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


def _stack(name: str, items: list[Any], dtype: str, has_bools: bool) -> np.ndarray:
    """Row format: one JSON value per instance, batched along a new first dimension."""
    try:
        return to_tensor(items, dtype, has_bools=has_bools)
    except ServingError:
        pass  # find the instance at fault, and say it the way TF Serving does
    first_size: int | None = None
    first_shape: list[int] | None = None
    for index, item in enumerate(items):
        try:
            tensor = to_tensor(item, dtype)
        except ServingError as e:
            raise _element_error(index, name, e.message) from None
        if first_shape is None:
            first_size, first_shape = tensor.size, list(tensor.shape)
        elif tensor.size != first_size:
            raise _element_error(
                index, name, f"Expecting tensor size: {first_size} but got: {tensor.size}"
            )
        elif list(tensor.shape) != first_shape:
            raise _element_error(
                index, name,
                f"Expecting shape {_shape(first_shape)} but got: {_shape(list(tensor.shape))}",
            )  # fmt: skip
    raise invalid_argument(f"Failed to process 'instances' list for input {name}")


def _element_error(index: int, name: str | None, message: str) -> ServingError:
    key = f" key: {name}" if name else ""
    return invalid_argument(
        f"Failed to process element: {index}{key} of 'instances' list. "
        f"Error: INVALID_ARGUMENT: {message}"
    )


def _shape(shape: list[int]) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def _rows(
    instances: list[Any], infos: Mapping[str, TensorInfo], has_bools: bool
) -> dict[str, np.ndarray]:
    def is_object(value: Any) -> bool:
        return isinstance(value, dict) and not is_b64(value)

    if not is_object(instances[0]) and len(infos) > 1:
        raise invalid_argument(
            "instances is a plain list, but expecting list of objects as multiple input "
            "tensors required as per tensorinfo_map"
        )
    if not is_object(instances[0]):
        for index, item in enumerate(instances):
            if is_object(item):
                raise invalid_argument(
                    f"Expecting value/list but got object at item {index} of input list"
                )
        name, info = next(iter(infos.items()))
        return {name: _stack("", instances, info.dtype, has_bools)}
    names = sorted(infos)
    columns: dict[str, list[Any]] = {name: [] for name in names}
    for index, item in enumerate(instances):
        if not is_object(item):
            raise invalid_argument(f"Expecting object but got list at item {index} of input list")
        for key, value in item.items():
            if key not in infos:
                raise _element_error(index, key, f"JSON object: does not have named input: {key}")
            columns[key].append(value)
        if set(item) != set(names):
            raise invalid_argument(
                f"Failed to process element: {index} of 'instances' list. JSON object: "
                f"{debug_string(item)} keys must be equal to: {','.join(names)}"
            )
    return {name: _stack(name, columns[name], infos[name].dtype, has_bools) for name in names}


def _columns(
    inputs: Any, infos: Mapping[str, TensorInfo], has_bools: bool
) -> dict[str, np.ndarray]:
    if not isinstance(inputs, dict) or is_b64(inputs):
        if len(infos) > 1:
            raise invalid_argument(
                "inputs is a plain value/list, but expecting an object as multiple input "
                "tensors required as per tensorinfo_map"
            )
        name, info = next(iter(infos.items()))
        return {name: to_tensor(inputs, info.dtype, has_bools=has_bools)}
    tensors = {}
    for name in sorted(infos):
        if name not in inputs:
            raise invalid_argument(f"Missing named input: {name} in 'inputs' object.")
        tensors[name] = to_tensor(inputs[name], infos[name].dtype, has_bools=has_bools)
    return tensors


def decode_predict_request(body: bytes | str, input_info: InputInfo) -> PredictRequest:
    """A Predict request body as numpy inputs typed by the signature's inputs."""
    doc = parse_json(body)
    if not isinstance(doc, dict):
        raise invalid_argument(f"JSON Value: {debug_string(doc)} Is not object")
    signature_name = _signature_name(doc)
    infos = input_info(signature_name)
    if not infos:
        raise invalid_argument(
            f"Failed to get input map for signature: {signature_name or 'DEFAULT'}"
        )
    raw = body.encode("utf-8", "replace") if isinstance(body, str) else body
    has_bools = b"true" in raw or b"false" in raw
    has_instances, has_inputs = "instances" in doc, "inputs" in doc
    if has_instances and has_inputs:
        raise invalid_argument(
            f"JSON Value: {debug_string(doc)} Not formatted correctly expecting only one of "
            "'inputs' or 'instances' keys to exist "
        )
    if has_instances:
        instances = doc["instances"]
        if not isinstance(instances, list):
            raise invalid_argument(
                f"JSON Value: {debug_string(doc)} Expecting 'instances' to be an list/array"
            )
        if not instances:
            raise invalid_argument(
                f"JSON Value: {debug_string(doc)} No values in 'instances' array"
            )
        return PredictRequest(signature_name, _rows(instances, infos, has_bools), Format.ROW)
    if has_inputs:
        inputs = _columns(doc["inputs"], infos, has_bools)
        return PredictRequest(signature_name, inputs, Format.COLUMNAR)
    raise invalid_argument("Missing 'inputs' or 'instances' key")


# ------------------------------------------------------------ tensor -> JSON


def _round_significant(values: np.ndarray, digits: int) -> tuple[np.ndarray, np.ndarray]:
    """``float("%.{digits}g" % v)`` for each value, computed with numpy.

    Rounds ``v * 10**k`` to an integer and divides by ``10**k`` exactly: for
    ``|k| <= 22`` both powers are exact doubles, so the result is the double
    nearest the decimal, as parsing the printed text gives. Returns the values
    and a mask of those computed this way (the rest need the slow path).
    """
    exponent = np.floor(np.log10(np.abs(values)))
    for _ in range(2):  # log10 may be one off next to a power of ten
        power = (digits - 1 - exponent).astype(np.int64)
        scaled = np.round(values * np.power(10.0, np.clip(power, -22, 22)))
        too_big = np.abs(scaled) >= 10.0**digits
        too_small = np.abs(scaled) < 10.0 ** (digits - 1)
        if not (too_big.any() or too_small.any()):
            break
        exponent = exponent + too_big - too_small
    safe = np.abs(power) <= 22
    negative = power < 0
    result = np.where(
        negative,
        scaled * np.power(10.0, np.clip(-power, 0, 22)),
        scaled / np.power(10.0, np.clip(power, 0, 22)),
    )
    return result, safe


_SMALL = 256


def float32_value(value: float) -> float:
    """A float32 as the double TF Serving's JSON text for it denotes (%.6g, else %.9g)."""
    if value != value or value in (_INF, -_INF):
        return value
    short = float(f"{value:.6g}")
    return short if np.float32(short) == np.float32(value) else float(f"{value:.9g}")


_INF = float("inf")


def _float32_display(values: np.ndarray) -> np.ndarray:
    """float32 values as the doubles TF Serving's text denotes (%.6g, else %.9g)."""
    wide = values.astype(np.float64)
    if wide.size <= _SMALL:  # numpy's per-call overhead outweighs a Python loop here
        return np.array([float32_value(v) for v in wide.tolist()], dtype=np.float64)
    out = wide.copy()
    regular = np.isfinite(wide) & (wide != 0)
    if not regular.any():
        return out
    v = wide[regular]
    with np.errstate(all="ignore"):
        short, safe_short = _round_significant(v, 6)
        exact = short.astype(np.float32) == v.astype(np.float32)
        long, safe_long = _round_significant(v, 9)
    chosen = np.where(exact, short, long)
    slow = ~np.where(exact, safe_short, safe_long)
    if slow.any():  # |v| beyond 1e+-16 or so: let printf do it
        text6 = np.char.mod("%.6g", v[slow]).astype(np.float64)
        text9 = np.char.mod("%.9g", v[slow]).astype(np.float64)
        chosen[slow] = np.where(text6.astype(np.float32) == v[slow].astype(np.float32),
                                text6, text9)  # fmt: skip
    out[regular] = chosen
    return out


def _jsonable(name: str, array: np.ndarray) -> tuple[Any, bool]:
    """A value orjson can write for ``array``, and whether it holds NaN or infinity."""
    kind = array.dtype
    if kind.kind in "OSU":
        as_bytes = name.endswith("_bytes")
        flat = [_string_value(v, as_bytes) for v in array.ravel().tolist()]
        return np.array(flat, dtype=object).reshape(array.shape).tolist(), False
    if kind.kind == "f" or kind.name == "bfloat16":
        if kind == np.float64:
            display = array
        else:
            display = _float32_display(array.astype(np.float32).ravel()).reshape(array.shape)
        finite = bool(np.isfinite(display).all())
        return (display if finite else display.tolist()), not finite
    if kind.kind == "c":
        raise invalid_argument(f"Failed to write JSON value for tensor type: {kind}")
    return array, False


def _string_value(value: Any, as_bytes: bool) -> Any:
    raw = value if isinstance(value, bytes) else str(value).encode("utf-8")
    if not as_bytes:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return {"b64": base64.b64encode(raw).decode("ascii")}


def _row(value: Any, index: int) -> Any:
    item = value[index]
    return item.item() if isinstance(item, np.generic) else item


def _dump(document: Any, special_floats: bool) -> bytes:
    if not special_floats:
        return orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY)
    return json.dumps(_plain(document), allow_nan=True, separators=(",", ":")).encode()


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def encode_predict_response(outputs: Mapping[str, np.ndarray], format: Format) -> bytes:
    """Outputs as TF Serving's ``predictions`` (row) or ``outputs`` (columnar) JSON."""
    if not outputs:
        raise invalid_argument("Cannot convert empty tensor map to JSON")
    converted = {}
    special = False
    for name, array in outputs.items():
        array = np.asarray(array)
        value, has_special = _jsonable(name, array)
        converted[name] = (array.shape, value)
        special = special or has_special
    if format is Format.COLUMNAR:
        if len(converted) == 1:
            ((shape, value),) = converted.values()
            return _dump({"outputs": _scalar(shape, value)}, special)
        return _dump({"outputs": {k: _scalar(s, v) for k, (s, v) in converted.items()}}, special)
    batch = -1
    for name, (shape, _) in converted.items():
        if not shape:
            raise invalid_argument(f"Tensor name: {name} has no shape information ")
        if batch >= 0 and shape[0] != batch:
            raise invalid_argument(
                f"Tensor name: {name} has inconsistent batch size: {shape[0]} expecting: {batch}"
            )
        batch = shape[0]
    if len(converted) == 1:
        ((_, value),) = converted.values()
        return _dump({"predictions": value}, special)
    rows = [{k: _row(v, i) for k, (_, v) in converted.items()} for i in range(batch)]
    return _dump({"predictions": rows}, special)


def _scalar(shape: tuple[int, ...], value: Any) -> Any:
    if shape == () and isinstance(value, np.ndarray):
        return value.item()
    return value


def encode_error(message: str) -> bytes:
    """``{"error": "<message>"}``, TF Serving's error body."""
    return orjson.dumps({"error": message})


# ------------------------------------------------------------- client side


def _client_value(array: np.ndarray) -> Any:
    if array.dtype == object or array.dtype.kind in "SU":
        flat = []
        for item in array.ravel().tolist():
            if isinstance(item, bytes):
                flat.append({"b64": base64.b64encode(item).decode("ascii")})
            else:
                flat.append(str(item))
        return np.array(flat, dtype=object).reshape(array.shape).tolist()
    if array.dtype.name == "bfloat16" or array.dtype == np.float16:
        array = array.astype(np.float32)
    return array.tolist()


def encode_predict_request(
    inputs: np.ndarray | Mapping[str, np.ndarray],
    signature_name: str | None = None,
    format: Format | None = None,
) -> bytes:
    """A Predict body: row format when every input shares its first dimension."""
    named = isinstance(inputs, Mapping)
    arrays = {k: np.asarray(v) for k, v in inputs.items()} if named else {"": np.asarray(inputs)}
    if format is None:
        batches = {a.shape[0] if a.ndim else None for a in arrays.values()}
        format = Format.ROW if len(batches) == 1 and None not in batches else Format.COLUMNAR
    doc: dict[str, Any] = {}
    if signature_name:
        doc["signature_name"] = signature_name
    values = {k: _client_value(v) for k, v in arrays.items()}
    if format is Format.COLUMNAR:
        doc["inputs"] = values if named else values[""]
    elif named:
        batch = next(iter(arrays.values())).shape[0]
        doc["instances"] = [{k: v[i] for k, v in values.items()} for i in range(batch)]
    else:
        doc["instances"] = values[""]
    special = any(a.dtype.kind == "f" and not np.isfinite(a).all() for a in arrays.values())
    return _dump(doc, special)


def _from_json(value: Any) -> np.ndarray:
    leaves: list[Any] = []
    shape = dense_shape(value)
    _flatten(value, shape, 0, leaves)
    if leaves and all(isinstance(v, (str, dict)) for v in leaves):
        data = [decode_b64(v) if isinstance(v, dict) else v.encode("utf-8") for v in leaves]
        return np.array(data, dtype=object).reshape(shape)
    return np.array(leaves).reshape(shape)


def decode_predict_response(body: bytes | str) -> np.ndarray | dict[str, np.ndarray]:
    """The outputs of a Predict answer: one array, or a dict by output name."""
    doc = parse_json(body)
    if not isinstance(doc, dict):
        raise invalid_argument(f"Unexpected response: {debug_string(doc)}")
    if "error" in doc:
        raise invalid_argument(str(doc["error"]))
    if "outputs" in doc:
        outputs = doc["outputs"]
        if isinstance(outputs, dict) and not is_b64(outputs):
            return {k: _from_json(v) for k, v in outputs.items()}
        return _from_json(outputs)
    if "predictions" in doc:
        rows = doc["predictions"]
        if rows and isinstance(rows[0], dict) and not is_b64(rows[0]):
            return {k: _from_json([row[k] for row in rows]) for k in rows[0]}
        return _from_json(rows)
    raise invalid_argument(f"Unexpected response: {debug_string(doc)}")
