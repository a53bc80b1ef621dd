from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sigserve import protos
from sigserve.codecs import tensor_proto
from sigserve.codecs.dtypes import ENUM
from sigserve.errors import Code, ServingError

NUMERIC = {
    "DT_FLOAT": np.float32,
    "DT_DOUBLE": np.float64,
    "DT_HALF": np.float16,
    "DT_BFLOAT16": ml_dtypes.bfloat16,
    "DT_INT8": np.int8,
    "DT_INT16": np.int16,
    "DT_INT32": np.int32,
    "DT_INT64": np.int64,
    "DT_UINT8": np.uint8,
    "DT_UINT16": np.uint16,
    "DT_UINT32": np.uint32,
    "DT_UINT64": np.uint64,
    "DT_BOOL": np.bool_,
    "DT_COMPLEX64": np.complex64,
    "DT_COMPLEX128": np.complex128,
}


def sample(dtype: type) -> np.ndarray:
    """A 2x3 array with each dtype's edge values."""
    np_dtype = np.dtype(dtype)
    if np_dtype.kind == "b":
        values = [True, False, True, True, False, False]
    elif np_dtype.kind in "iu":
        info = np.iinfo(np_dtype)
        values = [info.min, info.max, 0, 1, info.max - 1, 7]
    elif np_dtype.kind == "c":
        values = [1 + 2j, -0.5j, 3.25, complex(np.inf, -1), 1e-30, 0]
    else:
        values = [1.5, -0.0, np.inf, -np.inf, 3.140625, 65504 if np_dtype.itemsize == 2 else 1e30]
    return np.array(values, dtype=np_dtype).reshape(2, 3)


def proto(dtype: str, shape: list[int], **fields: object) -> object:
    message = protos.tensor_pb2.TensorProto(dtype=ENUM[dtype])
    for size in shape:
        message.tensor_shape.dim.add().size = size
    for field, value in fields.items():
        if field == "tensor_content":
            message.tensor_content = value
        else:
            getattr(message, field).extend(value)
    return message


