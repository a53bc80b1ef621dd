"""The numpy dtypes a signature declares for its outputs, to decode JSON answers.

JSON carries numbers as text, so without them a float32 output would decode as
float64 and an int32 one as int64. TF Serving writes each float32 in text that
reads back to the same float32 (``%.6g``, else ``%.9g``) and integers exactly,
so decoding in the signature's dtypes gives exactly the tensors the gRPC API
sends.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from sigserve.codecs.dtypes import numpy_dtype
from sigserve.errors import ServingError
from sigserve.types import TensorInfo


def output_dtypes(infos: Mapping[str, TensorInfo]) -> dict[str, np.dtype]:
    """``{output name: numpy dtype}`` for the numeric and bool outputs in ``infos``."""
    dtypes: dict[str, np.dtype] = {}
    for name, info in infos.items():
        if info.dtype == "DT_STRING":
            continue
        try:
            dtypes[name] = numpy_dtype(info.dtype)
        except ServingError:  # a dtype JSON cannot carry
            continue
    return dtypes
