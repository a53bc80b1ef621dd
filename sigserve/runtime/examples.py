"""The ``Input`` of Classify/Regress/MultiInference as one tensor of tf.Examples.

TF Serving (``util.cc`` InputToSerializedExampleTensor) feeds classify and
regress signatures a 1-D DT_STRING tensor with one serialized tf.Example per
row. With ``example_list_with_context`` each row is the context's bytes
followed by the example's bytes: parsing that concatenation merges the two, so
every example carries the context's features and, where both name the same
feature, the example's own value wins (protobuf map merging: last entry wins).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sigserve.errors import invalid_argument

if TYPE_CHECKING:
    from tensorflow_serving.apis import input_pb2


def serialized_examples(request_input: input_pb2.Input) -> np.ndarray:
    """A 1-D object array of serialized tf.Examples, or INVALID_ARGUMENT ``Input is empty.``"""
    kind = request_input.WhichOneof("kind")
    rows: list[bytes]
    if kind == "example_list":
        rows = [example.SerializeToString() for example in request_input.example_list.examples]
    elif kind == "example_list_with_context":
        with_context = request_input.example_list_with_context
        context = with_context.context.SerializeToString()
        rows = [context + example.SerializeToString() for example in with_context.examples]
    else:
        rows = []
    if not rows:
        raise invalid_argument("Input is empty.")
    tensor = np.empty(len(rows), dtype=object)
    tensor[:] = rows
    return tensor
