"""A server's predictions against the in-process reference."""

from __future__ import annotations

from bench.harness.answers import same_predictions


def test_floats_written_with_less_precision_match() -> None:
    assert same_predictions([[0.123457, 2.5]], [[0.12345678, 2.5]])
    assert same_predictions([1e-7], [0.0])  # below the absolute tolerance


def test_different_numbers_do_not_match() -> None:
    assert not same_predictions([[0.2, 2.5]], [[0.1, 2.5]])
    assert not same_predictions([3], [4])


def test_structure_must_match() -> None:
    assert not same_predictions([1.0, 2.0], [1.0, 2.0, 3.0])
    assert not same_predictions([[1.0]], [1.0])
    assert not same_predictions({"a": 1}, {"a": 1, "b": 2})
    assert not same_predictions(None, [1.0])


def test_rows_of_named_outputs() -> None:
    want = [{"length": 7, "bucket": 3}]
    assert same_predictions([{"bucket": 3, "length": 7}], want)
    assert not same_predictions([{"bucket": 4, "length": 7}], want)


def test_strings_and_booleans_match_exactly() -> None:
    assert same_predictions(["héllo"], ["héllo"])
    assert not same_predictions(["hello"], ["hellO"])
    assert not same_predictions([True], [1])
    assert same_predictions([False], [False])
