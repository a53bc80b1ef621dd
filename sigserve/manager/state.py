"""The life of one model version: START → LOADING → AVAILABLE → UNLOADING → END.

Mirrors TF Serving's ``ServableState::ManagerState``. A version whose load
failed (after its retries) goes straight from LOADING to END and keeps the
error, which ``GetModelStatus`` reports.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sigserve.errors import Code


class State(str, enum.Enum):
    START = "START"
    LOADING = "LOADING"
    AVAILABLE = "AVAILABLE"
    UNLOADING = "UNLOADING"
    END = "END"


_ALLOWED: dict[State, frozenset[State]] = {
    State.START: frozenset({State.LOADING, State.END}),
    State.LOADING: frozenset({State.AVAILABLE, State.END}),
    State.AVAILABLE: frozenset({State.UNLOADING}),
    State.UNLOADING: frozenset({State.END}),
    State.END: frozenset(),
}


class TransitionError(RuntimeError):
    """A programming error: the manager tried a transition the state machine forbids."""


def check_transition(current: State, target: State) -> None:
    if target not in _ALLOWED[current]:
        raise TransitionError(f"illegal version state transition {current.value} -> {target.value}")


@dataclass(frozen=True)
class VersionStatus:
    """What ``GetModelStatus`` reports for one version."""

    version: int
    state: str  # a State value: the name GetModelStatusResponse uses
    error_code: Code = Code.OK
    error_message: str = ""
