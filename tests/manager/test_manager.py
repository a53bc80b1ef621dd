"""ModelManager lifecycle with fake servables: loads, swaps, in-flight requests,
retries, labels, reloads, thread limits."""

from __future__ import annotations

import asyncio
import shutil
import threading
from pathlib import Path

import pytest

from sigserve.errors import Code, ServingError
from sigserve.manager import ModelManager
from sigserve.manager.config import parse_model_config
from sigserve.types import ModelRef

from .fakes import (
    FakeLoader,
    add_version,
    error_of,
    eventually,
    manager_for,
    options,
    served_version,
    states,
)


def test_serves_the_highest_version(tmp_path: Path) -> None:
    add_version(tmp_path, 1)
    add_version(tmp_path, 2)
    (tmp_path / "not_a_version").mkdir()
    loader = FakeLoader()

    async def scenario() -> None:
        manager = manager_for(tmp_path, loader)
        await manager.start()
        assert served_version(manager) == 2
        assert states(manager) == {2: "AVAILABLE"}
        assert served_version(manager, ModelRef("m", version=2)) == 2
        await manager.stop()
        assert states(manager) == {2: "END"}

    asyncio.run(scenario())
    assert loader.events == ["load 2", "unload 2"]


def test_not_found_messages(tmp_path: Path) -> None:
    add_version(tmp_path, 123)

    async def scenario() -> None:
        manager = manager_for(tmp_path, FakeLoader())
        await manager.start()
        e = error_of(lambda: served_version(manager, ModelRef("m", version=7)))
        assert e.code == Code.NOT_FOUND
        assert e.message == (
            "Servable not found for request: Specific(m, 7). Available versions: 123"
        )
        e = error_of(lambda: served_version(manager, ModelRef("other")))
        assert e.code == Code.NOT_FOUND
        assert e.message == "Servable not found for request: Latest(other). Models served: m"
        e = error_of(lambda: served_version(manager, ModelRef("m", label="stable")))
        assert (e.code, e.message) == (
            Code.INVALID_ARGUMENT, "Unrecognized servable version label: stable"
        )
        e = error_of(lambda: manager.status(ModelRef("m", version=7)))
        assert (e.code, e.message) == (Code.NOT_FOUND, "Could not find version 7 of model m")
        e = error_of(lambda: manager.status(ModelRef("other")))
        assert (e.code, e.message) == (Code.NOT_FOUND, "Could not find any versions of model other")
        await manager.stop()

    asyncio.run(scenario())


def test_swap_loads_new_before_unloading_old(tmp_path: Path) -> None:
    add_version(tmp_path, 1)
    loader = FakeLoader()

    async def scenario() -> None:
        manager = manager_for(tmp_path, loader)
        await manager.start()
        gate = loader.gates[2] = threading.Event()
        add_version(tmp_path, 2)
        await manager.poll()
        await eventually(lambda: states(manager).get(2) == "LOADING")
        assert served_version(manager) == 1  # still serving while 2 loads
        gate.set()
        await eventually(lambda: states(manager) == {2: "AVAILABLE", 1: "END"})
        assert served_version(manager) == 2
        await manager.stop()

    asyncio.run(scenario())
    assert loader.events[:3] == ["load 1", "load 2", "unload 1"]


def test_in_flight_request_finishes_before_unload(tmp_path: Path) -> None:
    add_version(tmp_path, 1)
    loader = FakeLoader()

    async def scenario() -> None:
        manager = manager_for(tmp_path, loader)
        await manager.start()
        held = manager.acquire(ModelRef("m"))
        handle = held.__enter__()
        add_version(tmp_path, 2)
        await manager.poll()
        await eventually(lambda: states(manager) == {2: "AVAILABLE", 1: "UNLOADING"})
        assert served_version(manager) == 2  # new requests go to the new version
        assert handle.servable.run() == 1  # the held one still works
        assert "unload 1" not in loader.events
        e = error_of(lambda: served_version(manager, ModelRef("m", version=1)))
        assert e.code == Code.NOT_FOUND
        held.__exit__(None, None, None)
        await eventually(lambda: states(manager).get(1) == "END")
        assert handle.servable.unloaded
        await manager.stop()

    asyncio.run(scenario())


def test_removed_version_is_unloaded_and_previous_one_returns(tmp_path: Path) -> None:
    add_version(tmp_path, 1)
    loader = FakeLoader()

    async def scenario() -> None:
        manager = manager_for(tmp_path, loader)
        await manager.start()
        path = add_version(tmp_path, 2)
        await manager.poll()
        await eventually(lambda: states(manager) == {2: "AVAILABLE", 1: "END"})
        shutil.rmtree(path)
        await manager.poll()
        await eventually(lambda: states(manager) == {2: "END", 1: "AVAILABLE"})
        assert served_version(manager) == 1
        await manager.stop()

    asyncio.run(scenario())


