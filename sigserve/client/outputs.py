"""Outputs decoded from JSON, given the dtypes their signature declares.

JSON carries numbers as text, so a decoded float32 output would be float64 and
an int32 one int64. TF Serving writes each float32 in text that reads back to
the same float32 (``%.6g``, else ``%.9g``), so casting to the signature's dtype
gives exactly the tensor the gRPC API sends.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from sigserve.codecs.dtypes import numpy_dtype
from sigserve.errors import ServingError
from sigserve.types import TensorInfo


def like_signature(
    outputs: np.ndarray | dict[str, np.ndarray], infos: Mapping[str, TensorInfo]
) -> np.ndarray | dict[str, np.ndarray]:
    """``outputs`` (one array for a one-output answer) cast to the dtypes in ``infos``."""
    if isinstance(outputs, dict):
        return {name: _cast(value, infos.get(name)) for name, value in outputs.items()}
    only = next(iter(infos.values())) if len(infos) == 1 else None
    return _cast(outputs, only)


def _cast(array: np.ndarray, info: TensorInfo | None) -> np.ndarray:
    if info is None or info.dtype == "DT_STRING" or array.dtype == object:
        return array
    try:
        dtype = numpy_dtype(info.dtype)
    except ServingError:  # a dtype JSON cannot carry
        return array
    return array if array.dtype == dtype else array.astype(dtype)
