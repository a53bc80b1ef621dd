"""Check request tensors against a signature before TensorFlow sees them.

Messages follow TF Serving's (``predict_util.cc``, TensorFlow's session) so
clients see the same text, then say what the signature expects
(:mod:`sigserve.signature_text`). Shapes are not checked here: like TF Serving, a
tensor whose shape differs from the signature's is handed to TensorFlow, which
runs it when the graph allows (``[2.0, 3.0]`` into a ``[-1, 1]`` input works in
TF Serving) and otherwise fails with its own message.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from sigserve.codecs.dtypes import TF_TYPE_NAME as _TF_TYPE_NAME
from sigserve.codecs.dtypes import numpy_dtype, tf_dtype
from sigserve.errors import ServingError, invalid_argument
from sigserve.signature_text import with_expected_inputs
from sigserve.types import SignatureInfo, TensorInfo


def check_inputs(
    signature: SignatureInfo, inputs: Mapping[str, np.ndarray], signature_name: str = ""
) -> dict[str, np.ndarray]:
    """The inputs, checked for names and dtypes against ``signature`` (named
    ``signature_name`` in messages, which end with what it expects)."""
    expected = signature.inputs
    if set(inputs) != set(expected):
        sent, wanted = sorted(inputs), sorted(expected)
        extra = sorted(set(sent) - set(wanted))
        missing = sorted(set(wanted) - set(sent))
        raise with_expected_inputs(
            invalid_argument(
                f"input size does not match signature: {len(sent)}!={len(wanted)} "
                f"len({{{','.join(sent)}}}) != len({{{','.join(wanted)}}}). "
                f"Sent extra: {{{','.join(extra)}}}. "
                f"Missing but required: {{{','.join(missing)}}}."
            ),
            signature_name,
            expected,
        )
    checked: dict[str, np.ndarray] = {}
    for index, name in enumerate(sorted(expected)):
        try:
            checked[name] = _check_one(index, name, expected[name], inputs[name])
        except ServingError as e:
            raise with_expected_inputs(e, signature_name, expected) from None
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