def assert_same(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.dtype == expected.dtype
    assert actual.shape == expected.shape
    assert actual.tobytes() == expected.tobytes()  # bit-exact, NaN and -0.0 included


def error(message: object) -> ServingError:
    with pytest.raises(ServingError) as info:
        tensor_proto.to_numpy(message)
    assert info.value.code == Code.INVALID_ARGUMENT
    return info.value


@pytest.mark.parametrize("dtype", NUMERIC)
@pytest.mark.parametrize("as_content", [True, False])
def test_round_trip_every_numeric_dtype(dtype: str, as_content: bool) -> None:
    array = sample(NUMERIC[dtype])
    message = tensor_proto.from_numpy(array, as_content=as_content)
    assert message.dtype == ENUM[dtype]
    assert bool(message.tensor_content) == as_content
    assert_same(tensor_proto.to_numpy(message), array)


@pytest.mark.parametrize(
    ("dtype", "field"),
    [
        ("DT_FLOAT", "float_val"),
        ("DT_DOUBLE", "double_val"),
        ("DT_HALF", "half_val"),
        ("DT_BFLOAT16", "half_val"),
        ("DT_INT8", "int_val"),
        ("DT_UINT16", "int_val"),
        ("DT_INT64", "int64_val"),
        ("DT_UINT32", "uint32_val"),
        ("DT_UINT64", "uint64_val"),
        ("DT_BOOL", "bool_val"),
        ("DT_COMPLEX64", "scomplex_val"),
        ("DT_COMPLEX128", "dcomplex_val"),
    ],
)
def test_typed_fields_are_tensorflows(dtype: str, field: str) -> None:
    message = tensor_proto.from_numpy(sample(NUMERIC[dtype]), as_content=False)
    assert len(getattr(message, field)) == (12 if "COMPLEX" in dtype else 6)


def test_half_val_holds_bit_patterns() -> None:
    message = tensor_proto.from_numpy(np.array([1.0, -2.0], np.float16), as_content=False)
    assert list(message.half_val) == [0x3C00, 0xC000]
    message = tensor_proto.from_numpy(np.array([1.0], ml_dtypes.bfloat16), as_content=False)
    assert list(message.half_val) == [0x3F80]


def test_int64_beyond_float_precision_is_exact() -> None:
    array = np.array([2**53 + 1, -(2**63), 2**63 - 1], np.int64)
    for as_content in (True, False):
        assert_same(
            tensor_proto.to_numpy(tensor_proto.from_numpy(array, as_content=as_content)), array
        )
    big = np.array([2**64 - 1], np.uint64)
    assert_same(tensor_proto.to_numpy(tensor_proto.from_numpy(big, as_content=False)), big)


def test_strings_are_object_arrays_of_bytes() -> None:
    array = np.array([[b"a", b""], [b"\x00\xff", "é".encode()]], dtype=object)
    message = tensor_proto.from_numpy(array)
    assert list(message.string_val) == [b"a", b"", b"\x00\xff", b"\xc3\xa9"]
    assert not message.tensor_content
    result = tensor_proto.to_numpy(message)
    assert result.dtype == object and result.shape == (2, 2)
    assert result.tolist() == array.tolist()


def test_str_arrays_are_encoded_as_utf8() -> None:
    message = tensor_proto.from_numpy(np.array(["é", "ab"]))
    assert message.dtype == ENUM["DT_STRING"]
    assert list(message.string_val) == ["é".encode(), b"ab"]


def test_string_tensor_content_uses_tensorflows_string_list() -> None:
    # varint32 lengths (1, 0, 200), then the bytes
    content = b"\x01\x00\xc8\x01" + b"x" + b"y" * 200
    result = tensor_proto.to_numpy(proto("DT_STRING", [3], tensor_content=content))
    assert result.tolist() == [b"x", b"", b"y" * 200]
    error(proto("DT_STRING", [3], tensor_content=content + b"z"))
    error(proto("DT_STRING", [3], tensor_content=b"\x01\x00"))


def test_tensor_content_is_read_without_copying() -> None:
    message = tensor_proto.from_numpy(np.arange(6, dtype=np.float32).reshape(2, 3))
    result = tensor_proto.to_numpy(message)
    assert not result.flags.writeable
    assert result.base is not None


def test_scalar_and_empty_tensors() -> None:
    for as_content in (True, False):
        scalar = tensor_proto.from_numpy(np.float64(2.5), as_content=as_content)
        assert len(scalar.tensor_shape.dim) == 0
        assert_same(tensor_proto.to_numpy(scalar), np.array(2.5))
        empty = tensor_proto.from_numpy(np.zeros((0, 3), np.int32), as_content=as_content)
        assert_same(tensor_proto.to_numpy(empty), np.zeros((0, 3), np.int32))


def test_one_value_fills_the_shape() -> None:
    assert_same(
        tensor_proto.to_numpy(proto("DT_FLOAT", [2, 2], float_val=[7.0])),
        np.full((2, 2), 7.0, np.float32),
    )
    assert tensor_proto.to_numpy(proto("DT_STRING", [3], string_val=[b"s"])).tolist() == [b"s"] * 3


def test_compressed_form_repeats_the_last_value_and_empty_means_zeros() -> None:
    assert tensor_proto.to_numpy(proto("DT_INT32", [4], int_val=[1, 2])).tolist() == [1, 2, 2, 2]
    assert_same(tensor_proto.to_numpy(proto("DT_DOUBLE", [2, 1])), np.zeros((2, 1)))
    assert tensor_proto.to_numpy(proto("DT_STRING", [2])).tolist() == [b"", b""]


@pytest.mark.parametrize(
    ("message", "words"),
    [
        (proto("DT_FLOAT", [2], float_val=[1, 2, 3]), "holds 3 values"),
        (proto("DT_FLOAT", [2], tensor_content=b"\x00" * 7), "7 bytes"),
        (proto("DT_FLOAT", [2], int_val=[1, 2]), "int_val"),
        (proto("DT_FLOAT", [1], float_val=[1], tensor_content=b"\x00" * 4), "both"),
        (proto("DT_UINT8", [1], int_val=[256]), "out of range"),
        (proto("DT_INT8", [1], int_val=[-129]), "out of range"),
        (proto("DT_HALF", [1], half_val=[70000]), "out of range"),
        (proto("DT_COMPLEX64", [1], scomplex_val=[1.0]), "odd"),
        (proto("DT_RESOURCE", [1]), "DT_RESOURCE"),
        (proto("DT_INVALID", [1]), "Unknown tensor dtype"),
        (proto("DT_FLOAT", [-1], float_val=[1]), "negative"),
        (proto("DT_FLOAT", [2**40], float_val=[1]), "too large"),
    ],
)
def test_inconsistent_tensors_are_invalid_argument(message: object, words: str) -> None:
    assert words in error(message).message


def test_unknown_dtype_enum_and_unknown_rank() -> None:
    message = protos.tensor_pb2.TensorProto(dtype=99)
    assert "99" in error(message).message
    message = proto("DT_FLOAT", [], float_val=[1.0])
    message.tensor_shape.unknown_rank = True
    assert "unknown rank" in error(message).message


def test_decode_inputs_names_the_bad_input() -> None:
    request = protos.predict_pb2.PredictRequest()
    request.inputs["good"].CopyFrom(tensor_proto.from_numpy(np.ones(2, np.float32)))
    request.inputs["bad"].CopyFrom(proto("DT_FLOAT", [2], tensor_content=b"\x00"))
    with pytest.raises(ServingError) as info:
        tensor_proto.decode_inputs(request.inputs)
    assert info.value.code == Code.INVALID_ARGUMENT
    assert info.value.message.startswith("tensor parsing error: bad")
    del request.inputs["bad"]
    assert tensor_proto.decode_inputs(request.inputs)["good"].tolist() == [1.0, 1.0]


def test_explicit_dtype_casts_only_without_loss() -> None:
    message = tensor_proto.from_numpy(np.array([1, 2], np.int32), "DT_INT64")
    assert_same(tensor_proto.to_numpy(message), np.array([1, 2], np.int64))
    for array, dtype in [
        (np.array([1.5], np.float64), "DT_FLOAT"),
        (np.array([1], np.int64), "DT_INT32"),
        (np.array(["a"]), "DT_FLOAT"),
        (np.array([1.0]), "DT_STRING"),
    ]:
        with pytest.raises(ServingError) as info:
            tensor_proto.from_numpy(array, dtype)
        assert info.value.code == Code.INVALID_ARGUMENT


def test_non_bytes_items_in_a_string_tensor_are_refused() -> None:
    with pytest.raises(ServingError):
        tensor_proto.from_numpy(np.array([b"a", 3], dtype=object))


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        st.sampled_from([np.float32, np.float64, np.int16, np.int64, np.uint32, np.complex64]),
        hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
    ),
    st.booleans(),
)
def test_round_trip_property(array: np.ndarray, as_content: bool) -> None:
    assert_same(tensor_proto.to_numpy(tensor_proto.from_numpy(array, as_content=as_content)), array)


