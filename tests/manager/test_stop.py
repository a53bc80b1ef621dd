"""``stop()``: loads in progress finish and what they produced is unloaded, queued
unloads are not dropped, and a loader that raises a BaseException leaves nothing
waiting forever. Every load recorded has its unload."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from sigserve.errors import Code, ServingError
from sigserve.types import ModelRef

from .fakes import FakeLoader, add_version, eventually, manager_for, served_version, states

POLICY_ALL = """model_config_list { config {
  name: "m" base_path: "BASE" model_platform: "tensorflow"
  model_version_policy { all { } } } }"""


def assert_every_load_unloaded(events: list[str]) -> None:
    counts = Counter(events)
    loads = {e.split()[1]: n for e, n in counts.items() if e.startswith("load")}
    unloads = {e.split()[1]: n for e, n in counts.items() if e.startswith("unload")}
    assert loads == unloads, events


def test_stop_waits_for_a_load_in_progress_and_unloads_it(tmp_path: Path) -> None:
    add_version(tmp_path, 1)
    loader = FakeLoader()

    async def scenario() -> None:
        manager = manager_for(tmp_path, loader)
        await manager.start()
        gate = loader.gates[2] = threading.Event()
        add_version(tmp_path, 2)
        await manager.poll()
        await eventually(lambda: loader.active == 1)  # version 2 is in the loader
        stop = asyncio.create_task(manager.stop())
        await asyncio.sleep(0.1)
        assert not stop.done()  # waiting for the load
        gate.set()
        await asyncio.wait_for(stop, 5)
        assert states(manager) == {1: "END", 2: "END"}

    asyncio.run(scenario())
    assert loader.active == 0
    assert_every_load_unloaded(loader.events)
    assert "load 2" in loader.events


def test_a_load_outliving_the_stop_wait_unloads_what_it_loads(tmp_path: Path) -> None:
    add_version(tmp_path, 1)
    loader = FakeLoader()
    gate = loader.gates[2] = threading.Event()

    async def scenario() -> None:
        manager = manager_for(tmp_path, loader)
        await manager.start()
        add_version(tmp_path, 2)
        await manager.poll()
        await eventually(lambda: loader.active == 1)
        started = time.monotonic()
        await manager.stop(timeout=0.2)
        assert time.monotonic() - started < 2  # bounded
        assert states(manager) == {1: "END", 2: "END"}

    asyncio.run(scenario())
    assert "load 2" not in loader.events  # still loading when stop() returned
    gate.set()
    deadline = time.monotonic() + 5
    while "unload 2" not in loader.events and time.monotonic() < deadline:
        time.sleep(0.01)
    assert_every_load_unloaded(loader.events)
    assert "load 2" in loader.events


def test_queued_unloads_run_after_the_stop_wait(tmp_path: Path) -> None:
    add_version(tmp_path, 1)
    add_version(tmp_path, 2)
    loader = FakeLoader()
    gates = {v: threading.Event() for v in (1, 2)}
    loader.unload_gates.update(gates)

    async def scenario() -> None:
        manager = manager_for(tmp_path, loader, POLICY_ALL, num_unload_threads=1)
        await manager.start()
        assert states(manager) == {1: "AVAILABLE", 2: "AVAILABLE"}
        await manager.stop(timeout=0.2)  # one unload runs, the other is queued
        assert set(states(manager).values()) <= {"UNLOADING", "END"}
        for gate in gates.values():
            gate.set()
        await eventually(lambda: states(manager) == {1: "END", 2: "END"})

    asyncio.run(scenario())
    assert_every_load_unloaded(loader.events)


class LoaderAbort(BaseException):
    """Not an Exception: what a loader might raise that a plain ``except`` misses."""


@pytest.mark.parametrize("raised", [LoaderAbort("gave up"), SystemExit(3)])
def test_a_base_exception_from_the_loader_fails_the_load(
    tmp_path: Path, raised: BaseException
) -> None:
    add_version(tmp_path, 1)
    loader = FakeLoader()
    loader.raises[1] = raised

    async def scenario() -> None:
        manager = manager_for(tmp_path, loader)
        with pytest.raises(ServingError) as info:
            await asyncio.wait_for(manager.start(), 5)
        assert type(raised).__name__ in info.value.message
        (status,) = manager.status(ModelRef("m"))
        assert (status.state, status.error_code) == ("END", Code.UNKNOWN)
        assert status.error_message == f"{type(raised).__name__}: {raised}"
        await asyncio.wait_for(manager.stop(), 5)

    asyncio.run(scenario())


def test_a_base_exception_while_serving_keeps_the_old_version(tmp_path: Path) -> None:
    add_version(tmp_path, 1)
    loader = FakeLoader()
    loader.raises[2] = LoaderAbort("gave up")

    async def scenario() -> None:
        manager = manager_for(tmp_path, loader)
        await manager.start()
        add_version(tmp_path, 2)
        await manager.poll()
        await eventually(lambda: states(manager).get(2) == "END")
        assert served_version(manager) == 1
        await manager.stop()

    asyncio.run(scenario())
    assert_every_load_unloaded(loader.events)
