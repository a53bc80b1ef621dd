"""``--probe_new_versions`` on real SavedModels: a signature that fails at run time
(a variable never initialised) fails the probe, naming it; TF Serving's half_plus_two
(whose classify/regress signatures refuse made-up tf.Examples) passes; warmup records
probe the signatures they name, strictly."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import numpy as np
import pytest

from sigserve import protos
from sigserve.codecs.tensor_proto import from_numpy
from sigserve.config import ServerConfig
from sigserve.errors import Code, ServingError
from sigserve.manager import ModelManager
from sigserve.manager.config import single_model_config
from sigserve.runtime import saved_model
from sigserve.runtime.tfrecord import write_records
from sigserve.runtime.version_probe import VERSION_FAULTS, probe_version
from sigserve.runtime.warmup import WARMUP_FILE
from sigserve.types import ModelRef

TESTDATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "testdata" / "tf_serving"
HALF_PLUS_TWO = TESTDATA / "saved_model_half_plus_two_cpu" / "00000123"


def _build_uninitialised(path: Path) -> None:
    """``serving_default`` works; ``broken`` reads a variable nothing initialises (a local
    variable: not saved, and no init op runs it)."""
    import tensorflow as tf

    v1 = tf.compat.v1
    with tf.Graph().as_default() as graph, v1.Session(graph=graph) as session:
        x = v1.placeholder(tf.float32, [None], name="x")
        saved = v1.Variable(1.0, name="saved")
        never = v1.Variable(2.0, name="never", collections=[v1.GraphKeys.LOCAL_VARIABLES])
        session.run(saved.initializer)
        info = v1.saved_model.utils.build_tensor_info

        def sig(y: tf.Tensor):
            return v1.saved_model.signature_def_utils.build_signature_def(
                inputs={"x": info(x)}, outputs={"y": info(y)},
                method_name="tensorflow/serving/predict",
            )

        builder = v1.saved_model.Builder(str(path))
        builder.add_meta_graph_and_variables(
            session, ["serve"],
            signature_def_map={"serving_default": sig(x + saved), "broken": sig(x * never)},
        )
        builder.save()


@pytest.fixture(scope="module")
def uninitialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("uninitialised") / "2"
    _build_uninitialised(path)
    return path


def test_a_signature_failing_at_run_time_fails_the_probe(uninitialised: Path) -> None:
    servable = saved_model.load(str(uninitialised))
    try:
        np.testing.assert_array_equal(
            servable.run("", {"x": np.array([1.0], np.float32)})["y"], [2.0]
        )
        with pytest.raises(ServingError) as info:
            probe_version(servable, str(uninitialised))
    finally:
        servable.unload()
    assert info.value.code in VERSION_FAULTS  # FAILED_PRECONDITION from TF, or INTERNAL
    assert info.value.message.startswith('New version failed its probe on signature "broken": ')
    assert "never" in info.value.message


def test_half_plus_two_passes_the_probe() -> None:
    servable = saved_model.load(str(HALF_PLUS_TWO))
    try:
        assert {"classify_x_to_y", "regress_x_to_y"} <= set(servable.signatures)
        probe_version(servable, str(HALF_PLUS_TWO))
    finally:
        servable.unload()


def _with_warmup(tmp_path: Path, input_name: str) -> Path:
    version = tmp_path / "123"
    shutil.copytree(HALF_PLUS_TWO, version)
    entry = protos.prediction_log_pb2.PredictionLog()
    request = entry.predict_log.request
    request.inputs[input_name].CopyFrom(from_numpy(np.array([[1.0]], dtype=np.float32)))
    (version / WARMUP_FILE).parent.mkdir(exist_ok=True)
    write_records(str(version / WARMUP_FILE), [entry.SerializeToString()])
    return version


def test_warmup_records_probe_their_signatures_strictly(tmp_path: Path) -> None:
    version = _with_warmup(tmp_path, "z")  # half_plus_two's input is x
    servable = saved_model.load(str(version))
    try:
        with pytest.raises(ServingError) as info:
            probe_version(servable, str(version))
        assert info.value.code == Code.INVALID_ARGUMENT
        assert info.value.message.startswith(
            'New version failed its probe on signature "serving_default": '
        )
        probe_version(servable, str(version), warmup_replayed=True)  # already ran: not again
        good = tmp_path / "good"
        good.mkdir()
        version = _with_warmup(good, "x")
        probe_version(servable, str(version))
    finally:
        servable.unload()


def test_manager_keeps_the_old_version_when_the_new_one_fails_its_probe(
    tmp_path: Path, uninitialised: Path
) -> None:
    base = tmp_path / "m"
    shutil.copytree(HALF_PLUS_TWO, base / "1")
    options = ServerConfig(file_system_poll_wait_seconds=0, max_num_load_retries=0,
                           enable_model_warmup=False, probe_new_versions=True)

    async def scenario() -> None:
        manager = ModelManager(single_model_config("m", str(base)), options,
                               loader=lambda path, version: saved_model.load(path))
        await manager.start()
        shutil.copytree(uninitialised, base / "2")
        await manager.poll()
        deadline = asyncio.get_running_loop().time() + 30
        while {s.version: s.state for s in manager.status(ModelRef("m"))}.get(2) != "END":
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.05)
        (failed,) = manager.status(ModelRef("m", version=2))
        assert failed.error_code in VERSION_FAULTS
        assert 'probe on signature "broken"' in failed.error_message
        with manager.acquire(ModelRef("m")) as handle:
            assert handle.version == 1
            y = handle.servable.run("", {"x": np.array([[4.0]], np.float32)})["y"]
        np.testing.assert_array_equal(y, [[4.0]])
        await manager.stop()

    asyncio.run(scenario())
