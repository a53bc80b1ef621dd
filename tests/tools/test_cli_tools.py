"""`sigserve export`, `check` and `inspect` as a new user runs them: subprocesses from a
directory holding their module file (no PYTHONPATH), then `sigserve serve` on the result."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest

MODULE = '''
import keras
import tensorflow as tf

inputs = keras.Input((4,), name="features")
seeded = keras.initializers.GlorotUniform(seed=1)
hidden = keras.layers.Dense(8, activation="relu", name="hidden", kernel_initializer=seeded,
                            bias_initializer="ones")(inputs)
scores = keras.layers.Dense(1, name="scores", kernel_initializer=seeded)(hidden)
keras_model = keras.Model(inputs, scores)


class Scaler(tf.Module):
    def __init__(self):
        super().__init__()
        self.scale = tf.Variable([1.0, 2.0, 3.0])

    @tf.function
    def __call__(self, x):
        return {"y": x * self.scale}


scaler = Scaler()


class Trap(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    def __call__(self, x):
        if x.shape[0] == 1:
            return {"y": tf.reduce_sum(x, axis=1) * 3.0}
        return {"y": tf.reduce_sum(x, axis=1) * 6.0}


trap = Trap()
'''


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cwd = tmp_path_factory.mktemp("user")
    (cwd / "mymodels.py").write_text(MODULE)
    return cwd


def _sigserve(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TF_CPP_MIN_LOG_LEVEL")}
    return subprocess.run([sys.executable, "-m", "sigserve", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300)  # fmt: skip


def test_export_check_inspect_then_serve(workdir: Path, start_server) -> None:
    exported = _sigserve(workdir, "export", "mymodels:keras_model", "models/tiny")
    assert exported.returncode == 0, exported.stderr
    assert "Exported version 1" in exported.stdout
    assert exported.stderr == ""  # no TensorFlow start-up noise, no traceback

    checked = _sigserve(workdir, "check", "models/tiny")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip().endswith("no findings") and checked.stderr == ""

    shown = _sigserve(workdir, "inspect", "models/tiny")
    assert shown.returncode == 0 and shown.stderr == ""
    text = shown.stdout
    assert f"Read version 1 of model 'tiny' from {workdir / 'models' / 'tiny' / '1'}" in text
    examples = text.split("Example requests", 1)[1]
    assert "__saved_model_init_op" not in examples
    (curl,) = [line.strip() for line in examples.splitlines() if line.strip().startswith("curl -d")]
    words = shlex.split(curl)
    assert words[-1] == "http://localhost:8501/v1/models/tiny:predict"

    server = start_server("--model_name=tiny", f"--model_base_path={workdir / 'models' / 'tiny'}")
    url = words[-1].replace("http://localhost:8501", server.rest_url)
    body = json.loads(words[2])
    answer = httpx.post(url, json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    assert np.shape(answer.json()["predictions"]) == (1, 1)

    model = _user_module(workdir).keras_model  # the same seeded weights, run eagerly here
    for batch in (1, 3):
        rows = np.random.default_rng(batch).normal(size=(batch, 4)).astype(np.float32)
        answer = httpx.post(url, json={"instances": rows.tolist()}, timeout=30)
        assert answer.status_code == 200, answer.text
        want = model(rows, training=False).numpy()
        np.testing.assert_allclose(answer.json()["predictions"], want, rtol=1e-5, atol=1e-6)


def _user_module(workdir: Path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("user_models", workdir / "mymodels.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_export_refuses_the_trap_and_leaves_nothing(workdir: Path) -> None:
    refused = _sigserve(workdir, "export", "mymodels:trap", "models/trap")
    assert refused.returncode == 1
    assert "DIFFERS_FROM_PYTHON" in refused.stderr and "batch size 1" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (workdir / "models" / "trap").exists()


def test_check_with_python_reports_the_trap(workdir: Path) -> None:
    script = ("import tensorflow as tf, mymodels; "
              "tf.saved_model.save(mymodels.trap, 'saved/trap/1')")  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([sys.executable, "-c", script], cwd=workdir, check=True, env=env,
                   capture_output=True, timeout=300)  # fmt: skip
    result = _sigserve(workdir, "check", "saved/trap", "--python", "mymodels:trap", "--json")
    assert result.returncode == 1, result.stderr
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["code"] == "DIFFERS_FROM_PYTHON" and finding["tensor"] == "inputs['x']"


def test_export_module_call_with_signature_and_input_spec_flags(workdir: Path) -> None:
    bare = _sigserve(workdir, "export", "mymodels:scaler", "models/scaler")
    assert bare.returncode == 1
    assert "__call__" in bare.stderr and "--input_spec" in bare.stderr
    assert not (workdir / "models" / "scaler").exists()
    flags = ["--signature", "serving_default=__call__", "--input_spec", "x=float32[None,3]"]
    ok = _sigserve(workdir, "export", "mymodels:scaler", "models/scaler", *flags, "--json")
    assert ok.returncode == 0, ok.stderr
    data = json.loads(ok.stdout)
    assert data["version"] == 1 and data["compared"] == ["serving_default"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [(["mymodels:nope", "m"], "has no attribute 'nope'"),
     (["nomodule:x", "m"], "cannot import 'nomodule'"),
     (["mymodels:scaler", "m", "--input_spec", "x=float32"], "NAME=DTYPE[SHAPE]"),
     (["mymodels:scaler", "m", "--signature", "serving_default"], "NAME=ATTRIBUTE")],
)  # fmt: skip
def test_export_bad_arguments_are_one_line(workdir: Path, args: list[str], expected: str) -> None:
    result = _sigserve(workdir, "export", *args)
    assert result.returncode != 0
    assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (workdir / "m").exists()
