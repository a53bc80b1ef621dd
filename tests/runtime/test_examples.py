"""Input protos as one tensor of serialized tf.Examples (no TensorFlow runtime)."""

from __future__ import annotations

import pytest

from sigserve import protos
from sigserve.errors import Code, ServingError
from sigserve.runtime.examples import serialized_examples


def example(**features: float | bytes) -> object:
    e = protos.example_pb2.Example()
    for name, value in features.items():
        feature = e.features.feature[name]
        if isinstance(value, bytes):
            feature.bytes_list.value.append(value)
        else:
            feature.float_list.value.append(value)
    return e


def parsed(row: bytes) -> object:
    return protos.example_pb2.Example.FromString(row)


def test_example_list_is_one_row_per_example_in_order() -> None:
    request_input = protos.input_pb2.Input()
    request_input.example_list.examples.extend([example(x=1.0), example(x=2.0, s=b"\xff\x00")])
    tensor = serialized_examples(request_input)
    assert tensor.dtype == object and tensor.shape == (2,)
    assert all(isinstance(row, bytes) for row in tensor)
    assert parsed(tensor[0]) == example(x=1.0)
    assert parsed(tensor[1]) == example(x=2.0, s=b"\xff\x00")


def test_context_features_are_merged_into_each_example_and_examples_win() -> None:
    request_input = protos.input_pb2.Input()
    with_context = request_input.example_list_with_context
    with_context.context.CopyFrom(example(c=b"ctx", x=10.0))
    with_context.examples.extend([example(x=1.0), example(y=5.0)])
    rows = [parsed(row) for row in serialized_examples(request_input)]
    assert rows[0] == example(c=b"ctx", x=1.0)
    assert rows[1] == example(c=b"ctx", x=10.0, y=5.0)


def test_context_without_features_adds_nothing() -> None:
    request_input = protos.input_pb2.Input()
    request_input.example_list_with_context.examples.append(example(x=3.0))
    (row,) = serialized_examples(request_input)
    assert row == example(x=3.0).SerializeToString()


@pytest.mark.parametrize("touch", ["nothing", "example_list", "context_only"])
def test_empty_input_is_invalid_argument(touch: str) -> None:
    request_input = protos.input_pb2.Input()
    if touch == "example_list":
        request_input.example_list.SetInParent()
    elif touch == "context_only":
        request_input.example_list_with_context.context.CopyFrom(example(x=1.0))
    with pytest.raises(ServingError) as error:
        serialized_examples(request_input)
    assert error.value.code == Code.INVALID_ARGUMENT
    assert error.value.message == "Input is empty."


def test_empty_examples_still_count() -> None:
    request_input = protos.input_pb2.Input()
    request_input.example_list.examples.add()
    assert list(serialized_examples(request_input)) == [b""]
