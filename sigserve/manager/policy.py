"""Which versions to serve: TF Serving's version policies as one pure function.

The policy is a ``FileSystemStoragePathSourceConfig.ServableVersionPolicy``
(the ``model_version_policy`` of a ``ModelConfig``):

- ``latest { num_versions: N }`` (the default, N=1; N=0 also means 1): the N
  highest versions on disk;
- ``all {}``: every version on disk;
- ``specific { versions: [...] }``: the listed versions that are on disk.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def aspired_versions(on_disk: Iterable[int], policy: Any) -> set[int]:
    """The versions the policy wants served, out of those on disk."""
    versions = set(on_disk)
    choice = policy.WhichOneof("policy_choice") if policy is not None else None
    if choice == "all":
        return versions
    if choice == "specific":
        return versions & set(policy.specific.versions)
    count = max(policy.latest.num_versions, 1) if choice == "latest" else 1
    return set(sorted(versions, reverse=True)[:count])


def missing_specific_versions(on_disk: Iterable[int], policy: Any) -> list[int]:
    """Versions a ``specific`` policy asks for that are not on disk (to log)."""
    if policy is None or policy.WhichOneof("policy_choice") != "specific":
        return []
    present = set(on_disk)
    return sorted(v for v in set(policy.specific.versions) if v not in present)
