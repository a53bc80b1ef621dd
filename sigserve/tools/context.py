"""What the check rules look at for one signature."""

from __future__ import annotations

from dataclasses import dataclass

from sigserve.tools.graph_deps import SignatureDeps
from sigserve.tools.probe import Probe
from sigserve.types import SignatureInfo


@dataclass(frozen=True)
class SignatureContext:
    key: str
    info: SignatureInfo
    deps: SignatureDeps | None  # None when the graph could not be analysed
    probe: Probe | None  # None when probing was not done

    def batch_major_inputs(self) -> bool:
        """Every input is clearly batch-major: shape (-1, known, ...). An input like
        (-1, -1) is ambiguous (a batch, or one variable-size matrix) and is not counted."""
        shapes = [i.shape for i in self.info.inputs.values()]
        return bool(shapes) and all(
            s is not None and len(s) >= 1 and s[0] == -1 and all(d >= 0 for d in s[1:])
            for s in shapes
        )


def tensor_label(kind: str, name: str) -> str:
    return f"{kind}['{name}']"
