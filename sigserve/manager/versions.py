"""The manager's bookkeeping for models and their versions (no I/O, no asyncio).

A :class:`ModelVersion` is one version's state machine plus the count of
requests holding it. A :class:`ModelEntry` is one configured model: its config,
its live versions, the statuses of versions that ended, and its labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sigserve.errors import Code, ServingError
from sigserve.manager.state import State, VersionStatus, check_transition


@dataclass
class ModelVersion:
    name: str
    version: int
    path: str
    state: State = State.START
    error: ServingError | None = None
    servable: Any = None
    refs: int = 0  # requests holding this version
    aspired: bool = True  # the version policy still wants it (while UNLOADING: load it again)
    unload_started: bool = False
    abandoned: bool = False  # LOADING given up (stop): a servable loaded later is unloaded

    def move_to(self, target: State) -> None:
        check_transition(self.state, target)
        self.state = target

    def status(self) -> VersionStatus:
        if self.error is None:
            return VersionStatus(self.version, self.state.value)
        return VersionStatus(self.version, self.state.value, self.error.code, self.error.message)


@dataclass
class ModelEntry:
    name: str
    config: Any  # ModelConfig proto; None once the model left the config
    live: dict[int, ModelVersion] = field(default_factory=dict)  # not END yet
    ended: dict[int, VersionStatus] = field(default_factory=dict)
    failed: set[int] = field(default_factory=set)  # ended with an error, still aspired
    labels: dict[str, int] = field(default_factory=dict)

    def available(self, version: int) -> ModelVersion | None:
        entry = self.live.get(version)
        return entry if entry is not None and entry.state == State.AVAILABLE else None

    def latest_available(self) -> ModelVersion | None:
        ready = [v for v in self.live.values() if v.state == State.AVAILABLE]
        return max(ready, key=lambda v: v.version, default=None)

    def statuses(self) -> dict[int, VersionStatus]:
        merged = dict(self.ended)
        merged.update({v: entry.status() for v, entry in self.live.items()})
        return merged

    def end(self, entry: ModelVersion) -> None:
        """Record a version that reached END and forget its servable."""
        entry.move_to(State.END)
        entry.servable = None
        self.live.pop(entry.version, None)
        self.ended[entry.version] = entry.status()
        if entry.error is not None and entry.aspired:
            self.failed.add(entry.version)

    def pending(self) -> bool:
        """Whether a version is on its way to AVAILABLE: starting, loading, or aspired
        again while it unloads (it loads again once the unload finishes)."""
        return any(
            v.state in (State.START, State.LOADING) or (v.state == State.UNLOADING and v.aspired)
            for v in self.live.values()
        )

    def versions_to_unload(self) -> list[ModelVersion]:
        """TF Serving's availability-preserving rule, applied until it stops.

        A version the policy no longer wants is unloaded (lowest first) only when
        no version is wanted at all, or a wanted version serves, or more than one
        unwanted version still serves: a model that serves keeps serving while its
        replacement loads, and keeps serving if the replacement fails.
        """
        has_aspired = any(v.aspired for v in self.live.values()) or bool(self.failed)
        has_aspired_serving = any(
            v.aspired and v.state == State.AVAILABLE for v in self.live.values()
        )
        unwanted = sorted(
            (v for v in self.live.values() if not v.aspired and v.state == State.AVAILABLE),
            key=lambda v: v.version,
        )
        if not has_aspired or has_aspired_serving:
            return unwanted
        return unwanted[:-1]


def load_failure(error: BaseException) -> ServingError:
    """A loader's exception as the error a status reports."""
    if isinstance(error, ServingError):
        return error
    return ServingError(Code.UNKNOWN, f"{type(error).__name__}: {error}")