# --- agreement with TensorFlow's own conversions ---------------------------------


@pytest.fixture(scope="module")
def tf():
    import tensorflow

    return tensorflow


@pytest.mark.parametrize("dtype", NUMERIC)
@pytest.mark.parametrize("as_content", [True, False])
def test_tensorflow_reads_what_we_write(tf, dtype: str, as_content: bool) -> None:
    array = sample(NUMERIC[dtype])
    message = tensor_proto.from_numpy(array, as_content=as_content)
    assert_same(tf.make_ndarray(message), array)


@pytest.mark.parametrize("dtype", NUMERIC)
def test_we_read_what_tensorflow_writes(tf, dtype: str) -> None:
    array = sample(NUMERIC[dtype])
    assert_same(tensor_proto.to_numpy(tf.make_tensor_proto(array)), array)
    tensor = tf.constant(array)  # TF's C++ AsProtoField / AsProtoTensorContent
    assert_same(tensor_proto.to_numpy(tf.make_tensor_proto(tensor)), array)


def test_strings_agree_with_tensorflow(tf) -> None:
    array = np.array([[b"a", b"\xff"], [b"", b"long" * 9]], dtype=object)
    assert tf.make_ndarray(tensor_proto.from_numpy(array)).tolist() == array.tolist()
    assert tensor_proto.to_numpy(tf.make_tensor_proto(array)).tolist() == array.tolist()


def test_broadcast_agrees_with_tensorflow(tf) -> None:
    for value, dtype in [(3.5, tf.float32), (7, tf.int64), (b"z", tf.string), (True, tf.bool)]:
        message = tf.make_tensor_proto(value, dtype=dtype, shape=[2, 3])
        assert tensor_proto.to_numpy(message).tolist() == tf.make_ndarray(message).tolist()
    compressed = proto("DT_INT32", [5], int_val=[4, 9])
    assert tensor_proto.to_numpy(compressed).tolist() == tf.make_ndarray(compressed).tolist()


@settings(max_examples=60, deadline=None)
@given(
    array=hnp.arrays(
        st.sampled_from([np.float32, np.float64, np.complex64, np.complex128]),
        hnp.array_shapes(min_dims=0, max_dims=3, max_side=5),
    )
)
def test_packed_float_fields_are_byte_identical_to_protobufs_own(array: np.ndarray) -> None:
    """Float and complex typed fields are written as one packed chunk; the message must
    be exactly what appending every value through protobuf gives (NaN, -0.0, inf too)."""
    fast = tensor_proto.from_numpy(array, as_content=False)
    slow = protos.tensor_pb2.TensorProto(dtype=fast.dtype)
    for dim in fast.tensor_shape.dim:
        slow.tensor_shape.dim.add().size = dim.size
    field = {"f": "float_val", "d": "double_val", "F": "scomplex_val", "D": "dcomplex_val"}
    flat = array.ravel().view(np.float32 if array.dtype.char in "fF" else np.float64)
    getattr(slow, field[array.dtype.char]).extend(flat.tolist())
    assert fast.SerializeToString() == slow.SerializeToString()
    np.testing.assert_array_equal(tensor_proto.to_numpy(fast), array)
