"""TF Serving's Predict JSON (``json_tensor.cc``), the server's side.

:func:`decode_predict_request` turns a request body (row format ``instances``
or columnar ``inputs``) into numpy inputs typed by the signature;
:func:`encode_predict_response` writes outputs as ``predictions`` / ``outputs``
with TF Serving's shape rules. Conventions kept from TF Serving: ``{"b64": ...}``
carries bytes; string outputs named ``*_bytes`` are written as ``{"b64": ...}``;
NaN and infinities are the bare literals ``NaN``, ``Infinity``, ``-Infinity``;
answers are laid out and numbers printed byte for byte as TF Serving does, and
string outputs that are not UTF-8 are copied out raw, as TF Serving copies them.
Beyond TF Serving: float16, bfloat16 and uint16 tensors are read and written.
"""

from __future__ import annotations

import base64
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from sigserve.codecs.json_floats import json_float_value
from sigserve.codecs.json_numeric import ReadAhead, read_with_arrays_ahead
from sigserve.codecs.json_values import debug_string, is_b64, parse_json, to_tensor
from sigserve.codecs.json_writer import Block, SingleLine, render_block, valid_unicode, write
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


def _is_object(value: Any) -> bool:
    return isinstance(value, dict) and not is_b64(value)


def _rows(
    instances: list[Any],
    infos: Mapping[str, TensorInfo],
    has_bools: bool,
    arrays: ReadAhead | None = None,
) -> dict[str, np.ndarray]:
    """Row format: each instance one slice of every input, batched along dimension 0.

    The whole batch is converted at once; when that fails, the instances are
    walked one by one, as TF Serving walks them, to report its first error.
    ``arrays``: the large number arrays read ahead of the document, whose
    placeholders stand for the instances list or for instances' values.
    """
    plain = arrays is not None and arrays.holds(instances)  # one array of numbers
    if (plain or not isinstance(instances[0], dict)) and len(infos) > 1:
        raise invalid_argument(
            "instances is a plain list, but expecting list of objects as multiple input "
            "tensors required as per tensorinfo_map"
        )
    names = sorted(infos)
    try:
        if plain:
            name = next(iter(infos))
            return {name: to_tensor(instances, infos[name].dtype, arrays=arrays)}
        if _is_object(instances[0]):
            if all(type(item) is dict and item.keys() == infos.keys() for item in instances):
                return {
                    name: to_tensor([item[name] for item in instances], infos[name].dtype,
                                    has_bools=has_bools, arrays=arrays)
                    for name in names
                }  # fmt: skip
        elif not any(_is_object(item) for item in instances):
            name = next(iter(infos))
            return {
                name: to_tensor(instances, infos[name].dtype, has_bools=has_bools, arrays=arrays)
            }
    except ServingError:
        pass
    _first_row_error(instances, infos)
    raise invalid_argument("Failed to process 'instances' list")  # not reached


def _first_row_error(instances: list[Any], infos: Mapping[str, TensorInfo]) -> None:
    """Raise the error TF Serving reports first for these instances."""
    objects = _is_object(instances[0])
    names = sorted(infos)
    seen: dict[str, tuple[int, list[int]]] = {}
    for index, item in enumerate(instances):
        if objects and not _is_object(item):
            raise invalid_argument(f"Expecting object but got list at item {index} of input list")
        if not objects and _is_object(item):
            raise invalid_argument(
                f"Expecting value/list but got object at item {index} of input list"
            )
        for key, value in item.items() if objects else [(next(iter(infos)), item)]:
            try:
                _check_instance_item(key, value, infos, seen)
            except ServingError as e:
                where = f"{index} key: {key}" if objects else str(index)
                raise invalid_argument(
                    f"Failed to process element: {where} of 'instances' list. "
                    f"Error: {e.code.name}: {e.message}"
                ) from None
        if objects and set(item) != set(names):
            raise invalid_argument(
                f"Failed to process element: {index} of 'instances' list. JSON object: "
                f"{debug_string(item)} keys must be equal to: {','.join(names)}"
            )


