"""An unloaded version's memory is released: RSS stays flat across load/unload cycles."""

from __future__ import annotations

import asyncio
import gc
import shutil
from pathlib import Path

import pytest

from sigserve.types import ModelRef

from .fakes import eventually, manager_for, states

pytestmark = pytest.mark.slow
CYCLES = 20


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def test_rss_flat_across_load_unload_cycles(tmp_path: Path, testdata: Path) -> None:
    from sigserve.runtime import saved_model

    source = testdata / "saved_model_half_plus_two_2_versions" / "00000123"
    base = tmp_path / "m"
    shutil.copytree(source, base / "1")

    def loader(path: str, version: int):
        return saved_model.load(path, frozenset({"serve"}))

    async def cycle(manager, version: int) -> None:
        shutil.copytree(source, base / str(version))
        await manager.poll()
        await eventually(lambda: states(manager).get(version) == "AVAILABLE", timeout=30)
        with manager.acquire(ModelRef("m")) as handle:
            assert handle.version == version
        shutil.rmtree(base / str(version))
        await manager.poll()
        await eventually(lambda: states(manager).get(version) == "END", timeout=30)

    async def scenario() -> tuple[int, int]:
        manager = manager_for(base, loader)  # type: ignore[arg-type]
        await manager.start()
        for version in range(2, 6):  # let caches and allocators settle
            await cycle(manager, version)
        gc.collect()
        before = rss_bytes()
        for version in range(6, 6 + CYCLES):
            await cycle(manager, version)
        gc.collect()
        after = rss_bytes()
        await manager.stop()
        return before, after

    before, after = asyncio.run(scenario())
    growth = after - before
    print(f"RSS growth {growth / 2**20:.1f} MiB")
    assert growth < 25 * 2**20, f"RSS grew {growth / 2**20:.1f} MiB over {CYCLES} cycles"
