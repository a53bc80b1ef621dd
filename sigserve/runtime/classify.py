"""Classification signatures: which ones qualify, and their outputs as a result proto.

Rules and messages follow TF Serving's ``classifier.cc``
(PreProcessClassification / PostProcessClassificationResult): one input
``inputs`` (the serialized tf.Examples), one or two outputs among ``classes``
(DT_STRING ``[batch, num_classes]``) and ``scores`` (DT_FLOAT
``[batch, num_classes]``). Every failure is INVALID_ARGUMENT.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from sigserve import protos
from sigserve.errors import internal, invalid_argument
from sigserve.runtime.tensor_text import dtype_text, shape_text, signature_text
from sigserve.types import CLASSIFY_METHOD

if TYPE_CHECKING:
    from tensorflow.core.protobuf import meta_graph_pb2
    from tensorflow_serving.apis import classification_pb2

INPUTS = "inputs"
CLASSES = "classes"
SCORES = "scores"


def check_method(signature: meta_graph_pb2.SignatureDef, method: str, what: str) -> None:
    """``--enable_signature_method_name_check``: the signature's method must be ``method``."""
    if signature.method_name != method:
        raise invalid_argument(
            f"Expected {what} signature method_name to be {method}. Was: {signature.method_name}"
        )


def classification_outputs(
    signature: meta_graph_pb2.SignatureDef, *, check_method_name: bool = False
) -> list[str]:
    """The output keys to fetch (``classes`` and/or ``scores``), or why the signature
    cannot classify."""
    if check_method_name:
        check_method(signature, CLASSIFY_METHOD, "classification")
    if len(signature.inputs) != 1:
        raise invalid_argument("Expected one input Tensor.")
    if len(signature.outputs) not in (1, 2):
        raise invalid_argument(
            f"Expected one or two output Tensors, found {len(signature.outputs)}"
        )
    if INPUTS not in signature.inputs:
        raise invalid_argument(
            f"No classification inputs found in SignatureDef: {signature_text(signature)}"
        )
    outputs = [key for key in (CLASSES, SCORES) if key in signature.outputs]
    if not outputs:
        raise invalid_argument(
            "Expected classification signature outputs to contain at least one of "
            f'"{CLASSES}" or "{SCORES}". Signature was: {signature_text(signature)}'
        )
    return outputs


def classification_result(
    outputs: Mapping[str, np.ndarray], num_examples: int
) -> classification_pb2.ClassificationResult:
    """One ``Classifications`` per example, one ``Class`` per column of the outputs."""
    classes, scores = outputs.get(CLASSES), outputs.get(SCORES)
    if classes is not None:
        _check_matrix(CLASSES, classes, "DT_STRING", num_examples)
    if scores is not None:
        _check_matrix(SCORES, scores, "DT_FLOAT", num_examples)
    if classes is not None and scores is not None and classes.shape[1] != scores.shape[1]:
        raise invalid_argument(
            "Tensors class and score should match in dim_size(1). "
            f"Got {classes.shape[1]} vs. {scores.shape[1]}"
        )
    labels = [[_label(v) for v in row] for row in classes.tolist()] if classes is not None else None
    values = scores.tolist() if scores is not None else None
    num_classes = next(t.shape[1] for t in (classes, scores) if t is not None)
    result = protos.classification_pb2.ClassificationResult()
    for i in range(num_examples):
        entries = result.classifications.add().classes
        for c in range(num_classes):
            entry = entries.add()
            if labels is not None:
                entry.label = labels[i][c]
            if values is not None:
                entry.score = values[i][c]
    return result


def _check_matrix(key: str, tensor: np.ndarray, dtype: str, num_examples: int) -> None:
    if tensor.ndim != 2:
        raise invalid_argument(
            f"Expected Tensor shape: [batch_size num_classes] but got {shape_text(tensor)}"
        )
    if dtype_text(tensor) != dtype:
        raise invalid_argument(f"Expected {key} Tensor of {dtype}. Got: {dtype_text(tensor)}")
    if tensor.shape[0] != num_examples:
        raise invalid_argument(
            f"Expected {key} output batch size of {num_examples}. Got: {tensor.shape[0]}"
        )


def _label(value: bytes | str) -> str:
    """A ``classes`` entry as the proto's string label. TF Serving copies the bytes;
    a protobuf string must be UTF-8, so other bytes are an error rather than
    being altered."""
    if isinstance(value, str):
        return value
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise internal(f"Classification label is not valid UTF-8: {value!r}") from None
