"""TF Serving's Predict JSON (``json_tensor.cc``), the server's side.

:func:`decode_predict_request` turns a request body (row format ``instances``
or columnar ``inputs``) into numpy inputs typed by the signature;
:func:`encode_predict_response` writes outputs as ``predictions`` / ``outputs``
with TF Serving's shape rules. Conventions kept from TF Serving: ``{"b64": ...}``
carries bytes; string outputs named ``*_bytes`` are written as ``{"b64": ...}``;
NaN and infinities are the bare literals ``NaN``, ``Infinity``, ``-Infinity``.
Beyond TF Serving: float16 and bfloat16 are accepted, and a non-UTF-8 string
output is written as ``{"b64": ...}`` rather than as invalid JSON.
"""

from __future__ import annotations

import base64
import enum
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from sigserve.codecs.json_floats import float32_display
from sigserve.codecs.json_values import debug_string, is_b64, parse_json, to_tensor
from sigserve.errors import ServingError, invalid_argument
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


def _signature_name(doc: dict[str, Any]) -> str:
    name = doc.get("signature_name", "")
    if not isinstance(name, str):
        raise invalid_argument(
            f"JSON Value: {debug_string(doc)} not formatted correctly. "
            "'signature_name' key must be a string value."
        )
    return name


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
            display = float32_display(array.astype(np.float32).ravel()).reshape(array.shape)
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


def dump(document: Any, special_floats: bool) -> bytes:
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
            return dump({"outputs": _scalar(shape, value)}, special)
        return dump({"outputs": {k: _scalar(s, v) for k, (s, v) in converted.items()}}, special)
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
        return dump({"predictions": value}, special)
    rows = [{k: _row(v, i) for k, (_, v) in converted.items()} for i in range(batch)]
    return dump({"predictions": rows}, special)


def _scalar(shape: tuple[int, ...], value: Any) -> Any:
    if shape == () and isinstance(value, np.ndarray):
        return value.item()
    return value


def encode_error(message: str) -> bytes:
    """``{"error": "<message>"}``, TF Serving's error body."""
    return orjson.dumps({"error": message})
