from __future__ import annotations

import itertools

import pytest

from sigserve.manager.state import State, TransitionError, check_transition

LIFE = [State.START, State.LOADING, State.AVAILABLE, State.UNLOADING, State.END]


def test_the_normal_life_is_allowed() -> None:
    for current, target in itertools.pairwise(LIFE):
        check_transition(current, target)


def test_a_failed_load_ends() -> None:
    check_transition(State.LOADING, State.END)


@pytest.mark.parametrize(
    ("current", "target"),
    [(State.START, State.AVAILABLE), (State.AVAILABLE, State.END), (State.END, State.LOADING),
     (State.UNLOADING, State.AVAILABLE), (State.AVAILABLE, State.LOADING)],
)
def test_illegal_transitions(current: State, target: State) -> None:
    with pytest.raises(TransitionError):
        check_transition(current, target)