def _check_instance_item(
    name: str, value: Any, infos: Mapping[str, TensorInfo], seen: dict[str, tuple[int, list[int]]]
) -> None:
    if name not in infos:
        raise invalid_argument(f"JSON object: does not have named input: {name}")
    tensor = to_tensor(value, infos[name].dtype)
    shape = list(tensor.shape)
    if name not in seen:
        seen[name] = (tensor.size, shape)
        return
    size, first_shape = seen[name]
    if tensor.size != size:
        raise invalid_argument(f"Expecting tensor size: {size} but got: {tensor.size}")
    if shape != first_shape:
        raise invalid_argument(f"Expecting shape {_shape(first_shape)} but got: {_shape(shape)}")


def _shape(shape: list[int]) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def _columns(
    inputs: Any,
    infos: Mapping[str, TensorInfo],
    has_bools: bool,
    arrays: ReadAhead | None = None,
) -> dict[str, np.ndarray]:
    if not isinstance(inputs, dict) or is_b64(inputs):
        if len(infos) > 1:
            raise invalid_argument(
                "inputs is a plain value/list, but expecting an object as multiple input "
                "tensors required as per tensorinfo_map"
            )
        name, info = next(iter(infos.items()))
        return {name: to_tensor(inputs, info.dtype, has_bools=has_bools, arrays=arrays)}
    tensors = {}
    for name in sorted(infos):
        if name not in inputs:
            raise invalid_argument(f"Missing named input: {name} in 'inputs' object.")
        tensors[name] = to_tensor(
            inputs[name], infos[name].dtype, has_bools=has_bools, arrays=arrays
        )
    return tensors


def decode_predict_request(body: bytes | str, input_info: InputInfo) -> PredictRequest:
    """A Predict request body as numpy inputs typed by the signature's inputs.

    A large body without ``true``/``false`` first has its large number arrays
    read ahead (:mod:`json_numeric`, no list per row); that reading stands only
    when it decodes without error and every array read ahead lands where an
    input's numbers are expected. Otherwise, and for every error, the original
    body is read the usual way, so results and error texts are the usual ones.
    """
    if isinstance(body, bytes):
        ahead = read_with_arrays_ahead(body)
        # the arrays read ahead hold no letters: any true/false is in the text around them
        if ahead is not None and not _has_bools(ahead.text):
            try:
                request = _predict_request(ahead.doc, input_info, False, ahead.arrays)
            except Exception:  # any doubt: the usual reading decides
                pass
            else:
                if ahead.arrays.all_taken():
                    return request
    raw = body.encode("utf-8", "replace") if isinstance(body, str) else body
    return _predict_request(parse_json(body), input_info, _has_bools(raw))


def _has_bools(text: bytes) -> bool:
    """Whether the document may hold ``true``/``false`` (then numbers take the checked path)."""
    return b"true" in text or b"false" in text


def _predict_request(
    doc: Any, input_info: InputInfo, has_bools: bool, arrays: ReadAhead | None = None
) -> PredictRequest:
    if not isinstance(doc, dict):
        raise invalid_argument(f"JSON Value: {debug_string(doc)} Is not object")
    signature_name = _signature_name(doc)
    infos = input_info(signature_name)
    if not infos:
        raise invalid_argument(
            f"Failed to get input map for signature: {signature_name or 'DEFAULT'}"
        )
    has_instances, has_inputs = "instances" in doc, "inputs" in doc
    if has_instances and has_inputs:
        raise invalid_argument(
            f"JSON Value: {debug_string(doc)} Not formatted correctly expecting only one of "
            "'inputs' or 'instances' keys to exist "
        )
    if has_instances:
        instances = doc["instances"]
        read_ahead = arrays is not None and arrays.holds(instances)
        if not isinstance(instances, list) and not read_ahead:
            raise invalid_argument(
                f"JSON Value: {debug_string(doc)} Expecting 'instances' to be an list/array"
            )
        if not instances:
            raise invalid_argument(
                f"JSON Value: {debug_string(doc)} No values in 'instances' array"
            )
        rows = _rows(instances, infos, has_bools, arrays)
        return PredictRequest(signature_name, rows, Format.ROW)
    if has_inputs:
        inputs = _columns(doc["inputs"], infos, has_bools, arrays)
        return PredictRequest(signature_name, inputs, Format.COLUMNAR)
    raise invalid_argument("Missing 'inputs' or 'instances' key")


