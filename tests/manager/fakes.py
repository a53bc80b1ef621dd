"""Fake servables and a controllable loader for lifecycle tests (no TensorFlow)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sigserve.config import ServerConfig
from sigserve.errors import ServingError, invalid_argument
from sigserve.manager import ModelManager
from sigserve.manager.config import parse_model_config, single_model_config
from sigserve.types import ModelRef, SignatureInfo


class FakeServable:
    def __init__(
        self, path: str, version: int, loader: FakeLoader, unload_gate: threading.Event | None
    ) -> None:
        self.path = path
        self.version = version
        self.events = loader.events
        self.unloaded = False
        self.unload_gate = unload_gate
        self.signatures = dict(loader.signatures)
        self._broken = loader.broken.get(version, {})
        self._calls = loader.signature_calls

    def run(
        self, signature_name: str = "", inputs: dict[str, Any] | None = None,
        output_filter: Any = (),
    ) -> int:
        """A request (``run()``) or a call of one signature, which may be broken."""
        assert not self.unloaded, "a request ran on an unloaded servable"
        if signature_name:
            shapes = {k: v.shape for k, v in (inputs or {}).items()}
            self._calls.append((self.version, signature_name, shapes))
            if signature_name in self._broken:
                raise self._broken[signature_name]
        return self.version

    def unload(self) -> None:
        if self.unload_gate is not None:
            assert self.unload_gate.wait(10), "unload gate never opened"
        self.unloaded = True
        self.events.append(f"unload {self.version}")


class FakeLoader:
    """Loads FakeServables; versions can be made to fail (``failures``: with an error,
    ``raises``: with any exception), or to wait for a gate to load (``gates``) or to
    unload (``unload_gates``)."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.failures: dict[int, int] = {}  # version -> how many loads still fail
        self.gates: dict[int, threading.Event] = {}
        self.unload_gates: dict[int, threading.Event] = {}
        self.raises: dict[int, BaseException] = {}
        self.signatures: dict[str, SignatureInfo] = {}  # every servable has these
        self.broken: dict[int, dict[str, ServingError]] = {}  # version -> signature -> error
        self.signature_calls: list[tuple[int, str, dict[str, tuple[int, ...]]]] = []
        self.active = 0
        self.max_active = 0
        self.calls: dict[int, int] = {}
        self.delay = 0.0
        self._lock = threading.Lock()

    def __call__(self, path: str, version: int) -> FakeServable:
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.calls[version] = self.calls.get(version, 0) + 1
        try:
            if version in self.gates:
                assert self.gates[version].wait(10), "gate never opened"
            time.sleep(self.delay)
            if self.failures.get(version, 0) != 0:
                self.failures[version] -= 1
                raise invalid_argument(f"broken export at {path}")
            if version in self.raises:
                raise self.raises[version]
            self.events.append(f"load {version}")
            return FakeServable(path, version, self, self.unload_gates.get(version))
        finally:
            with self._lock:
                self.active -= 1


def add_version(base: Path, version: int) -> Path:
    path = base / f"{version:08d}"
    path.mkdir(parents=True)
    (path / "saved_model.pb").write_bytes(b"fake")
    return path


def options(**overrides: Any) -> ServerConfig:
    values: dict[str, Any] = {
        "file_system_poll_wait_seconds": 0,
        "max_num_load_retries": 0,
        "load_retry_interval_micros": 0,
        "enable_model_warmup": False,
    }
    values.update(overrides)
    return ServerConfig(**values)


def manager_for(
    base: Path, loader: FakeLoader, config_text: str | None = None, **overrides: Any
) -> ModelManager:
    if config_text is None:
        config = single_model_config("m", str(base))
    else:
        config = parse_model_config(config_text.replace("BASE", str(base)))
    return ModelManager(config, options(**overrides), loader=loader)


def models_config(root: Path, *names: str) -> Any:
    """A ModelServerConfig serving ``root/<name>`` for each name."""
    models = " ".join(
        f'config {{ name: "{n}" base_path: "{root / n}" model_platform: "tensorflow" }}'
        for n in names
    )
    return parse_model_config(f"model_config_list {{ {models} }}")


def served_version(manager: ModelManager, ref: ModelRef | None = None) -> int:
    with manager.acquire(ref or ModelRef("m")) as handle:
        return handle.servable.run()


def states(manager: ModelManager, name: str = "m") -> dict[int, str]:
    return {s.version: s.state for s in manager.status(ModelRef(name))}


async def eventually(check: Callable[[], bool], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


def error_of(call: Callable[[], Any]) -> ServingError:
    try:
        call()
    except ServingError as e:
        return e
    raise AssertionError("no ServingError raised")
