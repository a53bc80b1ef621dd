"""What ``sigserve check`` reports: findings with a stable code, a level and a fix."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass
from typing import Any


class Level(enum.IntEnum):
    """How bad a finding is; only ``ERROR`` fails ``sigserve check`` by default."""

    INFO = 0
    WARNING = 1
    ERROR = 2


@dataclass(frozen=True)
class Rule:
    """A kind of finding: its stable code, level, and the fix to suggest."""

    code: str
    level: Level
    fix: str


@dataclass(frozen=True)
class Finding:
    code: str
    level: Level
    signature: str  # "" for a model-level finding
    tensor: str  # "" when the finding is about the whole signature
    message: str
    fix: str

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["level"] = self.level.name.lower()
        return data


def found(rule: Rule, signature: str, tensor: str, message: str) -> Finding:
    return Finding(rule.code, rule.level, signature, tensor, message, rule.fix)


def text(finding: Finding) -> str:
    """``error CONSTANT_OUTPUT serving_default/outputs['y']: message`` and the fix."""
    where = finding.signature or "<model>"
    if finding.tensor:
        where += f" {finding.tensor}"
    return (
        f"{finding.level.name.lower()} {finding.code} [{where}]: {finding.message}\n"
        f"    fix: {finding.fix}"
    )
