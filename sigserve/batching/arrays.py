"""The array work of batching, pure: merge requests, pad, split the answers back.

Each request is a dict of numpy inputs that share their 0th dimension (its
size). A batch concatenates the requests' inputs along dimension 0 in order,
optionally pads variable-length dimensions and the batch size, and after the
model call each output is cut back into the requests' rows. The rules and
messages are TF Serving's (``batching_session.cc``, ``batching_util.cc``):

- padding to an allowed batch size repeats the first row of the last request;
- with ``pad_variable_length_inputs`` every other dimension is padded up to the
  batch's largest, with the tensor's own first element as the pad value;
- every output must have the batch's size in dimension 0.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence

import numpy as np

from sigserve.errors import failed_precondition, invalid_argument

Tensors = Mapping[str, np.ndarray]


def request_size(inputs: Tensors) -> int:
    """The 0th-dimension size shared by all of a request's inputs (TF Serving's checks)."""
    if not inputs:
        raise invalid_argument("Batching Run() must have at least one input tensor")
    sizes = set()
    for array in inputs.values():
        if array.ndim == 0:
            raise invalid_argument(
                "Batching Run() input tensors must have at least one dimension"
            )
        sizes.add(array.shape[0])
    if len(sizes) > 1:
        raise invalid_argument("Batching Run() input tensors must have equal 0th-dimension size")
    return sizes.pop()


def padded_size(size: int, allowed_batch_sizes: Sequence[int]) -> int:
    """The smallest allowed batch size that holds ``size`` rows (``size`` if none is set)."""
    if not allowed_batch_sizes:
        return size
    index = bisect.bisect_left(allowed_batch_sizes, size)
    return allowed_batch_sizes[index] if index < len(allowed_batch_sizes) else size


def merge(
    requests: Sequence[Tensors], batch_size: int, *, pad_variable_length: bool = False
) -> dict[str, np.ndarray]:
    """The requests' inputs concatenated along dimension 0, padded to ``batch_size`` rows."""
    sizes = [request_size(r) for r in requests]
    padding = batch_size - sum(sizes)
    if padding < 0:
        raise invalid_argument(f"Batch of {sum(sizes)} rows does not fit in {batch_size}")
    merged = {}
    for name in requests[0]:
        parts = [np.asarray(r[name]) for r in requests]
        if pad_variable_length:
            target = _max_dims(parts)
            parts = [pad_dims(p, target) for p in parts]
        else:
            _check_same_dims(name, parts)
        if padding:
            parts.append(np.repeat(parts[-1][:1], padding, axis=0))
        merged[name] = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
    return merged


def split(outputs: Tensors, sizes: Sequence[int], batch_size: int) -> list[dict[str, np.ndarray]]:
    """Each request's rows of every output (padding rows dropped), in request order."""
    result: list[dict[str, np.ndarray]] = [{} for _ in sizes]
    bounds = np.cumsum(sizes)[:-1].tolist()
    for name, array in outputs.items():
        array = np.asarray(array)
        if array.ndim == 0:
            raise failed_precondition("Batched output tensor has 0 dimensions")
        if array.shape[0] != batch_size:
            raise failed_precondition(
                "Batched output tensor's 0th dimension does not equal the sum of the 0th "
                "dimension sizes of the input tensors"
            )
        parts = np.split(array[: sum(sizes)], bounds, axis=0)
        for index, part in enumerate(parts):
            result[index][name] = part
    return result


def pad_dims(array: np.ndarray, target: Sequence[int]) -> np.ndarray:
    """``array`` padded after its values, in every dimension but the 0th, to ``target``;
    the pad value is the array's first element (TF Serving's choice), or zero (empty
    bytes) when the array has no elements."""
    widths = [(0, 0)] + [(0, t - d) for d, t in zip(array.shape[1:], target[1:], strict=True)]
    if not any(after for _, after in widths):
        return array
    if array.dtype == object:  # np.pad's constant mode does not take objects
        out = np.empty((array.shape[0], *target[1:]), dtype=object)
        out[...] = array.flat[0] if array.size else b""
        out[tuple(slice(0, d) for d in array.shape)] = array
        return out
    pad_value = array.flat[0] if array.size else np.zeros((), array.dtype)
    return np.pad(array, widths, mode="constant", constant_values=pad_value)


def _max_dims(parts: Sequence[np.ndarray]) -> list[int]:
    ranks = {p.ndim for p in parts}
    if len(ranks) > 1:
        raise failed_precondition("Tensors to be padded have different ranks")
    return [max(p.shape[i] for p in parts) for i in range(parts[0].ndim)]


def _check_same_dims(name: str, parts: Sequence[np.ndarray]) -> None:
    first = parts[0].shape[1:]
    if any(p.shape[1:] != first for p in parts[1:]):
        raise failed_precondition(
            f"Tensors with name '{name}' from different tasks have different shapes and "
            "padding is turned off. Set pad_variable_length_inputs to true, or ensure that all "
            "tensors with the same name have equal dimensions starting with the first dim."
        )


def shape_key(inputs: Tensors, pad_variable_length: bool) -> tuple:
    """What requests must share to be merged: input names and dtypes, and (unless
    variable-length inputs are padded) every dimension but the 0th."""
    return tuple(
        (name, inputs[name].dtype.str, inputs[name].ndim if pad_variable_length
         else inputs[name].shape[1:])
        for name in sorted(inputs)
    )  # fmt: skip
