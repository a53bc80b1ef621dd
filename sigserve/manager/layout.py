"""A model's base path on disk: numeric version directories.

``/models/m/00000123`` is version 123 of model ``m``. Entries whose names are not
non-negative integers (``tmp``, ``.copying``, ``123.partial``) are skipped, as
TF Serving does; so are plain files.
"""

from __future__ import annotations

import os

from sigserve.errors import ServingError, invalid_argument


def scan_versions(name: str, base_path: str) -> dict[int, str]:
    """Version number → version directory, for every version under ``base_path``.

    Raises INVALID_ARGUMENT (TF Serving's wording) when the base path is missing
    or cannot be read.
    """
    try:
        entries = list(os.scandir(base_path))
    except OSError as e:
        raise _missing(name, base_path, e) from None
    versions: dict[int, str] = {}
    for entry in entries:
        version = parse_version(entry.name)
        if version is None or not _is_dir(entry):
            continue
        # Two spellings of one number (1 and 001): keep one, deterministically.
        if version not in versions or entry.path < versions[version]:
            versions[version] = entry.path
    return versions


def parse_version(dirname: str) -> int | None:
    """``"00000123"`` → 123; ``None`` for anything that is not a plain number."""
    if not dirname.isascii() or not dirname.isdigit():
        return None
    version = int(dirname)
    return version if version < 2**63 else None


def no_versions_message(name: str, base_path: str) -> str:
    return (
        f"No versions of servable {name} found under base path {base_path}. "
        "Did you forget to name your leaf directory as a number (eg. '/1/')?"
    )


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _missing(name: str, base_path: str, error: OSError) -> ServingError:
    kind = {FileNotFoundError: "NOT_FOUND", PermissionError: "PERMISSION_DENIED"}.get(
        type(error), "UNKNOWN"
    )
    reason = error.strerror or type(error).__name__
    return invalid_argument(
        f"Could not find base path {base_path} for servable {name} with error "
        f"{kind}: {base_path}: {reason}"
    )
