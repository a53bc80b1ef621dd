"""A live ``sigserve serve`` driven through real filesystem and config changes.

Versions of TF Serving's half_plus_two are copied into a temporary base path
(atomically and not), removed and corrupted; the config file is rewritten and
``HandleReloadConfigRequest`` is called; a bounded loopback load runs across a
version swap and a config reload and must see zero failed requests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from tensorflow_serving.apis import (
    get_model_status_pb2,
    model_management_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from sigserve.manager.config import parse_model_config

pytestmark = pytest.mark.slow
TIMEOUT = 30


def copy_version(testdata: Path, base: Path, source: int, version: int, atomic: bool) -> Path:
    """Copy a half_plus_two version in: via rename (atomic) or file by file."""
    src = testdata / "saved_model_half_plus_two_2_versions" / f"{source:08d}"
    target = base / str(version)
    if atomic:
        staging = base / f".staging-{version}"
        shutil.copytree(src, staging)
        os.rename(staging, target)
    else:
        shutil.copytree(src, target)
    return target


def predict(stub, model: str = "m", x: float = 2.0, version: int | None = None,
            label: str | None = None) -> tuple[int, float]:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    if version is not None:
        request.model_spec.version.value = version
    if label is not None:
        request.model_spec.version_label = label
    request.inputs["x"].dtype = 1
    request.inputs["x"].float_val.append(x)
    request.inputs["x"].tensor_shape.dim.add().size = 1
    response = stub.Predict(request, timeout=TIMEOUT)
    return response.model_spec.version.value, response.outputs["y"].float_val[0]


def status(stub, model: str = "m") -> dict[int, tuple[str, int, str]]:
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = model
    try:
        response = stub.GetModelStatus(request, timeout=TIMEOUT)
    except grpc.RpcError as e:
        if e.code() == grpc.StatusCode.NOT_FOUND:
            return {}
        raise
    state_name = get_model_status_pb2.ModelVersionStatus.State.Name
    return {
        s.version: (state_name(s.state), s.status.error_code, s.status.error_message)
        for s in response.model_version_status
    }


def states(stub, model: str = "m") -> dict[int, str]:
    return {version: entry[0] for version, entry in status(stub, model).items()}


def wait_for(check: Callable[[], bool], timeout: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.1)


class Load:
    """Predict requests sent continuously from a few threads, counting failures."""

    def __init__(self, stub, model: str = "m", threads: int = 4) -> None:
        self.stub = stub
        self.model = model
        self.versions: list[int] = []
        self.failures: list[str] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run) for _ in range(threads)]

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                version, y = predict(self.stub, self.model, x=4.0)
                assert y == 4.0, y  # half_plus_two: 0.5 * 4 + 2
                self.versions.append(version)
            except Exception as e:  # every failure is recorded, none may happen
                self.failures.append(repr(e))

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(TIMEOUT)


@pytest.fixture(scope="module")
def fs_server(start_server, testdata: Path, tmp_path_factory):
    base = tmp_path_factory.mktemp("fs") / "m"
    base.mkdir()
    copy_version(testdata, base, 123, 1, atomic=True)
    server = start_server(
        "--model_name=m",
        f"--model_base_path={base}",
        "--rest_api_port=0",
        "--file_system_poll_wait_seconds=1",
        "--max_num_load_retries=3",
        "--load_retry_interval_micros=1000000",
    )
    server.base = base
    return server


@pytest.fixture(scope="module")
def fs_stubs(fs_server):
    with grpc.insecure_channel(fs_server.grpc_address) as channel:
        yield (prediction_service_pb2_grpc.PredictionServiceStub(channel),
               model_service_pb2_grpc.ModelServiceStub(channel))


def test_swap_under_load_then_removal(fs_server, fs_stubs, testdata: Path) -> None:
    predict_stub, model_stub = fs_stubs
    assert predict(predict_stub) == (1, 3.0)
    with Load(predict_stub) as load:
        time.sleep(0.5)
        copy_version(testdata, fs_server.base, 124, 2, atomic=True)
        wait_for(lambda: states(model_stub) == {2: "AVAILABLE", 1: "END"}, what="swap to 2")
        time.sleep(0.5)
    assert load.failures == []
    assert load.versions[0] == 1 and load.versions[-1] == 2
    switch = load.versions.index(2)
    assert set(load.versions[switch:]) == {2}, "answers went back to the old version"
    assert predict(predict_stub) == (2, 3.0)
    # Removing the newest version brings the previous one back.
    shutil.rmtree(fs_server.base / "2")
    wait_for(lambda: states(model_stub) == {2: "END", 1: "AVAILABLE"}, what="back to 1")
    assert predict(predict_stub) == (1, 3.0)


def test_corrupt_version_is_reported_and_old_keeps_serving(fs_server, fs_stubs, testdata) -> None:
    predict_stub, model_stub = fs_stubs
    bad = fs_server.base / "50"
    shutil.copytree(testdata / "bad_half_plus_two" / "00000123", bad)
    wait_for(lambda: states(model_stub).get(50) == "LOADING", what="50 loading")
    assert predict(predict_stub)[0] == 1  # the serving version is untouched
    wait_for(lambda: states(model_stub).get(50) == "END", what="50 given up")
    _, code, message = status(model_stub)[50]
    assert code != 0 and message
    assert predict(predict_stub)[0] == 1
    shutil.rmtree(bad)
    wait_for(lambda: states(model_stub).get(1) == "AVAILABLE")


def test_half_copied_version_loads_once_complete(fs_server, fs_stubs, testdata) -> None:
    predict_stub, model_stub = fs_stubs
    source = testdata / "saved_model_half_plus_two_2_versions" / "00000124"
    partial = fs_server.base / "60"
    partial.mkdir()
    shutil.copy(source / "saved_model.pb", partial / "saved_model.pb")  # no variables yet
    wait_for(lambda: states(model_stub).get(60) == "LOADING", what="60 loading")
    time.sleep(1.5)  # at least one failed attempt
    assert predict(predict_stub)[0] == 1
    shutil.copytree(source / "variables", partial / "variables")
    wait_for(lambda: states(model_stub).get(60) == "AVAILABLE", what="60 after retry")
    assert predict(predict_stub) == (60, 3.0)
    wait_for(lambda: states(model_stub).get(1) == "END")


def write_config(path: Path, testdata: Path, models: dict[str, str], labels: str = "") -> None:
    """``labels`` go to the first model."""
    entries = "".join(
        f'  config {{ name: "{name}" base_path: "{testdata / folder}" '
        f'model_platform: "tensorflow" model_version_policy {{ all {{}} }} '
        f'{labels if i == 0 else ""} }}\n'
        for i, (name, folder) in enumerate(models.items())
    )
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"model_config_list {{\n{entries}}}\n")
    os.replace(tmp, path)


def test_config_reload_by_polling_under_load(start_server, testdata: Path, tmp_path) -> None:
    config = tmp_path / "models.config"
    two = "saved_model_half_plus_two_2_versions"
    write_config(config, testdata, {"m": two})
    server = start_server(
        f"--model_config_file={config}",
        "--model_config_file_poll_wait_seconds=1",
        "--rest_api_port=0",
    )
    with grpc.insecure_channel(server.grpc_address) as channel:
        predict_stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        model_stub = model_service_pb2_grpc.ModelServiceStub(channel)
        assert states(model_stub) == {124: "AVAILABLE", 123: "AVAILABLE"}
        with Load(predict_stub) as load:
            models = {"m": two, "other": "saved_model_half_plus_two_cpu"}
            write_config(config, testdata, models)
            wait_for(lambda: states(model_stub, "other") == {123: "AVAILABLE"}, what="poll")
            # A label may only name a version that serves: set it once 123 serves.
            write_config(config, testdata, models, 'version_labels { key: "stable" value: 123 }')
            wait_for(lambda: _label_works(predict_stub), what="label")
            write_config(config, testdata, {"m": two})
            wait_for(lambda: states(model_stub, "other") == {123: "END"}, what="unload other")
            time.sleep(0.3)
        assert load.failures == []
        assert set(load.versions) == {124}
        with pytest.raises(grpc.RpcError) as info:
            predict(predict_stub, "other")
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
        assert info.value.details() == (
            "Servable not found for request: Latest(other). Models served: m"
        )
        with pytest.raises(grpc.RpcError) as info:
            predict(predict_stub, label="stable")
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert info.value.details() == "Unrecognized servable version label: stable"


def test_reload_config_rpc_under_load(fs_server, fs_stubs, testdata: Path) -> None:
    predict_stub, model_stub = fs_stubs

    def reload(*models: tuple[str, Path]) -> None:
        entries = " ".join(
            f'config {{ name: "{name}" base_path: "{path}" model_platform: "tensorflow" }}'
            for name, path in models
        )
        request = model_management_pb2.ReloadConfigRequest()
        request.config.CopyFrom(parse_model_config(f"model_config_list {{ {entries} }}"))
        response = model_stub.HandleReloadConfigRequest(request, timeout=TIMEOUT)
        assert response.status.error_code == 0, response

    other = testdata / "saved_model_half_plus_two_cpu"
    before = predict(predict_stub)[0]
    with Load(predict_stub) as load:
        reload(("m", fs_server.base), ("other", other))
        # The RPC returns once the new model serves, as TF Serving's ReloadConfig.
        assert predict(predict_stub, "other") == (123, 3.0)
        reload(("m", fs_server.base))
        wait_for(lambda: states(model_stub, "other") == {123: "END"}, what="unload other")
    assert load.failures == []
    assert set(load.versions) == {before}


def _label_works(stub) -> bool:
    try:
        return predict(stub, label="stable")[0] == 123
    except grpc.RpcError:
        return False


def test_bad_config_file_stops_the_server(start_server, testdata: Path) -> None:
    server = start_server(
        f"--model_config_file={testdata / 'bad_model_config.txt'}", "--rest_api_port=0",
        wait=False,
    )
    try:
        code = server.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.stop()
        raise
    assert code != 0
    assert "Error parsing text-format tensorflow.serving.ModelServerConfig" in server.log()
    assert "bad_model_config.txt" in server.log()