def test_failed_load_is_retried_then_serves(tmp_path: Path) -> None:
    add_version(tmp_path, 1)
    loader = FakeLoader()
    loader.failures[1] = 2

    async def scenario() -> None:
        manager = manager_for(tmp_path, loader, max_num_load_retries=2)
        await manager.start()
        assert served_version(manager) == 1
        await manager.stop()

    asyncio.run(scenario())
    assert loader.calls[1] == 3


def test_failing_new_version_keeps_the_old_one_serving(tmp_path: Path) -> None:
    add_version(tmp_path, 1)
    loader = FakeLoader()
    loader.failures[2] = -1  # always fails

    async def scenario() -> None:
        manager = manager_for(
            tmp_path, loader, max_num_load_retries=2, load_retry_interval_micros=1000
        )
        await manager.start()
        add_version(tmp_path, 2)
        await manager.poll()
        await eventually(lambda: states(manager).get(2) == "END")
        (failed,) = manager.status(ModelRef("m", version=2))
        assert failed.error_code == Code.INVALID_ARGUMENT
        assert "broken export" in failed.error_message
        assert states(manager)[1] == "AVAILABLE"
        assert served_version(manager) == 1
        await manager.poll()  # a failed version is not retried on every poll
        await asyncio.sleep(0.05)
        await manager.stop()

    asyncio.run(scenario())
    assert loader.calls[2] == 3


def test_start_fails_when_no_version_loads(tmp_path: Path) -> None:
    add_version(tmp_path, 5)
    loader = FakeLoader()
    loader.failures[5] = -1

    async def scenario() -> None:
        manager = manager_for(tmp_path, loader)
        with pytest.raises(ServingError) as info:
            await manager.start()
        assert info.value.code == Code.UNKNOWN
        assert info.value.message.startswith(
            "1 model(s) did not become available: {{{name: m version: 5} due to error: "
            "INVALID_ARGUMENT: broken export"
        )
        await manager.stop()

    asyncio.run(scenario())


def test_missing_base_path_without_polling_fails_start(tmp_path: Path) -> None:
    async def scenario() -> None:
        manager = manager_for(tmp_path / "missing", FakeLoader())
        with pytest.raises(ServingError, match="Could not find base path"):
            await manager.start()
        await manager.stop()

    asyncio.run(scenario())


def test_start_waits_for_a_version_to_appear(tmp_path: Path) -> None:
    base = tmp_path / "later"

    async def scenario() -> None:
        manager = manager_for(base, FakeLoader(), file_system_poll_wait_seconds=0.05)
        start = asyncio.create_task(manager.start())
        await asyncio.sleep(0.2)
        assert not start.done()  # TF Serving waits for the model
        add_version(base, 3)
        await asyncio.wait_for(start, 5)
        assert served_version(manager) == 3
        await manager.stop()

    asyncio.run(scenario())


def test_polling_picks_up_new_versions(tmp_path: Path) -> None:
    add_version(tmp_path, 1)

    async def scenario() -> None:
        manager = manager_for(tmp_path, FakeLoader(), file_system_poll_wait_seconds=0.05)
        await manager.start()
        add_version(tmp_path, 2)
        await eventually(lambda: served_version(manager) == 2)
        await manager.stop()

    asyncio.run(scenario())


POLICY_ALL = """model_config_list { config {
  name: "m" base_path: "BASE" model_platform: "tensorflow"
  model_version_policy { all { } } } }"""


@pytest.mark.parametrize("threads", [1, 3])
def test_num_load_threads_limits_concurrent_loads(tmp_path: Path, threads: int) -> None:
    add_version(tmp_path, 1)
    loader = FakeLoader()

    async def scenario() -> None:
        manager = manager_for(tmp_path, loader, POLICY_ALL, num_load_threads=threads)
        await manager.start()
        loader.delay = 0.05
        for version in range(2, 8):
            add_version(tmp_path, version)
        await manager.poll()
        await eventually(lambda: len(states(manager)) == 7 and
                         set(states(manager).values()) == {"AVAILABLE"})
        await manager.stop()

    asyncio.run(scenario())
    assert loader.max_active <= threads
    if threads > 1:
        assert loader.max_active > 1


