"""Small value types shared by codecs, service and runtime (no TensorFlow here).

A DT_STRING tensor is always a numpy ``object`` array whose items are ``bytes``.
Shapes use ``-1`` for an unknown dimension and ``None`` for an unknown rank,
exactly as a SignatureDef's ``TensorShapeProto`` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TensorInfo:
    """One input or output of a signature."""

    dtype: str  # a TF DataType name: "DT_FLOAT", "DT_STRING", ...
    shape: tuple[int, ...] | None  # None: unknown rank; -1: unknown dimension
    name: str = ""  # the graph tensor name, e.g. "x:0"


@dataclass(frozen=True)
class SignatureInfo:
    """One signature of a servable: its method and its named tensors."""

    method_name: str
    inputs: dict[str, TensorInfo] = field(default_factory=dict)
    outputs: dict[str, TensorInfo] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelRef:
    """What a request names: a model, and at most one of version or label."""

    name: str
    version: int | None = None
    label: str | None = None


DEFAULT_SIGNATURE = "serving_default"

PREDICT_METHOD = "tensorflow/serving/predict"
CLASSIFY_METHOD = "tensorflow/serving/classify"
REGRESS_METHOD = "tensorflow/serving/regress"
