"""``tensorflow.TensorProto`` ⇄ numpy, for every dtype numpy can hold.

Decoding follows TensorFlow's ``Tensor::FromProto``:

- ``tensor_content`` (raw little-endian bytes) is read with ``np.frombuffer``
  without copying: the array is read-only and shares the proto's bytes.
  DT_STRING content uses TensorFlow's string-list encoding (varint32 lengths,
  then the bytes).
- Otherwise the typed field of the dtype (``float_val``, ``half_val``,
  ``int_val``, ``string_val``, …) holds the values, in row-major order. Fewer
  values than the shape needs is TensorFlow's compressed form: the last value
  repeats to the end (so one value fills the shape), and no value at all means
  zeros.

Unlike TensorFlow, sigserve never drops or truncates what a client sent: more
values than the shape holds, integers out of range for the dtype, values in a
field that does not belong to the dtype, or ``tensor_content`` next to typed
values are INVALID_ARGUMENT errors.

Encoding writes ``tensor_content`` (``as_content=True``, TF's
``AsProtoTensorContent``) or the typed field (``as_content=False``, TF's
``AsProtoField``, which is what TF Serving answers Predict with unless it runs
with ``--enable_serialization_as_tensor_content``). Strings always go to
``string_val``: Python clients (``tf.make_ndarray``) cannot read them otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from sigserve import protos
from sigserve.codecs import dtypes
from sigserve.errors import ServingError, invalid_argument

# The typed field that holds each dtype's values (TensorFlow's ProtoHelper).
VALUE_FIELD: dict[str, str] = {
    "DT_FLOAT": "float_val",
    "DT_DOUBLE": "double_val",
    "DT_HALF": "half_val",
    "DT_BFLOAT16": "half_val",
    "DT_INT8": "int_val",
    "DT_INT16": "int_val",
    "DT_INT32": "int_val",
    "DT_UINT8": "int_val",
    "DT_UINT16": "int_val",
    "DT_INT64": "int64_val",
    "DT_UINT32": "uint32_val",
    "DT_UINT64": "uint64_val",
    "DT_BOOL": "bool_val",
    "DT_STRING": "string_val",
    "DT_COMPLEX64": "scomplex_val",
    "DT_COMPLEX128": "dcomplex_val",
}
_ALL_FIELDS = frozenset(VALUE_FIELD.values()) | {
    "resource_handle_val",
    "variant_val",
    "float8_val",  # absent from older protos (getattr default)
}
# The numpy type a typed field holds before it becomes the tensor's dtype.
_FIELD_NUMPY = {
    "half_val": np.int32,
    "int_val": np.int32,
    "scomplex_val": np.float32,
    "dcomplex_val": np.float64,
}
# The most bytes a padded (compressed) tensor may expand to.
MAX_EXPANDED_BYTES = 2**31 - 1


def to_numpy(proto: Any) -> np.ndarray:
    """The array a TensorProto describes (DT_STRING: an object array of bytes)."""
    name = dtypes.NAME.get(proto.dtype)
    if name is None or name == "DT_INVALID":
        raise invalid_argument(f"Unknown tensor dtype enum value: {proto.dtype}")
    np_dtype = dtypes.numpy_dtype(name)
    shape = _shape(proto.tensor_shape)
    count = math.prod(shape)
    field = VALUE_FIELD[name]
    _check_fields(proto, name, field)
    if proto.tensor_content:
        if name == "DT_STRING":
            return _decode_string_list(proto.tensor_content, count).reshape(shape)
        return _from_content(proto.tensor_content, np_dtype, name, shape, count)
    values = _typed_values(proto, name, field, np_dtype)
    return _expand(values, count, name, field).reshape(shape)


def decode_inputs(tensors: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """A request's named TensorProtos as arrays; errors name the input."""
    arrays = {}
    for alias, proto in tensors.items():
        try:
            arrays[alias] = to_numpy(proto)
        except ServingError as e:
            raise ServingError(e.code, f"tensor parsing error: {alias}: {e.message}") from None
    return arrays


def from_numpy(array: Any, dtype: str | None = None, *, as_content: bool = True) -> Any:
    """A new TensorProto holding ``array`` (see :func:`fill`)."""
    proto = protos.tensor_pb2.TensorProto()
    fill(proto, array, dtype, as_content=as_content)
    return proto


def fill(proto: Any, array: Any, dtype: str | None = None, *, as_content: bool = True) -> None:
    """Write ``array`` into an empty TensorProto (e.g. ``response.outputs[key]``).

    ``dtype`` (a DT_* name) defaults to the array's own; a dtype that cannot
    hold every value of the array exactly is an error, never a silent cast.
    """
    array = _as_dtype(np.asarray(array), dtype)
    name = dtype or dtypes.tf_dtype(array)
    proto.dtype = dtypes.ENUM[name]
    for size in array.shape:
        proto.tensor_shape.dim.add().size = size
    if name == "DT_STRING":
        proto.string_val.extend(array.ravel().tolist())
    elif as_content:
        proto.tensor_content = _little_endian(array).tobytes()
    else:
        _write_typed(proto, array, name)


def _shape(shape_proto: Any) -> tuple[int, ...]:
    if shape_proto.unknown_rank:
        raise invalid_argument("tensor_shape has an unknown rank; a tensor needs a full shape")
    sizes = tuple(dim.size for dim in shape_proto.dim)
    if any(size < 0 for size in sizes):
        raise invalid_argument(f"tensor_shape has a negative dimension: {list(sizes)}")
    return sizes


