"""Export and check, verified through the serving loader (issue 13, items 1-3).

Every exported version is loaded with ``sigserve.runtime.saved_model.load`` (what
``sigserve serve`` uses) and answered at batch sizes 1, 2 and 7, then compared with
the Python object run eagerly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tensorflow as tf
from models import (
    BatchOneCond,
    BatchOneTrap,
    BatchStatistic,
    KerasInside,
    LongRowTrap,
    Scaler,
    SecondRow,
    TwoInputs,
    keras_functional,
    keras_subclassed,
    keras_two_inputs,
)

import sigserve
from sigserve.errors import Code, ServingError
from sigserve.runtime.saved_model import load
from sigserve.tools.check import check
from sigserve.tools.export import check_against

BATCHES = (1, 2, 7)


def _served(path: str, inputs: dict[str, np.ndarray], key: str = "serving_default") -> Any:
    servable = load(path)
    try:
        return servable.run(key, inputs)
    finally:
        servable.unload()


def _rng_inputs(specs: dict[str, tuple[tuple[int, ...], Any]], batch: int) -> dict[str, Any]:
    rng = np.random.default_rng(batch)
    return {
        name: (rng.normal(size=(batch, *shape)).astype(dtype) if dtype == np.float32
               else rng.integers(0, 5, size=(batch, *shape)).astype(dtype))
        for name, (shape, dtype) in specs.items()
    }  # fmt: skip


def _codes(report_or_error: Any) -> set[str]:
    return {f.code for f in report_or_error.findings}


# --- Keras: served answers equal the model's, at every batch size ------------------------


@pytest.mark.parametrize("build", [keras_functional, keras_subclassed, keras_two_inputs])
def test_keras_models_serve_what_python_answers(tmp_path: Path, build: Any) -> None:
    model = build()
    result = sigserve.export(model, str(tmp_path / "m"))
    assert result.compared == ["serving_default"]
    servable = load(result.path)
    signature = servable.signature("serving_default")
    specs = {n: (tuple(i.shape[1:]), np.float32) for n, i in signature.inputs.items()}
    for batch in BATCHES:
        inputs = _rng_inputs(specs, batch)
        answers = servable.run("serving_default", inputs)
        args = [inputs[n] for n in signature.inputs]
        expected = model(args if len(args) > 1 else args[0], training=False)
        expected = expected if isinstance(expected, list | tuple) else [expected]
        assert len(answers) == len(expected)
        for got, want in zip(sorted(answers.items()), _by_name(model, expected), strict=True):
            np.testing.assert_allclose(got[1], want[1], rtol=1e-5, atol=1e-6, err_msg=got[0])
    servable.unload()


def _by_name(model: Any, outputs: list[Any]) -> list[tuple[str, np.ndarray]]:
    names = getattr(model, "output_names", None) or [f"output_{i}" for i in range(len(outputs))]
    return sorted((n, np.asarray(o)) for n, o in zip(names, outputs, strict=True))


def test_keras_functional_names_inputs_and_outputs(tmp_path: Path) -> None:
    result = sigserve.export(keras_two_inputs(), str(tmp_path / "m"))
    servable = load(result.path)
    signature = servable.signature("serving_default")
    assert sorted(signature.inputs) == ["age", "dims"]
    assert sorted(signature.outputs) == ["kind", "price"]
    servable.unload()


def test_keras_saved_with_tf_saved_model_save_is_caught_by_check(tmp_path: Path) -> None:
    """The issue's broken version: eager tf.saved_model.load answers, the server cannot."""
    model = keras_functional()
    tf.saved_model.save(model, str(tmp_path / "m" / "1"))
    report = check(str(tmp_path / "m"))
    (finding,) = [f for f in report.findings if f.code == "SIGNATURE_FAILS"]
    assert "Could not find variable" in finding.message
    assert report.exit_status() == 1


def test_keras_model_inside_a_module_serves(tmp_path: Path) -> None:
    module = KerasInside()
    result = sigserve.export(module, str(tmp_path / "m"))
    for batch in BATCHES:
        x = _rng_inputs({"x": ((4,), np.float32)}, batch)["x"]
        np.testing.assert_allclose(_served(result.path, {"x": x})["y"], module.model(x).numpy(),
                                   rtol=1e-5, atol=1e-6)  # fmt: skip
    assert not hasattr(module, "_sigserve_captured_variables")  # the caller's object untouched


# --- tf.Module, bare functions, attribute names ------------------------------------------


def test_module_with_traced_call_and_specs(tmp_path: Path) -> None:
    module = Scaler()
    with pytest.raises(ServingError) as refused:
        sigserve.export(module, str(tmp_path / "m"))
    message = refused.value.message
    assert "__call__" in message and "--input_spec" in message and "signatures=" in message
    assert "has no @tf.function with an input_signature" not in message
    assert not (tmp_path / "m").exists()

    spec = tf.TensorSpec([None, 3], tf.float32, name="x")
    result = sigserve.export(module, str(tmp_path / "m"), signatures=[spec])
    again = sigserve.export(module, str(tmp_path / "m"), {"serving_default": "__call__"},
                            input_specs=[spec])  # fmt: skip
    assert (result.version, again.version) == (1, 2)
    for batch in BATCHES:
        x = _rng_inputs({"x": ((3,), np.float32)}, batch)["x"]
        for path in (result.path, again.path):
            np.testing.assert_allclose(_served(path, {"x": x})["y"], x * [1.0, 2.0, 3.0])


