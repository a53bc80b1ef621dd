"""The pure array work of batching: merge, pad, split (TF Serving's rules and messages)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sigserve.batching import arrays
from sigserve.errors import Code, ServingError

DTYPES = [np.float32, np.float64, np.int8, np.int64, np.uint16, np.bool_, np.float16]


def _identity_round_trip(
    requests: list[dict[str, np.ndarray]], batch_size: int, *, pad_variable_length: bool = False
) -> tuple[dict[str, np.ndarray], list[dict[str, np.ndarray]]]:
    sizes = [arrays.request_size(r) for r in requests]
    merged = arrays.merge(requests, batch_size, pad_variable_length=pad_variable_length)
    return merged, arrays.split(merged, sizes, batch_size)


def _assert_same(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    assert list(got) == list(want)
    for name in want:
        assert got[name].dtype == want[name].dtype, name
        assert got[name].shape == want[name].shape, name
        assert got[name].tolist() == want[name].tolist(), name


@st.composite
def request_lists(draw: st.DrawFn) -> list[dict[str, np.ndarray]]:
    """Requests that share input names, dtypes and non-batch dims; any number of rows each."""
    names = draw(st.lists(st.sampled_from("abcxyz"), min_size=1, max_size=3, unique=True))
    layout = {}
    for name in names:
        kind = draw(st.sampled_from(["numeric", "bytes"]))
        dims = tuple(draw(st.lists(st.integers(0, 3), min_size=0, max_size=2)))
        dtype = np.dtype(object) if kind == "bytes" else np.dtype(draw(st.sampled_from(DTYPES)))
        layout[name] = (dtype, dims)
    sizes = draw(st.lists(st.integers(1, 5), min_size=1, max_size=6))
    requests = []
    for size in sizes:
        request = {}
        for name, (dtype, dims) in layout.items():
            shape = (size, *dims)
            if dtype.kind == "O":
                flat = draw(st.lists(st.binary(max_size=4), min_size=int(np.prod(shape)),
                                     max_size=int(np.prod(shape))))  # fmt: skip
                array = np.empty(len(flat), dtype=object)
                array[:] = flat
                request[name] = array.reshape(shape)
            else:
                elements = hnp.from_dtype(dtype, allow_nan=False, allow_infinity=False)
                request[name] = draw(hnp.arrays(dtype, shape, elements=elements))
        requests.append(request)
    return requests


@settings(max_examples=120, deadline=None)
@given(request_lists(), st.integers(0, 4))
def test_merge_then_split_gives_back_each_request_in_order(
    requests: list[dict[str, np.ndarray]], extra: int
) -> None:
    total = sum(arrays.request_size(r) for r in requests)
    merged, parts = _identity_round_trip(requests, total + extra)
    for name, array in merged.items():
        assert array.shape[0] == total + extra
        assert array.dtype == requests[0][name].dtype
    assert len(parts) == len(requests)
    for got, want in zip(parts, requests, strict=True):
        _assert_same(got, want)


@settings(max_examples=60, deadline=None)
@given(request_lists(), st.integers(1, 4))
def test_padding_rows_repeat_the_first_row_of_the_last_request(
    requests: list[dict[str, np.ndarray]], extra: int
) -> None:
    total = sum(arrays.request_size(r) for r in requests)
    merged = arrays.merge(requests, total + extra)
    for name, array in merged.items():
        first_row = requests[-1][name][:1].tolist()
        assert array[total:].tolist() == first_row * extra


def test_merge_concatenates_in_request_order() -> None:
    requests = [
        {"x": np.array([[1, 2]])},
        {"x": np.array([[3, 4], [5, 6]])},
        {"x": np.array([[7, 8]])},
    ]
    merged = arrays.merge(requests, 4)
    assert merged["x"].tolist() == [[1, 2], [3, 4], [5, 6], [7, 8]]
    parts = arrays.split({"y": merged["x"] * 10}, [1, 2, 1], 4)
    assert [p["y"].tolist() for p in parts] == [[[10, 20]], [[30, 40], [50, 60]], [[70, 80]]]


def test_merge_pads_bytes_and_object_strings() -> None:
    a = np.array([b"ab", b"c"], dtype=object)
    b = np.array([b"longer"], dtype=object)
    merged = arrays.merge([{"s": a}, {"s": b}], 5)
    assert merged["s"].dtype == object
    assert merged["s"].tolist() == [b"ab", b"c", b"longer", b"longer", b"longer"]
    parts = arrays.split({"s": merged["s"]}, [2, 1], 5)
    assert parts[0]["s"].tolist() == [b"ab", b"c"] and parts[1]["s"].tolist() == [b"longer"]


def test_a_single_request_that_needs_no_padding_is_passed_through() -> None:
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    assert arrays.merge([{"x": x}], 3)["x"] is x


@pytest.mark.parametrize(
    ("size", "allowed", "expected"),
    [
        (1, (), 1),
        (7, (), 7),
        (1, (2, 4, 8), 2),
        (2, (2, 4, 8), 2),
        (3, (2, 4, 8), 4),
        (5, (2, 4, 8), 8),
        (8, (2, 4, 8), 8),
        (9, (2, 4, 8), 9),  # larger than all: no padding
        (1, (1,), 1),
    ],
)
def test_padded_size_is_the_smallest_allowed_size_that_holds_the_rows(
    size: int, allowed: tuple[int, ...], expected: int
) -> None:
    assert arrays.padded_size(size, allowed) == expected


@given(st.integers(1, 200), st.lists(st.integers(1, 200), min_size=1, max_size=6, unique=True))
def test_padded_size_property(size: int, allowed: list[int]) -> None:
    allowed.sort()
    padded = arrays.padded_size(size, allowed)
    assert padded >= size
    if size <= allowed[-1]:
        assert padded in allowed
        assert all(a < size for a in allowed if a < padded)
    else:
        assert padded == size


def test_pad_variable_length_pads_other_dims_with_the_first_element() -> None:
    short = np.array([[7, 1], [2, 3]], dtype=np.int32)
    long = np.array([[5, 6, 8, 9]], dtype=np.int32)
    merged = arrays.merge([{"x": short}, {"x": long}], 3, pad_variable_length=True)
    assert merged["x"].tolist() == [[7, 1, 7, 7], [2, 3, 7, 7], [5, 6, 8, 9]]


def test_pad_variable_length_pads_strings_and_every_non_batch_dim() -> None:
    small = np.array([[[b"a"]]], dtype=object)  # (1, 1, 1)
    big = np.array([[[b"b", b"c"], [b"d", b"e"]]], dtype=object)  # (1, 2, 2)
    merged = arrays.merge([{"s": small}, {"s": big}], 3, pad_variable_length=True)
    assert merged["s"].shape == (3, 2, 2)
    assert merged["s"].tolist() == [
        [[b"a", b"a"], [b"a", b"a"]],
        [[b"b", b"c"], [b"d", b"e"]],
        [[b"b", b"c"], [b"d", b"e"]],  # batch padding: the last request's first row
    ]


def test_pad_dims_keeps_values_and_uses_first_element() -> None:
    x = np.array([[1.5, 2.0]], dtype=np.float32)
    padded = arrays.pad_dims(x, [1, 4])
    assert padded.dtype == np.float32
    assert padded.tolist() == [[1.5, 2.0, 1.5, 1.5]]
    assert arrays.pad_dims(x, [1, 2]) is x


def test_pad_variable_length_different_ranks_is_an_error() -> None:
    with pytest.raises(ServingError) as e:
        arrays.merge(
            [{"x": np.zeros((1, 2))}, {"x": np.zeros((1, 2, 2))}], 2, pad_variable_length=True
        )
    assert e.value.code == Code.FAILED_PRECONDITION


def _error(call) -> ServingError:
    with pytest.raises(ServingError) as e:
        call()
    return e.value


def test_scalar_input_is_tf_servings_error() -> None:
    error = _error(lambda: arrays.request_size({"x": np.float32(1.0) * np.ones(())}))
    assert error.code == Code.INVALID_ARGUMENT
    assert error.message == "Batching Run() input tensors must have at least one dimension"


def test_no_inputs_is_tf_servings_error() -> None:
    error = _error(lambda: arrays.request_size({}))
    assert error.code == Code.INVALID_ARGUMENT
    assert error.message == "Batching Run() must have at least one input tensor"


def test_unequal_0th_dims_is_tf_servings_error() -> None:
    error = _error(lambda: arrays.request_size({"a": np.zeros(2), "b": np.zeros(3)}))
    assert error.code == Code.INVALID_ARGUMENT
    assert error.message == "Batching Run() input tensors must have equal 0th-dimension size"


def test_different_shapes_without_padding_is_tf_servings_error() -> None:
    error = _error(lambda: arrays.merge([{"x": np.zeros((1, 2))}, {"x": np.zeros((1, 3))}], 2))
    assert error.code == Code.FAILED_PRECONDITION
    assert error.message == (
        "Tensors with name 'x' from different tasks have different shapes and padding is "
        "turned off. Set pad_variable_length_inputs to true, or ensure that all tensors with "
        "the same name have equal dimensions starting with the first dim."
    )


def test_output_with_0_dims_is_tf_servings_error() -> None:
    error = _error(lambda: arrays.split({"y": np.float32(3) * np.ones(())}, [1, 1], 2))
    assert error.code == Code.FAILED_PRECONDITION
    assert error.message == "Batched output tensor has 0 dimensions"


def test_output_with_wrong_0th_dim_is_tf_servings_error() -> None:
    error = _error(lambda: arrays.split({"y": np.zeros(3)}, [1, 1], 2))
    assert error.code == Code.FAILED_PRECONDITION
    assert error.message == (
        "Batched output tensor's 0th dimension does not equal the sum of the 0th dimension "
        "sizes of the input tensors"
    )


def test_split_checks_against_the_padded_batch_size() -> None:
    # the model saw 4 rows (2 real + 2 padding): an output of 2 rows is wrong, 4 is right
    with pytest.raises(ServingError):
        arrays.split({"y": np.zeros(2)}, [1, 1], 4)
    parts = arrays.split({"y": np.arange(4)}, [1, 1], 4)
    assert [p["y"].tolist() for p in parts] == [[0], [1]]


def test_shape_key_separates_what_cannot_be_merged() -> None:
    a = {"x": np.zeros((1, 3), np.float32)}
    b = {"x": np.zeros((5, 3), np.float32)}
    c = {"x": np.zeros((1, 4), np.float32)}
    d = {"x": np.zeros((1, 3), np.float64)}
    key = arrays.shape_key
    assert key(a, False) == key(b, False)
    assert key(a, False) != key(c, False)
    assert key(a, True) == key(c, True)  # padded to the longest
    assert key(a, False) != key(d, False)
    strings = [np.array([b"a"], dtype=object), np.array([b"longer", b"b"], dtype=object)]
    assert key({"s": strings[0]}, False) == key({"s": strings[1]}, False)


@pytest.mark.parametrize("dtype", [np.float32, np.int64, object])
def test_pad_variable_length_pads_an_empty_tensor_with_zeros(dtype: type) -> None:
    # a request of shape (2, 0) must not break the batch it shares with a (1, 3) one
    empty = np.zeros((2, 0), dtype=dtype)
    full = np.array([[1, 2, 3]], dtype=dtype) if dtype is not object else None
    if full is None:
        full = np.array([[b"a", b"b", b"c"]], dtype=object)
    merged = arrays.merge([{"x": empty}, {"x": full}], 3, pad_variable_length=True)
    zero = b"" if dtype is object else 0
    assert merged["x"].tolist() == [[zero] * 3, [zero] * 3, full[0].tolist()]