def _check_fields(proto: Any, name: str, field: str) -> None:
    for other in _ALL_FIELDS - {field}:
        if len(getattr(proto, other, ())):
            raise invalid_argument(f"{name} tensor has values in {other}; expected {field}")
    if proto.tensor_content and len(getattr(proto, field)):
        raise invalid_argument(f"{name} tensor has both tensor_content and {field}")


def _from_content(
    content: bytes, np_dtype: np.dtype, name: str, shape: tuple[int, ...], count: int
) -> np.ndarray:
    expected = count * np_dtype.itemsize
    if len(content) != expected:
        raise invalid_argument(
            f"tensor_content has {len(content)} bytes; a {name} tensor of shape "
            f"{list(shape)} needs {expected}"
        )
    return np.frombuffer(content, dtype=np_dtype).reshape(shape)


def _decode_string_list(content: bytes, count: int) -> np.ndarray:
    """TensorFlow's string tensor_content: ``count`` varint32 lengths, then the bytes."""
    lengths, pos = [], 0
    for _ in range(count):
        length, shift = 0, 0
        while True:
            if pos >= len(content) or shift > 28:
                raise invalid_argument("DT_STRING tensor_content has a malformed length prefix")
            byte = content[pos]
            pos += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        lengths.append(length)
    if pos + sum(lengths) != len(content):
        raise invalid_argument(f"DT_STRING tensor_content does not hold exactly {count} strings")
    values = np.empty(count, dtype=object)
    for i, length in enumerate(lengths):
        values[i] = content[pos : pos + length]
        pos += length
    return values


def _typed_values(proto: Any, name: str, field: str, np_dtype: np.dtype) -> np.ndarray:
    raw = getattr(proto, field)
    if name == "DT_STRING":
        values = np.empty(len(raw), dtype=object)
        values[:] = list(raw)
        return values
    held = np.dtype(_FIELD_NUMPY.get(field, np_dtype))
    values = np.array(raw, dtype=held)  # protobuf's repeated fields convert fast
    if field == "half_val":
        _check_range(values, np.dtype(np.uint16), name, field)
        return values.astype(np.uint16).view(np_dtype)
    if field in ("scomplex_val", "dcomplex_val"):
        if len(values) % 2:
            raise invalid_argument(f"{field} holds an odd number of floats: {len(values)}")
        return values.view(np_dtype)
    if held != np_dtype:
        _check_range(values, np_dtype, name, field)
        return values.astype(np_dtype)
    return values


def _check_range(values: np.ndarray, target: np.dtype, name: str, field: str) -> None:
    info = np.iinfo(target)
    if values.size and (values.min() < info.min or values.max() > info.max):
        raise invalid_argument(
            f"{field} value out of range for {name}: expected {info.min}..{info.max}"
        )


def _expand(values: np.ndarray, count: int, name: str, field: str) -> np.ndarray:
    """TensorFlow's compressed form: pad with the last value; nothing means zeros."""
    if len(values) == count:
        return values
    if len(values) > count:
        raise invalid_argument(
            f"{field} holds {len(values)} values; the {name} tensor's shape holds {count}"
        )
    if count * values.dtype.itemsize > MAX_EXPANDED_BYTES:
        raise invalid_argument(
            f"{name} tensor of {count} elements is too large to expand from {len(values)} values"
        )
    if len(values) == 0:
        fill_value: Any = b"" if name == "DT_STRING" else 0
    else:
        fill_value = values[-1]
    expanded = np.full(count, fill_value, dtype=values.dtype)
    expanded[: len(values)] = values
    return expanded


def _as_dtype(array: np.ndarray, dtype: str | None) -> np.ndarray:
    if array.dtype.kind in "OSU" and dtype in (None, "DT_STRING"):
        return _as_bytes(array)
    if dtype is None or dtypes.tf_dtype(array) == dtype:
        return array
    target = dtypes.numpy_dtype(dtype)
    if dtype == "DT_STRING" or not np.can_cast(array.dtype, target, casting="safe"):
        raise invalid_argument(f"Cannot encode a {array.dtype} array as {dtype} without loss")
    return array.astype(target)


def _as_bytes(array: np.ndarray) -> np.ndarray:
    """A string array as an object array of bytes (str is UTF-8 encoded)."""
    out = np.empty(array.shape, dtype=object)
    flat = out.reshape(-1)
    for i, item in enumerate(array.reshape(-1).tolist()):
        if isinstance(item, str):
            item = item.encode("utf-8")
        if not isinstance(item, bytes):
            raise invalid_argument(f"DT_STRING tensor item is {type(item).__name__}, not bytes")
        flat[i] = item
    return out


def _little_endian(array: np.ndarray) -> np.ndarray:
    if array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("<"))
    return np.ascontiguousarray(array)


def _write_typed(proto: Any, array: np.ndarray, name: str) -> None:
    field = VALUE_FIELD[name]
    flat = array.ravel()
    if field == "half_val":
        flat = flat.view(np.uint16)
    elif field == "scomplex_val":
        flat = flat.astype(np.complex64, copy=False).view(np.float32)
    elif field == "dcomplex_val":
        flat = flat.view(np.float64)
    if flat.dtype.kind == "f" and flat.dtype.itemsize in (4, 8):
        # Fixed-width values: hand protobuf the packed field's bytes in one go
        # instead of one Python float per element.
        number = proto.DESCRIPTOR.fields_by_name[field].number
        data = _little_endian(flat).tobytes()
        proto.MergeFromString(_varint(number << 3 | 2) + _varint(len(data)) + data)
        return
    getattr(proto, field).extend(flat.tolist())


def _varint(value: int) -> bytes:
    """A non-negative integer in protobuf's varint encoding."""
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)
