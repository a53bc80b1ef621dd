"""``sigserve check --security`` on real SavedModels: file reads and writes, Python
calls, in signatures, nested functions, the init op, and dormant functions; TF Serving's
half_plus_two has only the loader's checkpoint ops and is clean."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sigserve.tools.findings import Level
from sigserve.tools.risky_ops import OPS, REMOVED
from sigserve.tools.security import INIT, RESTORE, scan

REPO = Path(__file__).resolve().parents[2]
TESTDATA = REPO.parent / "shared" / "testdata" / "tf_serving"


def _save(module: Any, path: Path, **signatures: Any) -> Path:
    import tensorflow as tf

    tf.saved_model.save(module, str(path / "1"), signatures=signatures)
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import tensorflow as tf

    root = tmp_path_factory.mktemp("security")
    text = tf.TensorSpec([], tf.string, name="path")
    built: dict[str, Path] = {}

    class Reads(tf.Module):
        def __init__(self) -> None:
            self.scale = tf.Variable(2.0)  # a checkpoint to restore: not a finding

        @tf.function(input_signature=[text])
        def read(self, path: tf.Tensor) -> dict[str, tf.Tensor]:
            return {"n": tf.strings.length(tf.io.read_file(path)) * tf.cast(self.scale, tf.int32)}

        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
        def double(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
            return {"y": x * self.scale}

    reads = Reads()
    built["reads"] = _save(reads, root / "reads", serving_default=reads.double, read=reads.read)

    class Writes(tf.Module):
        @tf.function(input_signature=[text, tf.TensorSpec([], tf.string, name="data")])
        def write(self, path: tf.Tensor, data: tf.Tensor) -> dict[str, tf.Tensor]:
            with tf.control_dependencies([tf.io.write_file(path, data)]):
                return {"ok": tf.constant(True)}

    writes = Writes()
    built["writes"] = _save(writes, root / "writes", serving_default=writes.write)

    @tf.function
    def inner(path: tf.Tensor) -> tf.Tensor:  # a function inside a cond branch
        return tf.io.read_file(path)

    class Nested(tf.Module):
        @tf.function(input_signature=[text])
        def serve(self, path: tf.Tensor) -> dict[str, tf.Tensor]:
            content = tf.cond(tf.strings.length(path) > 3, lambda: inner(path),
                              lambda: tf.constant(""))  # fmt: skip
            return {"n": tf.strings.length(content)}

    nested = Nested()
    built["nested"] = _save(nested, root / "nested", serving_default=nested.serve)

    class Dormant(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
        def serve(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
            return {"y": x + 1.0}

        @tf.function(input_signature=[text])
        def leak(self, path: tf.Tensor) -> tf.Tensor:  # saved with the object, no signature
            return tf.io.read_file(path)

    dormant = Dormant()
    built["dormant"] = _save(dormant, root / "dormant", serving_default=dormant.serve)

    vocabulary = root / "vocab.txt"
    vocabulary.write_text("a\nb\nc\n")

    class Table(tf.Module):
        def __init__(self) -> None:
            initializer = tf.lookup.TextFileInitializer(
                str(vocabulary), tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
                tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER)  # fmt: skip
            self.table = tf.lookup.StaticHashTable(initializer, -1)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="words")])
        def serve(self, words: tf.Tensor) -> dict[str, tf.Tensor]:
            return {"ids": self.table.lookup(words)}

    table = Table()
    built["init"] = _save(table, root / "init", serving_default=table.serve)

    class PyFunction(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
        def serve(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
            return {"y": tf.py_function(lambda a: a * 2, [x], tf.float32)}

    py_function = PyFunction()
    built["py_function"] = _save(py_function, root / "py_function",
                                 serving_default=py_function.serve)  # fmt: skip
    built["py_func_tf1"] = _tf1_py_func(root / "py_func_tf1")
    return built


def _tf1_py_func(path: Path) -> Path:
    """A TF1 graph with tf.compat.v1.py_func (PyFunc) in its signature."""
    import numpy as np
    import tensorflow as tf

    v1 = tf.compat.v1
    with tf.Graph().as_default() as graph, v1.Session(graph=graph) as session:
        x = v1.placeholder(tf.float32, [None], name="x")
        y = v1.py_func(lambda a: (a * 2).astype(np.float32), [x], tf.float32)
        signature = v1.saved_model.signature_def_utils.predict_signature_def({"x": x}, {"y": y})
        builder = v1.saved_model.Builder(str(path / "1"))
        builder.add_meta_graph_and_variables(session, ["serve"],
                                             signature_def_map={"serving_default": signature})
        builder.save()
    return path


def only(report: Any, op: str) -> Any:
    found = [f for f in report.findings if f.op == op]
    assert len(found) == 1, [f.text() for f in report.findings]
    return found[0]


def test_read_file_in_one_signature(models: dict[str, Path]) -> None:
    report = scan(str(models["reads"]))
    finding = only(report, "ReadFile")
    assert (finding.code, finding.level) == ("READS_FILES", Level.ERROR)
    assert finding.runs_in == ("signature read",)  # not serving_default
    assert finding.function.startswith("__inference_read_") and finding.tags == "serve"
    assert len(report.findings) == 1 and report.checkpoint_ops >= 2
    assert report.exit_status() == 1


def test_write_file(models: dict[str, Path]) -> None:
    finding = only(scan(str(models["writes"])), "WriteFile")
    assert (finding.code, finding.runs_in) == ("WRITES_FILES", ("signature serving_default",))


def test_nested_function_in_a_cond_branch(models: dict[str, Path]) -> None:
    finding = only(scan(str(models["nested"])), "ReadFile")
    assert finding.runs_in == ("signature serving_default",)
    assert "inner" in finding.function  # found in the nested function, not the signature's


def test_a_function_no_signature_reaches_is_dormant(models: dict[str, Path]) -> None:
    report = scan(str(models["dormant"]))
    finding = only(report, "ReadFile")
    assert (finding.level, finding.runs_in) == (Level.WARNING, ())
    assert "leak" in finding.function
    assert report.exit_status() == 0 and report.exit_status(Level.WARNING) == 1


def test_a_vocabulary_file_read_by_the_init_op(models: dict[str, Path]) -> None:
    finding = only(scan(str(models["init"])), "InitializeTableFromTextFileV2")
    assert finding.code == "READS_FILES" and INIT in finding.runs_in


@pytest.mark.parametrize(("model", "op"), [("py_function", "EagerPyFunc"),
                                           ("py_func_tf1", "PyFunc")])  # fmt: skip
def test_python_calls(models: dict[str, Path], model: str, op: str) -> None:
    finding = only(scan(str(models[model])), op)
    assert (finding.code, finding.level) == ("RUNS_CODE", Level.ERROR)
    assert finding.runs_in == ("signature serving_default",)


CLEAN = ["saved_model_half_plus_two_cpu", "saved_model_half_plus_two_tf2_cpu",
         "saved_model_half_plus_three", "saved_model_counter"]  # fmt: skip


@pytest.mark.parametrize("name", CLEAN)
def test_tf_serving_models_are_clean(name: str) -> None:
    report = scan(str(TESTDATA / name))
    assert report.findings == [] and report.checkpoint_ops >= 2
    assert report.exit_status(Level.INFO) == 0


def _tf1_restore_that_writes(path: Path) -> Path:
    """A TF1 model whose Saver restore op also writes a file: it runs at load."""
    import tensorflow as tf

    v1 = tf.compat.v1
    with tf.Graph().as_default() as graph, v1.Session(graph=graph) as session:
        x = v1.placeholder(tf.float32, [None], name="x")
        scale = v1.Variable(2.0, name="scale")
        session.run(v1.global_variables_initializer())
        saver = v1.train.Saver([scale])
        restore = graph.get_operation_by_name(saver.saver_def.restore_op_name)
        write = tf.io.write_file("/tmp/sigserve-should-never-exist", "x")
        with tf.control_dependencies([restore, write]):
            tf.no_op(name="restore_and_write")
        saver.saver_def.restore_op_name = "restore_and_write"
        signature = v1.saved_model.signature_def_utils.predict_signature_def(
            {"x": x}, {"y": x * scale}
        )
        builder = v1.saved_model.Builder(str(path / "1"))
        builder.add_meta_graph_and_variables(
            session, ["serve"], signature_def_map={"serving_default": signature}, saver=saver
        )
        builder.save()
    return path


def test_checkpoint_ops_are_expected_but_a_write_on_the_restore_path_is_not(
    tmp_path: Path,
) -> None:
    report = scan(str(_tf1_restore_that_writes(tmp_path / "restore_writes")))
    finding = only(report, "WriteFile")
    assert (finding.level, finding.runs_in) == (Level.ERROR, (RESTORE,))
    assert finding.function == "" and finding.node.startswith("WriteFile")
    assert report.checkpoint_ops >= 2  # RestoreV2 / SaveV2 of that same Saver: expected
    assert not os.path.exists("/tmp/sigserve-should-never-exist")  # nothing ran


def test_every_listed_op_is_a_tensorflow_op() -> None:
    import tensorflow as tf  # noqa: F401  (registers the Python-side ops: PyFunc, ...)
    from tensorflow.python.framework import op_def_registry

    unknown = sorted(name for name in OPS if op_def_registry.get(name) is None)
    assert unknown == sorted(REMOVED)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    command = [sys.executable, "-m", "sigserve", "check", "--security", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO, env=env)


def test_cli(models: dict[str, Path]) -> None:
    clean = run_cli(str(TESTDATA / "saved_model_half_plus_two_cpu"))
    assert clean.returncode == 0, clean.stderr
    assert "no findings" in clean.stdout and "nothing was loaded or run" in clean.stdout
    risky = run_cli(str(models["writes"]), "--json")
    assert risky.returncode == 1
    data = json.loads(risky.stdout)
    assert [(f["op"], f["level"], f["runs_in"]) for f in data["findings"]] == [
        ("WriteFile", "error", ["signature serving_default"])
    ]
    dormant = run_cli(str(models["dormant"]), "--fail_on=warning")
    assert dormant.returncode == 1 and "dormant" in dormant.stdout