LABELS = """model_config_list { config {
  name: "m" base_path: "BASE" model_platform: "tensorflow"
  model_version_policy { all { } }
  version_labels { key: "stable" value: 1 } version_labels { key: "canary" value: 2 } } }"""


def test_labels_need_available_versions_at_start(tmp_path: Path) -> None:
    add_version(tmp_path, 1)
    add_version(tmp_path, 2)

    async def scenario() -> None:
        manager = manager_for(tmp_path, FakeLoader(), LABELS)
        with pytest.raises(ServingError) as info:
            await manager.start()
        assert info.value.code == Code.FAILED_PRECONDITION
        assert info.value.message == (
            "Request to assign label to version 2 of model m, which is not currently "
            "available for inference"
        )
        await manager.stop()

    asyncio.run(scenario())


def test_labels_route_requests(tmp_path: Path) -> None:
    add_version(tmp_path, 1)
    add_version(tmp_path, 2)

    async def scenario() -> None:
        manager = manager_for(
            tmp_path, FakeLoader(), LABELS, allow_version_labels_for_unavailable_models=True
        )
        await manager.start()
        assert served_version(manager, ModelRef("m", label="stable")) == 1
        assert served_version(manager, ModelRef("m", label="canary")) == 2
        assert [s.version for s in manager.status(ModelRef("m", label="stable"))] == [1]
        # Moving a label at run time: only onto an available version.
        text = LABELS.replace("BASE", str(tmp_path))
        moved = parse_model_config(text.replace("value: 1", "value: 2"))
        await manager.reload_config(moved)
        assert served_version(manager, ModelRef("m", label="stable")) == 2
        bad = parse_model_config(text.replace("value: 1", "value: 9"))
        with pytest.raises(ServingError) as info:
            await manager.reload_config(bad)
        assert info.value.code == Code.FAILED_PRECONDITION
        assert served_version(manager, ModelRef("m", label="stable")) == 2  # unchanged
        await manager.stop()

    asyncio.run(scenario())


def test_reload_config_adds_and_removes_models(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    add_version(a, 1)
    add_version(b, 7)
    loader = FakeLoader()

    def config(*names: str):
        models = " ".join(
            f'config {{ name: "{n}" base_path: "{tmp_path / n}" model_platform: "tensorflow" }}'
            for n in names
        )
        return parse_model_config(f"model_config_list {{ {models} }}")

    async def scenario() -> None:
        manager = ModelManager(config("a"), options(), loader=loader)
        await manager.start()
        await manager.reload_config(config("a", "b"))
        assert served_version(manager, ModelRef("b")) == 7  # loaded before reload returns
        await manager.reload_config(config("b"))
        await eventually(lambda: states(manager, "a") == {1: "END"})
        e = error_of(lambda: served_version(manager, ModelRef("a")))
        assert e.message == "Servable not found for request: Latest(a). Models served: b"
        await manager.stop()

    asyncio.run(scenario())


def test_not_found_lists_models_served_or_versions_available(tmp_path: Path) -> None:
    names = [f"m{i:02d}" for i in range(25)]
    for name in names[:-1]:
        add_version(tmp_path / name, 1)
    add_version(tmp_path / "m00", 2)
    add_version(tmp_path / names[-1], 9)
    loader = FakeLoader()
    loader.failures[9] = -1  # the last model serves nothing

    async def scenario() -> None:
        manager = ModelManager(
            parse_model_config(
                "model_config_list { "
                + " ".join(f'config {{ name: "{n}" base_path: "{tmp_path / n}" '
                           'model_platform: "tensorflow" model_version_policy { all { } } }'
                           for n in names)
                + " }"
            ),
            options(), loader=loader,
        )
        with pytest.raises(ServingError):  # one model did not become available
            await manager.start()
        served = names[:-1]
        e = error_of(lambda: served_version(manager, ModelRef("x")))
        assert e.message == (
            "Servable not found for request: Latest(x). Models served: "
            + ", ".join(served[:20]) + " (and 4 more)"
        )
        e = error_of(lambda: served_version(manager, ModelRef("x", version=3)))
        assert e.message.startswith("Servable not found for request: Specific(x, 3). Models "
                                    "served: ")
        e = error_of(lambda: served_version(manager, ModelRef("m00", version=3)))
        assert e.message == (
            "Servable not found for request: Specific(m00, 3). Available versions: 1, 2"
        )
        e = error_of(lambda: served_version(manager, ModelRef("m24")))
        assert e.message == (
            "Servable not found for request: Latest(m24). Available versions: (none)"
        )
        await manager.stop()

    asyncio.run(scenario())
