"""Example request bodies for a signature, in TF Serving's row and columnar JSON.

Pure: built from the signature's declared dtypes and shapes (one batch row, an
unknown dimension taken as 1, an unknown rank as a scalar).
"""

from __future__ import annotations

import json
from typing import Any

from sigserve.types import CLASSIFY_METHOD, REGRESS_METHOD, SignatureInfo, TensorInfo

_FLOATS = {"DT_FLOAT", "DT_DOUBLE", "DT_HALF", "DT_BFLOAT16"}
_INTS = {"DT_INT8", "DT_INT16", "DT_INT32", "DT_INT64", "DT_UINT8", "DT_UINT16", "DT_UINT32",
         "DT_UINT64"}  # fmt: skip


def scalar_example(info: TensorInfo, input_name: str) -> Any:
    """One JSON value of the tensor's dtype (``{"b64": ...}`` for ``*_bytes`` strings)."""
    base = info.dtype.removesuffix("_REF")
    if base in _FLOATS:
        return 0.5
    if base in _INTS:
        return 1
    if base == "DT_BOOL":
        return True
    if base == "DT_STRING":
        return {"b64": "AAEC"} if input_name.endswith("_bytes") else "text"
    return None


def _filled(shape: tuple[int, ...], value: Any) -> Any:
    if not shape:
        return value
    size = shape[0] if shape[0] >= 0 else 1
    return [_filled(shape[1:], value) for _ in range(size)]


def _full_value(info: TensorInfo, name: str) -> Any:
    """A value for the whole tensor (batch dimension included)."""
    return _filled(info.shape or (), scalar_example(info, name))


def _row_value(info: TensorInfo, name: str) -> Any:
    """A value for one instance: the tensor without its leading (batch) dimension."""
    return _filled((info.shape or ())[1:], scalar_example(info, name))


def row_body(key: str, signature: SignatureInfo) -> dict[str, Any] | None:
    """``{"signature_name", "instances"}``, or None when an input has no batch dimension."""
    if any(info.shape == () for info in signature.inputs.values()):
        return None
    instance = {name: _row_value(info, name) for name, info in signature.inputs.items()}
    return {"signature_name": key, "instances": [instance]}


def columnar_body(key: str, signature: SignatureInfo) -> dict[str, Any]:
    """``{"signature_name", "inputs": {name: value}}``."""
    inputs = {name: _full_value(info, name) for name, info in signature.inputs.items()}
    return {"signature_name": key, "inputs": inputs}


def unrepresentable_inputs(signature: SignatureInfo) -> list[str]:
    """Inputs whose dtype TF Serving's JSON cannot carry (complex, resource, ...)."""
    return [n for n, i in signature.inputs.items() if scalar_example(i, n) is None]


def bodies(key: str, signature: SignatureInfo) -> dict[str, Any]:
    """The example bodies for one signature, keyed by REST verb and format."""
    if signature.method_name in (CLASSIFY_METHOD, REGRESS_METHOD):
        verb = "classify" if signature.method_name == CLASSIFY_METHOD else "regress"
        return {"verb": verb, "examples": {"signature_name": key, "examples": [{}]}}
    if unrepresentable_inputs(signature):
        return {"verb": "predict", "unrepresentable": unrepresentable_inputs(signature)}
    return {
        "verb": "predict",
        "row": row_body(key, signature),
        "columnar": columnar_body(key, signature),
    }


def render(body: dict[str, Any], limit: int = 2000) -> str:
    """Compact JSON, cut to ``limit`` characters for the terminal (``--json`` has it all)."""
    text = json.dumps(body, separators=(", ", ": "))
    if len(text) <= limit:
        return text
    return text[:limit] + f" ... ({len(text)} characters; `sigserve inspect --json` has it all)"
