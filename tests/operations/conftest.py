"""A model whose requests take as long as asked, one that loads slowly, and HTTP helpers.

``slow`` (signature ``slow``: input ``n``) multiplies 256x256 matrices ``n`` times,
so a request runs for a time the test chooses (``serving_default`` doubles ``x``).
The slow-loading copy carries a warmup file whose record calls ``slow``: TF
Serving's warmup replay, scaled with ``--num_request_iterations_for_warmup``,
keeps the version LOADING for a few seconds.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from sigserve import protos
from sigserve.codecs.tensor_proto import from_numpy
from sigserve.runtime.tfrecord import write_records
from sigserve.runtime.warmup import WARMUP_FILE

WARMUP_STEPS = 2000  # matmuls per warmup replay; the flag repeats it


def _build_slow(version_dir: Path) -> None:
    import tensorflow as tf

    class Slow(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
        def double(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
            return {"y": x * 2.0}

        @tf.function(input_signature=[tf.TensorSpec([], tf.int32, name="n")])
        def slow(self, n: tf.Tensor) -> dict[str, tf.Tensor]:
            m = tf.ones([256, 256]) / 256.0
            result = tf.while_loop(
                lambda i, a: i < n, lambda i, a: (i + 1, tf.matmul(a, m)), (tf.constant(0), m)
            )[1]
            return {"y": tf.reduce_sum(result)}

    module = Slow()
    tf.saved_model.save(
        module, str(version_dir), signatures={"serving_default": module.double, "slow": module.slow}
    )


@pytest.fixture(scope="session")
def slow_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Base path of ``slow`` (version 1)."""
    base = tmp_path_factory.mktemp("slow")
    _build_slow(base / "1")
    return base


@pytest.fixture(scope="session")
def slow_loading_model(slow_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same model, whose version 1 replays a warmup request of WARMUP_STEPS matmuls."""
    base = tmp_path_factory.mktemp("slow_loading")
    shutil.copytree(slow_model / "1", base / "1")
    entry = protos.prediction_log_pb2.PredictionLog()
    request = entry.predict_log.request
    request.model_spec.name = "slow"
    request.model_spec.signature_name = "slow"
    request.inputs["n"].CopyFrom(from_numpy(np.array(WARMUP_STEPS, dtype=np.int32)))
    path = base / "1" / WARMUP_FILE
    path.parent.mkdir(parents=True)
    write_records(str(path), [entry.SerializeToString()])
    return base
