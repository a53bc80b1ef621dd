"""What ``status()`` and ``metadata()`` return, the same over REST and gRPC.

Both clients turn TF Serving's answers (REST's JSON, gRPC's protos) into these
plain dataclasses, so code written against one transport works with the other::

    client.status("m")    -> [VersionStatus(version=2, state="AVAILABLE",
                                            error_code="OK", error_message="")]
    client.metadata("m")  -> ModelMetadata(name="m", version=2, signatures={
                                 "serving_default": SignatureInfo(
                                     method_name="tensorflow/serving/predict",
                                     inputs={"x": TensorInfo("DT_FLOAT", (-1, 1), "x:0")},
                                     outputs={...})})

Shapes use ``-1`` for an unknown dimension and ``None`` for an unknown rank, as a
SignatureDef does; dtypes are TensorFlow's ``DT_*`` names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sigserve.codecs.dtypes import NAME as DTYPE_NAME
from sigserve.errors import Code
from sigserve.types import SignatureInfo, TensorInfo

__all__ = ["ModelMetadata", "SignatureInfo", "TensorInfo", "VersionStatus"]


@dataclass(frozen=True)
class VersionStatus:
    """One version of a model, as ``GetModelStatus`` reports it."""

    version: int
    state: str  # START, LOADING, AVAILABLE, UNLOADING, END
    error_code: str = "OK"  # a canonical code name
    error_message: str = ""


@dataclass(frozen=True)
class ModelMetadata:
    """``GetModelMetadata``: the version answering and its signatures by name."""

    name: str
    version: int
    signatures: dict[str, SignatureInfo] = field(default_factory=dict)


# REST (TF Serving's JSON rendering of the same protos)


def status_from_json(doc: Mapping[str, Any]) -> list[VersionStatus]:
    return [
        VersionStatus(
            version=int(entry.get("version", 0)),
            state=str(entry.get("state", "UNKNOWN")),
            error_code=str(entry.get("status", {}).get("error_code", "OK")),
            error_message=str(entry.get("status", {}).get("error_message", "")),
        )
        for entry in doc.get("model_version_status", [])
    ]


def metadata_from_json(doc: Mapping[str, Any]) -> ModelMetadata:
    spec = doc.get("model_spec", {})
    signature_defs = doc.get("metadata", {}).get("signature_def", {}).get("signature_def", {})
    return ModelMetadata(
        name=str(spec.get("name", "")),
        version=int(spec.get("version") or 0),
        signatures={
            name: _signature_from_json(sig) for name, sig in sorted(signature_defs.items())
        },
    )


def _signature_from_json(sig: Mapping[str, Any]) -> SignatureInfo:
    return SignatureInfo(
        method_name=str(sig.get("method_name", "")),
        inputs={k: _tensor_from_json(v) for k, v in sorted(sig.get("inputs", {}).items())},
        outputs={k: _tensor_from_json(v) for k, v in sorted(sig.get("outputs", {}).items())},
    )


def _tensor_from_json(info: Mapping[str, Any]) -> TensorInfo:
    shape_doc = info.get("tensor_shape", {})
    shape: tuple[int, ...] | None = None
    if not shape_doc.get("unknown_rank", False):
        shape = tuple(int(d.get("size", -1)) for d in shape_doc.get("dim", []))
    return TensorInfo(dtype=str(info.get("dtype", "DT_INVALID")), shape=shape,
                      name=str(info.get("name", "")))  # fmt: skip


# gRPC (the protos themselves)


def status_from_proto(response: Any) -> list[VersionStatus]:
    return [
        VersionStatus(
            version=int(entry.version),
            state=type(entry).State.Name(entry.state),
            error_code=_code_name(entry.status.error_code),
            error_message=entry.status.error_message,
        )
        for entry in response.model_version_status
    ]


def metadata_from_proto(response: Any, signature_defs: Mapping[str, Any]) -> ModelMetadata:
    return ModelMetadata(
        name=response.model_spec.name,
        version=int(response.model_spec.version.value),
        signatures={
            name: _signature_from_proto(sig) for name, sig in sorted(signature_defs.items())
        },
    )


def _signature_from_proto(sig: Any) -> SignatureInfo:
    return SignatureInfo(
        method_name=sig.method_name,
        inputs={k: _tensor_from_proto(v) for k, v in sorted(sig.inputs.items())},
        outputs={k: _tensor_from_proto(v) for k, v in sorted(sig.outputs.items())},
    )


def _tensor_from_proto(info: Any) -> TensorInfo:
    shape: tuple[int, ...] | None = None
    if not info.tensor_shape.unknown_rank:
        shape = tuple(int(d.size) for d in info.tensor_shape.dim)
    return TensorInfo(dtype=DTYPE_NAME.get(info.dtype, "DT_INVALID"), shape=shape, name=info.name)


def _code_name(code: int) -> str:
    try:
        return Code(code).name
    except ValueError:
        return str(code)
