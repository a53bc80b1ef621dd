"""The session-callable cache of a loaded SavedModel: one callable per output *set*
(any ``output_filter`` order shares it), answers in the client's order, and at most
``MAX_CALLABLES`` kept."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sigserve.runtime import saved_model

OUTPUTS = ("a", "b", "c", "d", "e")
X = np.array([1.0, -2.0, 3.5], dtype=np.float32)
EXPECTED = {"a": X + 1, "b": X * 2, "c": X - 3, "d": X * X, "e": -X}


@pytest.fixture(scope="module")
def servable(tmp_path_factory: pytest.TempPathFactory):
    import tensorflow as tf

    class Five(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
        def serve(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
            return {"a": x + 1, "b": x * 2, "c": x - 3, "d": x * x, "e": -x}

    path = tmp_path_factory.mktemp("five") / "1"
    module = Five()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
    loaded = saved_model.load(str(path))
    yield loaded
    loaded.unload()


def orderings() -> list[tuple[str, ...]]:
    return [
        order
        for size in range(1, len(OUTPUTS) + 1)
        for subset in itertools.combinations(OUTPUTS, size)
        for order in itertools.permutations(subset)
    ]


def check_answer(servable, order: tuple[str, ...]) -> None:
    result = servable.run("", {"x": X}, list(order))
    assert tuple(result) == order  # the client's order
    for name in order:
        np.testing.assert_array_equal(result[name], EXPECTED[name], err_msg=f"{order}: {name}")


def test_every_output_filter_order_answers_right_and_shares_a_callable(servable) -> None:
    servable._callables.clear()
    every = orderings()
    assert len(every) == 325
    for order in every:
        check_answer(servable, order)
    # One callable per distinct output set (31 subsets of 5), not per order (325).
    assert len(servable._callables) == 2 ** len(OUTPUTS) - 1
    assert {outputs for _, outputs in servable._callables} == {
        tuple(sorted(order)) for order in every
    }
    result = servable.run("", {"x": X})  # no filter: every output, the signature's order
    assert tuple(result) == OUTPUTS


def test_cache_holds_at_most_the_bound(servable, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(saved_model, "MAX_CALLABLES", 4)
    servable._callables.clear()
    for _ in range(2):  # the second pass runs evicted sets again
        for order in orderings()[::7]:
            check_answer(servable, order)
            assert len(servable._callables) <= 4
    assert len(servable._callables) == 4
    # The most recently used set stays.
    check_answer(servable, ("e", "a"))
    check_answer(servable, ("b",))
    check_answer(servable, ("a", "e"))
    assert list(servable._callables)[-1] == ("serving_default", ("a", "e"))
    assert ("serving_default", ("b",)) in servable._callables

