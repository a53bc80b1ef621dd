"""TF Serving's BatchingParameters text files: parsing, defaults, checks, per-model files."""

from __future__ import annotations

from pathlib import Path

import pytest

from sigserve.batching.params import (
    PER_MODEL_FILENAME,
    BatchingOptions,
    parse_batching_parameters,
    per_model_options,
    read_batching_parameters,
)
from sigserve.errors import Code, ServingError


def _error(text: str) -> ServingError:
    with pytest.raises(ServingError) as e:
        parse_batching_parameters(text, "params.txt")
    assert e.value.code == Code.INVALID_ARGUMENT
    return e.value


def test_tf_servings_own_batching_config(testdata: Path) -> None:
    options = read_batching_parameters(str(testdata / "batching_config.txt"))
    assert options == BatchingOptions(
        max_batch_size=128,
        batch_timeout_micros=0,
        max_enqueued_batches=1000000,
        num_batch_threads=8,
    )
    assert options.threads == 8
    assert options.execution_batch_size == 128


def test_empty_text_gives_tf_servings_defaults() -> None:
    options = parse_batching_parameters("")
    assert options.max_batch_size == 1000
    assert options.batch_timeout_micros == 0
    assert options.max_enqueued_batches == 10
    assert options.num_batch_threads == 0
    assert options.threads >= 1  # one per CPU
    assert options.allowed_batch_sizes == ()
    assert options.pad_variable_length_inputs is False
    assert options.enable_large_batch_splitting is False
    assert options.execution_batch_size == 1000


def test_every_field() -> None:
    options = parse_batching_parameters(
        """
        max_batch_size { value: 16 }
        batch_timeout_micros { value: 2500 }
        max_enqueued_batches { value: 3 }
        num_batch_threads { value: 2 }
        thread_pool_name { value: "pool" }
        allowed_batch_sizes: 2
        allowed_batch_sizes: 4
        allowed_batch_sizes: 8
        pad_variable_length_inputs: true
        enable_large_batch_splitting { value: true }
        max_execution_batch_size { value: 8 }
        """
    )
    assert options == BatchingOptions(
        max_batch_size=16,
        batch_timeout_micros=2500,
        max_enqueued_batches=3,
        num_batch_threads=2,
        allowed_batch_sizes=(2, 4, 8),
        pad_variable_length_inputs=True,
        enable_large_batch_splitting=True,
        max_execution_batch_size=8,
    )
    assert options.execution_batch_size == 8  # splitting on: the execution size bounds a run
    assert options.threads == 2


def test_max_execution_batch_size_counts_only_with_splitting() -> None:
    options = parse_batching_parameters(
        "max_batch_size { value: 16 } max_execution_batch_size { value: 4 }"
    )
    assert options.execution_batch_size == 16


def test_allowed_batch_sizes_as_a_list() -> None:
    options = parse_batching_parameters(
        "max_batch_size { value: 8 } allowed_batch_sizes: [1, 2, 8]"
    )
    assert options.allowed_batch_sizes == (1, 2, 8)


@pytest.mark.parametrize(
    "text",
    [
        "max_batch_size { value: many }",
        "max_batch_size: 3",  # a wrapper, not a scalar
        "no_such_field { value: 1 }",
        "max_batch_size { value: 3 ",
        "allowed_batch_sizes: -",
    ],
)
def test_bad_text_is_tf_servings_parse_error(text: str) -> None:
    message = _error(text).message
    assert message.startswith("Error parsing text-format tensorflow.serving.BatchingParameters: ")
    assert message.endswith(". Invalid protobuf file: 'params.txt'")


def test_unknown_field_is_named() -> None:
    assert "no_such_field" in _error("no_such_field { value: 1 }").message


def test_last_allowed_batch_size_must_match_max_batch_size() -> None:
    message = _error("max_batch_size { value: 16 } allowed_batch_sizes: [2, 4, 8]").message
    assert message == (
        "Last entry in allowed_batch_sizes must match max_batch_size; last entry was 8; expected 16"
    )


def test_with_splitting_the_last_allowed_size_must_match_the_execution_size() -> None:
    base = (
        "max_batch_size { value: 16 } enable_large_batch_splitting { value: true } "
        "max_execution_batch_size { value: 8 } "
    )
    assert parse_batching_parameters(base + "allowed_batch_sizes: [4, 8]").allowed_batch_sizes == (
        4,
        8,
    )
    message = _error(base + "allowed_batch_sizes: [4, 16]").message
    assert message.endswith("last entry was 16; expected 8")


@pytest.mark.parametrize("sizes", ["[2, 2, 8]", "[4, 2, 8]"])
def test_allowed_batch_sizes_must_increase(sizes: str) -> None:
    message = _error(f"max_batch_size {{ value: 8 }} allowed_batch_sizes: {sizes}").message
    assert message == "allowed_batch_sizes entries must be monotonically increasing"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("max_batch_size { value: 0 }", "max_batch_size must be positive; was 0"),
        ("max_enqueued_batches { value: -1 }", "max_enqueued_batches must be positive; was -1"),
        ("batch_timeout_micros { value: -5 }", "batch_timeout_micros must be non-negative"),
        ("num_batch_threads { value: -2 }", "num_batch_threads must be positive"),
    ],
)
def test_out_of_range_values(text: str, words: str) -> None:
    assert _error(text).message == words


def test_a_file_that_cannot_be_read(tmp_path: Path) -> None:
    missing = tmp_path / "missing.txt"
    with pytest.raises(ServingError) as e:
        read_batching_parameters(str(missing))
    assert e.value.code == Code.INVALID_ARGUMENT
    assert str(missing) in e.value.message


def test_a_file_names_itself_in_its_parse_error(tmp_path: Path) -> None:
    path = tmp_path / "batching.txt"
    path.write_text("max_batch_size {")
    with pytest.raises(ServingError) as e:
        read_batching_parameters(str(path))
    assert e.value.message.endswith(f"Invalid protobuf file: '{path}'")


def test_per_model_file_in_the_version_directory(tmp_path: Path) -> None:
    common = BatchingOptions(max_batch_size=64, num_batch_threads=3)
    (tmp_path / PER_MODEL_FILENAME).write_text(
        "max_batch_size { value: 4 } batch_timeout_micros { value: 10 } "
        "num_batch_threads { value: 99 }"
    )
    options = per_model_options(str(tmp_path), common)
    assert options is not None
    assert options.max_batch_size == 4
    assert options.batch_timeout_micros == 10
    assert options.num_batch_threads == 3  # the threads are shared: the common file's count


def test_a_version_without_its_own_file_is_not_batched(tmp_path: Path) -> None:
    assert PER_MODEL_FILENAME == "batching_params.pbtxt"
    assert per_model_options(str(tmp_path), BatchingOptions()) is None


def test_a_bad_per_model_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / PER_MODEL_FILENAME).write_text("max_batch_size { value: 0 }")
    with pytest.raises(ServingError) as e:
        per_model_options(str(tmp_path), BatchingOptions())
    assert e.value.message == "max_batch_size must be positive; was 0"