def test_module_call_with_input_signature_is_serving_default(tmp_path: Path) -> None:
    module = TwoInputs()
    result = sigserve.export(module, str(tmp_path / "m"))
    assert result.signatures == ["serving_default"] and result.compared == ["serving_default"]
    specs = {"features": ((3,), np.float32), "bucket": ((), np.int64)}
    for batch in BATCHES:
        inputs = _rng_inputs(specs, batch)
        answers = _served(result.path, inputs)
        want = module(tf.constant(inputs["features"]), tf.constant(inputs["bucket"]))
        for name in ("scores", "shifted"):
            np.testing.assert_allclose(answers[name], want[name].numpy(), rtol=1e-6)


def test_unknown_attribute_lists_what_exists(tmp_path: Path) -> None:
    with pytest.raises(ServingError, match=r"no attribute 'predict'.*__call__"):
        sigserve.export(TwoInputs(), str(tmp_path / "m"), {"serving_default": "predict"})


def test_bare_function_with_specs_serves(tmp_path: Path) -> None:
    @tf.function
    def norm(x):
        return {"n": tf.norm(x, axis=1)}

    result = sigserve.export(norm, str(tmp_path), [tf.TensorSpec([None, 3], tf.float32, "x")])
    x = _rng_inputs({"x": ((3,), np.float32)}, 7)["x"]
    np.testing.assert_allclose(_served(result.path, {"x": x})["n"], np.linalg.norm(x, axis=1),
                               rtol=1e-5)  # fmt: skip


# --- traps: refused by export, reported by check ----------------------------------------


def test_batch_one_trap_is_refused_naming_input_sizes_and_fix(tmp_path: Path) -> None:
    with pytest.raises(ServingError) as refused:
        sigserve.export(BatchOneTrap(), str(tmp_path / "m"))
    error = refused.value
    assert error.code == Code.FAILED_PRECONDITION
    assert "DIFFERS_FROM_PYTHON" in error.message and "inputs['x']" in error.message
    assert "at batch size 1 " in error.message and "agrees at batch sizes 2, 7" in error.message
    assert "tf.shape(x)" in error.message and "tf.cond" in error.message
    assert not (tmp_path / "m").exists()  # no empty base path left behind


def test_refused_export_leaves_an_existing_base_path_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "saved_model.pb").write_bytes(b"")
    with pytest.raises(ServingError):
        sigserve.export(BatchOneTrap(), str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1"]


def test_inner_dimension_trap_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ServingError) as refused:
        sigserve.export(LongRowTrap(), str(tmp_path / "m"))
    assert "inputs['tokens']" in refused.value.message
    assert "batch size 2, other unknown dimensions 5" in refused.value.message


def test_check_with_python_reports_the_batch_one_trap(tmp_path: Path) -> None:
    trap = BatchOneTrap()
    tf.saved_model.save(trap, str(tmp_path / "1"))
    report = check_against(str(tmp_path), trap)
    (finding,) = [f for f in report.findings if f.code == "DIFFERS_FROM_PYTHON"]
    assert finding.tensor == "inputs['x']" and "batch size 1 " in finding.message
    # what the server answers for one row is the other branch's (6x), not Python's (3x)
    x = np.ones([1, 3], np.float32)
    assert _served(str(tmp_path / "1"), {"x": x})["y"].tolist() == [18.0]
    tf.config.run_functions_eagerly(True)
    try:
        assert trap(tf.constant(x))["y"].numpy().tolist() == [9.0]
    finally:
        tf.config.run_functions_eagerly(False)


@pytest.mark.parametrize(
    ("module", "code"),
    [(BatchOneCond, "ROWS_DEPEND_ON_BATCH"), (BatchStatistic, "ROWS_DEPEND_ON_BATCH"),
     (SecondRow, "BATCH_SIZE_FAILS")],
)  # fmt: skip
def test_check_compares_rows_across_batch_sizes(tmp_path: Path, module: Any, code: str) -> None:
    tf.saved_model.save(module(), str(tmp_path / "1"))
    report = check(str(tmp_path))
    assert code in _codes(report), report.text_lines()
    (finding,) = [f for f in report.findings if f.code == code]
    assert finding.tensor == "inputs['x']" and "batch size 1" in finding.message
    with pytest.raises(ServingError, match=code):
        sigserve.export(module(), str(tmp_path / "export"))


@pytest.mark.parametrize("module", [TwoInputs, KerasInside])
def test_healthy_modules_pass_check_with_and_without_python(tmp_path: Path, module: Any) -> None:
    obj = module()
    tf.saved_model.save(obj, str(tmp_path / "1"))
    if module is KerasInside:  # tf.saved_model.save alone loses the Keras variables
        assert "SIGNATURE_FAILS" in _codes(check(str(tmp_path)))
        return
    assert check(str(tmp_path)).findings == []
    report = check_against(str(tmp_path), obj)
    assert report.findings == [] and report.compared == ["serving_default"]
