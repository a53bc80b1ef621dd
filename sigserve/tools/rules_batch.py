"""Findings on batch-major outputs: row format needs every output batched like the inputs."""

from __future__ import annotations

from sigserve.tools.context import SignatureContext, tensor_label
from sigserve.tools.findings import Finding, Level, Rule, found

OUTPUT_NOT_BATCH_MAJOR = Rule(
    "OUTPUT_NOT_BATCH_MAJOR", Level.WARNING,
    "return one row per input row (keep axis 0, e.g. reduce over axis=1 rather than all axes, "
    "tf.tile per-model values to the batch size), or have clients use the columnar format",
)  # fmt: skip


def batch_findings(ctx: SignatureContext, skip: set[str]) -> list[Finding]:
    """Outputs whose first dimension is not the batch size while every input is batched."""
    if not ctx.batch_major_inputs():
        return []
    result = []
    for name, info in ctx.info.outputs.items():
        if name in skip:
            continue
        why = _static_reason(info.shape) or _probe_reason(ctx, name)
        if why:
            result.append(found(OUTPUT_NOT_BATCH_MAJOR, ctx.key, tensor_label("outputs", name),
                                f"inputs are batch-major but output {name!r} {why}: row-format "
                                "requests ({\"instances\": ...}) will fail"))  # fmt: skip
    return result


def _static_reason(shape: tuple[int, ...] | None) -> str | None:
    if shape is None:
        return None
    if not shape:
        return "is a scalar (shape ())"
    if shape[0] >= 0:
        return f"has a fixed first dimension {shape[0]} (shape {shape})"
    return None


def _probe_reason(ctx: SignatureContext, name: str) -> str | None:
    if ctx.probe is None:
        return None
    for run in ctx.probe.runs:
        shape = run.outputs[name].shape
        if not shape or shape[0] != run.batch:
            return f"had shape {shape} for a batch of {run.batch}"
    return None