def _output_value(name: str, array: np.ndarray) -> Any:
    """An output as the writer takes it: a :class:`Block` for numbers, lists for strings."""
    kind = array.dtype.kind
    if kind in "OSU":
        as_bytes = name.endswith("_bytes")
        flat = [_string_value(v, as_bytes) for v in array.ravel().tolist()]
        holder = np.empty(len(flat), dtype=object)
        holder[:] = flat
        return holder.reshape(array.shape).tolist() if array.ndim else flat[0]
    if kind == "f" or array.dtype.name == "bfloat16":
        return Block(json_float_value(array))
    if kind in "iub":
        return Block(array.item() if array.ndim == 0 else np.ascontiguousarray(array))
    raise invalid_argument(f"Failed to write JSON value for tensor type: {array.dtype.name}")


def _string_value(value: Any, as_bytes: bool) -> Any:
    raw = value if isinstance(value, bytes) else str(value).encode("utf-8")
    if as_bytes:
        return {"b64": base64.b64encode(raw).decode("ascii")}
    return raw.decode("utf-8", "surrogateescape")  # TF Serving copies the bytes unchecked


def _item(value: Any, index: int) -> Any:
    if isinstance(value, Block):
        row = value.value[index]
        return Block(row.item() if isinstance(row, np.ndarray) and row.ndim == 0 else row)
    return value[index]


def encode_predict_response(outputs: Mapping[str, np.ndarray], format: Format) -> bytes:
    """Outputs as TF Serving writes them: ``predictions`` (row) or ``outputs`` (columnar).

    Byte for byte TF Serving's text: its pretty layout (rows on one line each),
    its float text (``%.6g`` when that reads back, else full precision), output
    names in sorted order.
    """
    if not outputs:
        raise invalid_argument("Cannot convert empty tensor map to JSON")
    arrays = {name: np.asarray(outputs[name]) for name in sorted(outputs)}
    if format is Format.COLUMNAR:
        values = {name: _output_value(name, array) for name, array in arrays.items()}
        if len(values) == 1:
            return write({"outputs": next(iter(values.values()))})
        return write({"outputs": values})
    batch = -1
    for name, array in arrays.items():
        if not array.shape:
            raise invalid_argument(f"Tensor name: {name} has no shape information ")
        if batch >= 0 and array.shape[0] != batch:
            raise invalid_argument(
                f"Tensor name: {name} has inconsistent batch size: {array.shape[0]} "
                f"expecting: {batch}"
            )
        batch = array.shape[0]
    values = {name: _output_value(name, array) for name, array in arrays.items()}
    if len(values) == 1:
        (value,) = values.values()
        if isinstance(value, Block) and batch > 0:  # all rows in one go
            text = render_block(value.value, 2, True)
            return b'{\n    "predictions": ' + text[:-1] + b"\n    ]\n}"
        rows = [SingleLine(_item(value, i)) for i in range(batch)]
    else:
        rows = [{k: SingleLine(_item(v, i)) for k, v in values.items()} for i in range(batch)]
    return write({"predictions": rows})


def encode_error(message: str) -> bytes:
    """TF Serving's error body (``MakeJsonFromStatus``): ``{"error": "<message>"}``, pretty.

    Unlike TF Serving's, the body is always valid JSON: bytes of the request that were
    not UTF-8, quoted in the message, are written as U+FFFD (the replacement character).
    """
    return write({"error": valid_unicode(message)})
