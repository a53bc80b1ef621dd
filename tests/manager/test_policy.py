from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sigserve import protos
from sigserve.manager.policy import aspired_versions, missing_specific_versions


def policy(text: str = ""):
    from google.protobuf import text_format

    message = protos.model_server_config_pb2.ModelConfig().model_version_policy
    return text_format.Parse(text, type(message)())


def test_default_is_latest_one() -> None:
    assert aspired_versions([1, 3, 2], policy()) == {3}


def test_latest_n() -> None:
    assert aspired_versions([1, 5, 3, 4], policy("latest { num_versions: 2 }")) == {4, 5}


def test_latest_zero_means_one() -> None:
    assert aspired_versions([1, 2], policy("latest { }")) == {2}


def test_latest_more_than_on_disk() -> None:
    assert aspired_versions([7], policy("latest { num_versions: 3 }")) == {7}


def test_all() -> None:
    assert aspired_versions([1, 2, 9], policy("all { }")) == {1, 2, 9}


def test_specific_keeps_only_versions_on_disk() -> None:
    specific = policy("specific { versions: 2 versions: 4 }")
    assert aspired_versions([1, 2, 3], specific) == {2}
    assert missing_specific_versions([1, 2, 3], specific) == [4]


def test_nothing_on_disk() -> None:
    assert aspired_versions([], policy()) == set()
    assert aspired_versions([], policy("all { }")) == set()


@given(st.sets(st.integers(0, 10**12)), st.integers(1, 5))
def test_latest_is_the_top_n(on_disk: set[int], n: int) -> None:
    chosen = aspired_versions(on_disk, policy(f"latest {{ num_versions: {n} }}"))
    assert len(chosen) == min(n, len(on_disk))
    assert chosen <= on_disk
    assert all(v > other for v in chosen for other in on_disk - chosen)
