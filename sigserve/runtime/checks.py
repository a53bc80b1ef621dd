"""Check request tensors against a signature before TensorFlow sees them.

Messages follow TF Serving's (``predict_util.cc``, TensorFlow's session) so
clients see the same text. Shapes are not checked here: like TF Serving, a
tensor whose shape differs from the signature's is handed to TensorFlow, which
runs it when the graph allows (``[2.0, 3.0]`` into a ``[-1, 1]`` input works in
TF Serving) and otherwise fails with its own message.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from sigserve.codecs.dtypes import TF_TYPE_NAME as _TF_TYPE_NAME
from sigserve.codecs.dtypes import numpy_dtype, tf_dtype
from sigserve.errors import invalid_argument
from sigserve.types import SignatureInfo, TensorInfo


def check_inputs(
    signature: SignatureInfo, inputs: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The inputs, checked for names, dtypes and shapes against ``signature``."""
    expected = signature.inputs
    if set(inputs) != set(expected):
        sent, wanted = sorted(inputs), sorted(expected)
        extra = sorted(set(sent) - set(wanted))
        missing = sorted(set(wanted) - set(sent))
        raise invalid_argument(
            f"input size does not match signature: {len(sent)}!={len(wanted)} "
            f"len({{{','.join(sent)}}}) != len({{{','.join(wanted)}}}). "
            f"Sent extra: {{{','.join(extra)}}}. Missing but required: {{{','.join(missing)}}}."
        )
    checked: dict[str, np.ndarray] = {}
    for index, name in enumerate(sorted(expected)):
        checked[name] = _check_one(index, name, expected[name], inputs[name])
    return checked


def _check_one(index: int, name: str, info: TensorInfo, array: np.ndarray) -> np.ndarray:
    want = numpy_dtype(info.dtype)
    got = array.dtype
    if info.dtype == "DT_STRING":
        if got.kind not in "OS":
            raise _dtype_error(index, info.dtype, _tf_name_of(array))
    elif got != want:
        raise _dtype_error(index, info.dtype, _tf_name_of(array))
    return array


def _tf_name_of(array: np.ndarray) -> str:
    try:
        return _TF_TYPE_NAME.get(tf_dtype(array), str(array.dtype))
    except Exception:
        return str(array.dtype)


def _dtype_error(index: int, expected: str, got: str) -> Exception:
    return invalid_argument(
        f"Expects arg[{index}] to be {_TF_TYPE_NAME.get(expected, expected)} but {got} is provided"
    )
