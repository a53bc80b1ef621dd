from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from models import Counter, FrozenBranch

import sigserve
from sigserve.errors import Code, ServingError
from sigserve.tools.check import check

SPEC = tf.TensorSpec([None, 3], tf.float32, name="x")


def _serve(path: str, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    function = tf.saved_model.load(path).signatures["serving_default"]
    return {
        k: v.numpy() for k, v in function(**{k: tf.constant(v) for k, v in inputs.items()}).items()
    }


def test_module_with_input_signature(tmp_path: Path) -> None:
    counter = Counter()
    result = sigserve.export(counter, str(tmp_path), signatures={"serving_default": counter.incr})
    assert result.version == 1 and result.path == str(tmp_path / "1")
    assert result.compared == ["serving_default"]
    assert float(counter.count.numpy()) == 0.0  # the eager comparison left the caller's state
    assert check(result.path).findings == []


def test_bare_function_with_specs_and_next_version(tmp_path: Path) -> None:
    @tf.function
    def double(x):
        return {"y": x * 2.0}

    first = sigserve.export(double, str(tmp_path), signatures=[SPEC])
    second = sigserve.export(double, str(tmp_path), signatures=[SPEC])
    assert (first.version, second.version) == (1, 2)
    x = np.ones([2, 3], np.float32)
    np.testing.assert_array_equal(_serve(second.path, {"x": x})["y"], x * 2)


def test_function_with_input_signature_and_concrete_function(tmp_path: Path) -> None:
    @tf.function(input_signature=[SPEC])
    def plus(x):
        return x + 1.0

    result = sigserve.export(plus, str(tmp_path / "a"))
    assert result.compared == ["serving_default"]
    concrete = sigserve.export(plus.get_concrete_function(), str(tmp_path / "b"), version=7)
    assert concrete.version == 7 and concrete.compared == []
    assert any("concrete function" in n for n in concrete.notes)


def test_keras_model(tmp_path: Path) -> None:
    import keras

    model = keras.Sequential([keras.Input((3,), name="feat"), keras.layers.Dense(2)])
    result = sigserve.export(model, str(tmp_path))
    x = np.ones([2, 3], np.float32)
    (answer,) = _serve(result.path, {"feat": x}).values()
    np.testing.assert_allclose(answer, model(x).numpy(), rtol=1e-6)
    assert result.compared == ["serving_default"]


def test_frozen_branch_is_refused_and_nothing_is_left(tmp_path: Path) -> None:
    module = FrozenBranch()
    with pytest.raises(ServingError) as e:
        sigserve.export(module, str(tmp_path), signatures={"serving_default": module.add})
    assert e.value.code == Code.FAILED_PRECONDITION
    assert "CONSTANT_OUTPUT" in e.value.message and "eagerly" in e.value.message
    assert list(tmp_path.iterdir()) == []


def test_bare_function_without_specs_is_refused(tmp_path: Path) -> None:
    @tf.function
    def bald(x):
        return x

    with pytest.raises(ServingError, match="without input_signature"):
        sigserve.export(bald, str(tmp_path))


def test_missing_serving_default_is_refused(tmp_path: Path) -> None:
    counter = Counter()
    with pytest.raises(ServingError, match="serving_default"):
        sigserve.export(counter, str(tmp_path), signatures={"name": counter.incr})


def test_existing_version_is_refused(tmp_path: Path) -> None:
    (tmp_path / "3").mkdir()
    counter = Counter()
    with pytest.raises(ServingError) as e:
        sigserve.export(counter.incr, str(tmp_path), version=3)
    assert e.value.code == Code.ALREADY_EXISTS
