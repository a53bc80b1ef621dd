"""Call a signature with varied synthetic requests and keep the answers."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sigserve.runtime import synthetic
from sigserve.tools.served import Call, error_text, is_model_fault
from sigserve.types import SignatureInfo

# (batch size, size of other unknown dimensions, seed): shapes vary, then values alone.
PLAN = ((2, 3, 1), (3, 4, 2), (3, 4, 3))


@dataclass
class ProbeRun:
    batch: int
    inputs: dict[str, np.ndarray]
    outputs: dict[str, np.ndarray]


@dataclass
class Probe:
    """The runs that succeeded; ``error`` says why probing stopped early, ``fault``
    whether that failure is the model's (a missing variable), not the synthetic values'."""

    runs: list[ProbeRun] = field(default_factory=list)
    error: str | None = None
    fault: bool = False

    def complete(self) -> bool:
        return self.error is None and len(self.runs) == len(PLAN)

    def constant(self, output: str) -> bool:
        """Whether every run gave the same answer (shape and values) for ``output``."""
        first = self.runs[0].outputs[output]
        return all(_same(first, run.outputs[output]) for run in self.runs[1:])


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b))


def run(call: Call, signature: SignatureInfo) -> Probe:
    """Call the signature (through the serving loader) once per entry of :data:`PLAN`."""
    probe = Probe()
    for batch, inner, seed in PLAN:
        feed = synthetic.inputs(signature, batch, inner, seed)
        try:
            outputs = {k: np.asarray(v) for k, v in call(feed).items()}
        except Exception as e:  # any failure of a synthetic request: stop probing
            probe.error = f"{type(e).__name__}: {error_text(e)}"
            probe.fault = is_model_fault(e)
            return probe
        probe.runs.append(ProbeRun(batch, feed, outputs))
    return probe
