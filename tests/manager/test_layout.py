from __future__ import annotations

from pathlib import Path

import pytest

from sigserve.errors import Code, ServingError
from sigserve.manager.layout import no_versions_message, parse_version, scan_versions


def test_numeric_directories_are_versions(tmp_path: Path) -> None:
    for name in ("00000123", "7", "tmp", "12.partial", "-3", ".5"):
        (tmp_path / name).mkdir()
    (tmp_path / "99").write_text("a file, not a version")
    assert scan_versions("m", str(tmp_path)) == {
        123: str(tmp_path / "00000123"),
        7: str(tmp_path / "7"),
    }


def test_empty_base_path(tmp_path: Path) -> None:
    assert scan_versions("m", str(tmp_path)) == {}
    assert "No versions of servable m found under base path" in no_versions_message(
        "m", str(tmp_path)
    )


def test_missing_base_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ServingError) as info:
        scan_versions("m", str(missing))
    assert info.value.code == Code.INVALID_ARGUMENT
    assert f"Could not find base path {missing} for servable m" in info.value.message


@pytest.mark.parametrize(
    ("name", "version"),
    [("0", 0), ("00000123", 123), ("9223372036854775807", 2**63 - 1), ("+1", None),
     ("1e3", None), ("١٢", None), ("9223372036854775808", None), ("", None)],
)
def test_parse_version(name: str, version: int | None) -> None:
    assert parse_version(name) == version
