"""``ModelSpec`` in and out: what a request names, what a response reports."""

from __future__ import annotations

from typing import Any

from sigserve.errors import invalid_argument
from sigserve.service import ResolvedSpec, model_ref_from_spec
from sigserve.types import ModelRef


def requested(request: Any) -> ModelRef:
    """The model a request names; TF Serving refuses a request without a ModelSpec."""
    if not request.HasField("model_spec"):
        raise invalid_argument("Missing ModelSpec")
    return model_ref_from_spec(request.model_spec)


def resolved(spec_proto: Any, spec: ResolvedSpec) -> None:
    """Fill a response's ``model_spec`` with what answered (TF's MakeModelSpec)."""
    spec_proto.name = spec.name
    spec_proto.version.value = spec.version
    if spec.signature_name:
        spec_proto.signature_name = spec.signature_name
