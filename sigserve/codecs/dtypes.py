"""TensorFlow DataType names and enum values, and their numpy dtypes.

The enum values are those of ``tensorflow/core/framework/types.proto``. A dtype
that numpy cannot hold (resources, variants, quantized types) has no entry in
:func:`numpy_dtype`, which raises instead of guessing.
"""

from __future__ import annotations

import numpy as np

from sigserve.errors import invalid_argument

# name -> DataType enum value (types.proto)
ENUM: dict[str, int] = {
    "DT_INVALID": 0,
    "DT_FLOAT": 1,
    "DT_DOUBLE": 2,
    "DT_INT32": 3,
    "DT_UINT8": 4,
    "DT_INT16": 5,
    "DT_INT8": 6,
    "DT_STRING": 7,
    "DT_COMPLEX64": 8,
    "DT_INT64": 9,
    "DT_BOOL": 10,
    "DT_QINT8": 11,
    "DT_QUINT8": 12,
    "DT_QINT32": 13,
    "DT_BFLOAT16": 14,
    "DT_QINT16": 15,
    "DT_QUINT16": 16,
    "DT_UINT16": 17,
    "DT_COMPLEX128": 18,
    "DT_HALF": 19,
    "DT_RESOURCE": 20,
    "DT_VARIANT": 21,
    "DT_UINT32": 22,
    "DT_UINT64": 23,
}
NAME: dict[int, str] = {v: k for k, v in ENUM.items()}


def _bfloat16() -> np.dtype:
    import ml_dtypes  # shipped with TensorFlow; only needed for DT_BFLOAT16

    return np.dtype(ml_dtypes.bfloat16)


_NUMPY: dict[str, str] = {
    "DT_FLOAT": "float32",
    "DT_DOUBLE": "float64",
    "DT_HALF": "float16",
    "DT_INT8": "int8",
    "DT_INT16": "int16",
    "DT_INT32": "int32",
    "DT_INT64": "int64",
    "DT_UINT8": "uint8",
    "DT_UINT16": "uint16",
    "DT_UINT32": "uint32",
    "DT_UINT64": "uint64",
    "DT_BOOL": "bool",
    "DT_STRING": "object",
    "DT_COMPLEX64": "complex64",
    "DT_COMPLEX128": "complex128",
}


def numpy_dtype(dtype: str) -> np.dtype:
    """The numpy dtype that holds a tensor of TF dtype ``dtype`` (a DT_* name)."""
    if dtype == "DT_BFLOAT16":
        return _bfloat16()
    try:
        return np.dtype(_NUMPY[dtype])
    except KeyError:
        raise invalid_argument(f"Unsupported tensor dtype: {dtype}") from None


def tf_dtype(array: np.ndarray) -> str:
    """The DT_* name for a numpy array's dtype (object and bytes arrays are DT_STRING)."""
    kind = array.dtype
    if kind.kind in "OSU":
        return "DT_STRING"
    if kind.name == "bfloat16":
        return "DT_BFLOAT16"
    for name, np_name in _NUMPY.items():
        if np_name == kind.name:
            return name
    raise invalid_argument(f"Unsupported numpy dtype: {kind}")


# TensorFlow's DataTypeString names ("float", "int64", ...), used in TF Serving's
# error messages: the DT_* name without its prefix, in lower case.
TF_TYPE_NAME: dict[str, str] = {name: name[3:].lower() for name in (*_NUMPY, "DT_BFLOAT16")}
