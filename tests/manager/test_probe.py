"""``--probe_new_versions`` with fake servables: a new version answers every signature
before it serves; one that fails ends with the error, and the old version serves on."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from sigserve.errors import Code, ServingError
from sigserve.types import PREDICT_METHOD, ModelRef, SignatureInfo, TensorInfo

from .fakes import FakeLoader, add_version, eventually, manager_for, served_version, states

SIGNATURES = {
    "serving_default": SignatureInfo(PREDICT_METHOD, {"x": TensorInfo("DT_FLOAT", (-1, 3))}),
    "scores": SignatureInfo(PREDICT_METHOD, {"x": TensorInfo("DT_FLOAT", (-1, -1)),
                                             "k": TensorInfo("DT_INT32", ())}),
}


def loader_with_signatures() -> FakeLoader:
    loader = FakeLoader()
    loader.signatures.update(SIGNATURES)
    return loader


def test_every_signature_is_probed_before_the_version_serves(tmp_path: Path) -> None:
    add_version(tmp_path, 1)
    loader = loader_with_signatures()

    async def scenario() -> None:
        manager = manager_for(tmp_path, loader, probe_new_versions=True)
        await manager.start()
        assert served_version(manager) == 1
        await manager.stop()

    asyncio.run(scenario())
    assert loader.signature_calls == [
        (1, "scores", {"x": (1, 1), "k": ()}),
        (1, "serving_default", {"x": (1, 3)}),
    ]


def test_a_failing_probe_ends_the_version_and_the_old_one_serves(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    add_version(tmp_path, 1)
    loader = loader_with_signatures()
    loader.broken[2] = {
        "scores": ServingError(Code.FAILED_PRECONDITION, "Could not find variable w")
    }

    async def scenario() -> None:
        manager = manager_for(tmp_path, loader, probe_new_versions=True)
        await manager.start()
        add_version(tmp_path, 2)
        await manager.poll()
        await eventually(lambda: states(manager).get(2) == "END")
        (failed,) = manager.status(ModelRef("m", version=2))
        assert failed.error_code == Code.FAILED_PRECONDITION
        assert failed.error_message == (
            'New version failed its probe on signature "scores": Could not find variable w'
        )
        assert states(manager) == {2: "END", 1: "AVAILABLE"}
        assert served_version(manager) == 1
        await manager.stop()

    with caplog.at_level(logging.ERROR):
        asyncio.run(scenario())
    assert loader.events.count("load 2") == loader.events.count("unload 2") == 1
    assert "Probe of signature scores failed: FAILED_PRECONDITION: Could not find variable w" \
        in caplog.text


def test_refused_synthetic_inputs_are_not_held_against_the_version(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    add_version(tmp_path, 1)
    loader = loader_with_signatures()
    loader.broken[1] = {"scores": ServingError(Code.INVALID_ARGUMENT, "k must be > 3")}

    async def scenario() -> None:
        manager = manager_for(tmp_path, loader, probe_new_versions=True)
        await manager.start()
        assert served_version(manager) == 1
        await manager.stop()

    asyncio.run(scenario())
    # Batch size 1, refused, then 2.
    assert [shapes["x"] for _, name, shapes in loader.signature_calls if name == "scores"] == [
        (1, 1), (2, 2)
    ]
    assert "Probe of signature scores: synthetic inputs refused (INVALID_ARGUMENT: k must " \
        "be > 3)" in caplog.text


def test_without_the_flag_nothing_is_probed(tmp_path: Path) -> None:
    add_version(tmp_path, 1)
    loader = loader_with_signatures()
    loader.broken[1] = {"scores": ServingError(Code.FAILED_PRECONDITION, "broken")}

    async def scenario() -> None:
        manager = manager_for(tmp_path, loader)
        await manager.start()
        assert served_version(manager) == 1
        await manager.stop()

    asyncio.run(scenario())
    assert loader.signature_calls == []
