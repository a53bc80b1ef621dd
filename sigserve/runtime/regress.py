"""Regression signatures: which ones qualify, and their output as a result proto.

Rules and messages follow TF Serving's ``regressor.cc`` (PreProcessRegression /
PostProcessRegressionResult): one input ``inputs`` (the serialized
tf.Examples), one output ``outputs``, DT_FLOAT of shape ``[batch]`` or
``[batch, 1]``. Every failure is INVALID_ARGUMENT.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from sigserve import protos
from sigserve.errors import invalid_argument
from sigserve.runtime.classify import INPUTS, check_method
from sigserve.runtime.tensor_text import dtype_text, shape_text, signature_text
from sigserve.types import REGRESS_METHOD

if TYPE_CHECKING:
    from tensorflow.core.protobuf import meta_graph_pb2
    from tensorflow_serving.apis import regression_pb2

OUTPUTS = "outputs"


def regression_outputs(
    signature: meta_graph_pb2.SignatureDef, *, check_method_name: bool = False
) -> list[str]:
    """The output keys to fetch (``outputs``), or why the signature cannot regress."""
    if check_method_name:
        check_method(signature, REGRESS_METHOD, "regression")
    if len(signature.inputs) != 1:
        raise invalid_argument("Expected one input Tensor.")
    if len(signature.outputs) != 1:
        raise invalid_argument("Expected one output Tensor.")
    if INPUTS not in signature.inputs:
        raise invalid_argument(
            f"No regression inputs found in SignatureDef: {signature_text(signature)}"
        )
    if OUTPUTS not in signature.outputs:
        raise invalid_argument(
            f"No regression outputs found in SignatureDef: {signature_text(signature)}"
        )
    return [OUTPUTS]


def regression_result(
    outputs: Mapping[str, np.ndarray], num_examples: int
) -> regression_pb2.RegressionResult:
    """One ``Regression`` per example."""
    tensor = outputs[OUTPUTS]
    if not (tensor.ndim == 1 or (tensor.ndim == 2 and tensor.shape[1] == 1)):
        raise invalid_argument(
            "Expected output Tensor shape to be either [batch_size] or [batch_size, 1] "
            f"but got {shape_text(tensor)}"
        )
    if tensor.shape[0] != num_examples:
        raise invalid_argument(
            "Input batch size did not match output batch size: "
            f"{num_examples} vs. {tensor.shape[0]}"
        )
    if dtype_text(tensor) != "DT_FLOAT":
        raise invalid_argument(f"Expected output Tensor of DT_FLOAT.  Got: {dtype_text(tensor)}")
    result = protos.regression_pb2.RegressionResult()
    for value in tensor.reshape(-1).tolist():
        result.regressions.add().value = value
    return result
