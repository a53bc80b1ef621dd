"""Shapes, dtypes and SignatureDefs written as TensorFlow writes them in messages.

TF Serving's classify/regress errors quote ``TensorShape::DebugString()``
(``[2,3]``), ``DataType_Name()`` (``DT_INT32``) and ``SignatureDef::DebugString()``
(protobuf text format); these give the same text from numpy arrays and protos.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sigserve.codecs.dtypes import tf_dtype
from sigserve.errors import ServingError

if TYPE_CHECKING:
    from tensorflow.core.protobuf import meta_graph_pb2


def shape_text(array: np.ndarray) -> str:
    """``[2,3]`` for a 2x3 array, ``[]`` for a scalar."""
    return "[" + ",".join(str(d) for d in array.shape) + "]"


def dtype_text(array: np.ndarray) -> str:
    """``DT_FLOAT``, ``DT_STRING``, ...; the numpy name when TensorFlow has none."""
    try:
        return tf_dtype(array)
    except ServingError:
        return str(array.dtype)


def signature_text(signature: meta_graph_pb2.SignatureDef) -> str:
    """The SignatureDef in protobuf text format (what C++ ``DebugString()`` prints)."""
    from google.protobuf import text_format

    return text_format.MessageToString(signature)
