"""Config reloads against requests in flight and callers that give up: a model removed
and re-added while a request holds it serves again; a cancelled reload still applies
in full."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from sigserve.errors import Code, ServingError
from sigserve.manager import ModelManager
from sigserve.manager import manager as manager_module
from sigserve.types import ModelRef

from .fakes import (
    FakeLoader,
    add_version,
    error_of,
    eventually,
    models_config,
    options,
    served_version,
    states,
)


def test_model_re_added_while_unloading_loads_again(tmp_path: Path) -> None:
    add_version(tmp_path / "a", 1)
    add_version(tmp_path / "m", 2)
    loader = FakeLoader()

    async def scenario() -> None:
        manager = ModelManager(models_config(tmp_path, "a", "m"), options(), loader=loader)
        await manager.start()
        held = manager.acquire(ModelRef("m"))
        handle = held.__enter__()
        await manager.reload_config(models_config(tmp_path, "a"))
        assert states(manager) == {2: "UNLOADING"}  # the request still holds it
        reload = asyncio.create_task(manager.reload_config(models_config(tmp_path, "a", "m")))
        await asyncio.sleep(0.2)
        # Nothing serves m until the unload is done: the reload may not report OK yet.
        assert not reload.done()
        assert error_of(lambda: served_version(manager)).code == Code.NOT_FOUND
        assert handle.servable.run() == 2  # the held request goes on
        held.__exit__(None, None, None)
        await asyncio.wait_for(reload, 5)
        assert served_version(manager) == 2
        assert states(manager) == {2: "AVAILABLE"}
        await manager.stop()

    asyncio.run(scenario())
    assert loader.events[:4] == ["load 1", "load 2", "unload 2", "load 2"]
    assert sorted(loader.events[4:]) == ["unload 1", "unload 2"]


def test_model_removed_again_before_its_unload_finished_stays_unloaded(tmp_path: Path) -> None:
    add_version(tmp_path / "a", 1)
    add_version(tmp_path / "m", 2)
    loader = FakeLoader()

    async def scenario() -> None:
        manager = ModelManager(models_config(tmp_path, "a", "m"), options(), loader=loader)
        await manager.start()
        held = manager.acquire(ModelRef("m"))
        held.__enter__()
        await manager.reload_config(models_config(tmp_path, "a"))
        reload = asyncio.create_task(manager.reload_config(models_config(tmp_path, "a", "m")))
        await asyncio.sleep(0.05)
        await manager.reload_config(models_config(tmp_path, "a"))
        held.__exit__(None, None, None)
        await eventually(lambda: states(manager) == {2: "END"})
        await asyncio.wait_for(reload, 5)  # m left the config again: nothing to wait for
        await asyncio.sleep(0.1)
        assert states(manager) == {2: "END"}
        await manager.stop()

    asyncio.run(scenario())
    assert loader.calls[2] == 1


@pytest.mark.parametrize("count", [40])
def test_cancelled_reload_still_applies_the_whole_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: int
) -> None:
    kept = [f"keep{i}" for i in range(count)]
    removed = [f"old{i}" for i in range(count)]
    added = [f"new{i}" for i in range(count)]
    for name in [*kept, *removed, *added]:
        add_version(tmp_path / name, 1)
    loader = FakeLoader()
    real_scan = manager_module.scan_versions
    scans = 0
    midway, release = threading.Event(), threading.Event()

    def scan_holding_midway(name: str, base_path: str) -> dict[int, str]:
        nonlocal scans
        scans += 1  # one at a time: the reconcile awaits each scan
        if scans == count // 2:  # among the kept models: the removed and added come later
            midway.set()
            assert release.wait(10)
        return real_scan(name, base_path)

    async def scenario() -> None:
        manager = ModelManager(models_config(tmp_path, *kept, *removed), options(),
                               loader=loader)
        await manager.start()
        monkeypatch.setattr(manager_module, "scan_versions", scan_holding_midway)
        reload = asyncio.create_task(
            manager.reload_config(models_config(tmp_path, *kept, *added))
        )
        await eventually(midway.is_set)
        reload.cancel()  # the client's deadline
        with pytest.raises(asyncio.CancelledError):
            await reload
        release.set()
        await eventually(lambda: all(known_states(manager, n) == {1: "AVAILABLE"}
                                     for n in added))
        await eventually(lambda: all(known_states(manager, n) == {1: "END"} for n in removed))
        for name in added:
            assert served_version(manager, ModelRef(name)) == 1
        assert all(served_version(manager, ModelRef(name)) == 1 for name in kept)
        await manager.stop()

    asyncio.run(scenario())
    assert scans == 2 * count  # each kept and added model scanned once, not more


def known_states(manager: ModelManager, name: str) -> dict[int, str]:
    """The model's version states; {} while it has none."""
    try:
        return states(manager, name)
    except ServingError:
        return {}


def test_failure_of_a_reload_nobody_waits_for_is_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    add_version(tmp_path / "a", 1)
    release = threading.Event()
    real_scan = manager_module.scan_versions

    def held_scan(name: str, base_path: str) -> dict[int, str]:
        assert release.wait(10)
        return real_scan(name, base_path)

    async def scenario() -> None:
        manager = ModelManager(models_config(tmp_path, "a"), options(), loader=FakeLoader())
        await manager.start()
        monkeypatch.setattr(manager_module, "scan_versions", held_scan)
        first = asyncio.create_task(manager.reload_config(models_config(tmp_path, "a")))
        await asyncio.sleep(0.05)
        # Queued behind the first: a label on a version that does not serve fails.
        bad = models_config(tmp_path, "a")
        bad.model_config_list.config[0].version_labels["stable"] = 9
        second = asyncio.create_task(manager.reload_config(bad))
        await asyncio.sleep(0.05)
        second.cancel()
        with pytest.raises(asyncio.CancelledError):
            await second
        release.set()
        await asyncio.wait_for(first, 5)
        await eventually(lambda: "ReloadConfig failed after its caller stopped waiting" in
                         caplog.text)
        await manager.stop()

    asyncio.run(scenario())
    assert "Request to assign label to version 9 of model a" in caplog.text
