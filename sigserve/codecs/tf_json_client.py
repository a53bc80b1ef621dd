"""TF Serving's Predict JSON, the client's side: numpy to a request, an answer to numpy."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson

from sigserve.codecs.json_floats import json_float_value
from sigserve.codecs.json_values import (
    debug_string,
    decode_b64,
    dense_shape,
    flatten,
    is_b64,
    parse_json,
)
from sigserve.codecs.tf_json import Format
from sigserve.errors import invalid_argument


def _client_value(array: np.ndarray) -> Any:
    if array.dtype == object or array.dtype.kind in "SU":
        flat = []
        for item in array.ravel().tolist():
            if isinstance(item, bytes):
                flat.append({"b64": base64.b64encode(item).decode("ascii")})
            else:
                flat.append(str(item))
        return np.array(flat, dtype=object).reshape(array.shape).tolist()
    if array.dtype.kind == "f" or array.dtype.name == "bfloat16":
        return json_float_value(array)  # TF Serving's float text; NaN, Infinity as literals
    return array.item() if array.ndim == 0 else np.ascontiguousarray(array)


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
        doc["instances"] = [{k: _row(v, i) for k, v in values.items()} for i in range(batch)]
    else:
        doc["instances"] = values[""]
    return orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY)


def _row(value: Any, index: int) -> Any:
    row = value[index]
    return row.item() if isinstance(row, np.ndarray) and row.ndim == 0 else row


def _from_json(value: Any, dtype: np.dtype | None = None) -> np.ndarray:
    """A JSON value as an array; numbers in ``dtype`` when given (exact for int64/uint64,
    which a float64 detour would round)."""
    leaves: list[Any] = []
    shape = dense_shape(value)
    flatten(value, shape, 0, leaves, _any_leaf)
    if leaves and all(isinstance(v, (str, dict)) for v in leaves):
        data = [
            decode_b64(v) if isinstance(v, dict) else v.encode("utf-8", "surrogateescape")
            for v in leaves
        ]
        return np.array(data, dtype=object).reshape(shape)
    return np.array(leaves, dtype=dtype).reshape(shape)


def _any_leaf(value: Any) -> None:
    pass


def decode_predict_response(
    body: bytes | str, dtypes: Mapping[str, np.dtype] | None = None
) -> np.ndarray | dict[str, np.ndarray]:
    """The outputs of a Predict answer: one array, or a dict by output name; numeric
    outputs in ``dtypes`` (by output name, e.g. from the signature) where given."""
    dtypes = dtypes or {}
    only = next(iter(dtypes.values())) if len(dtypes) == 1 else None
    doc = parse_json(body)
    if not isinstance(doc, dict):
        raise invalid_argument(f"Unexpected response: {debug_string(doc)}")
    if "error" in doc:
        raise invalid_argument(str(doc["error"]))
    if "outputs" in doc:
        outputs = doc["outputs"]
        if isinstance(outputs, dict) and not is_b64(outputs):
            return {k: _from_json(v, dtypes.get(k)) for k, v in outputs.items()}
        return _from_json(outputs, only)
    if "predictions" in doc:
        rows = doc["predictions"]
        if rows and isinstance(rows[0], dict) and not is_b64(rows[0]):
            return {k: _from_json([row[k] for row in rows], dtypes.get(k)) for k in rows[0]}
        return _from_json(rows, only)
    raise invalid_argument(f"Unexpected response: {debug_string(doc)}")
