"""Findings from what depends on what: constant outputs, unused inputs, binary strings.

Graph analysis (:mod:`graph_deps`) is the evidence; probing confirms. An output
that depends on no input but changes from call to call (a counter, a random
draw) is state, not a frozen trace, and is not reported.
"""

from __future__ import annotations

from sigserve.tools.context import SignatureContext, tensor_label
from sigserve.tools.findings import Finding, Level, Rule, found

CONSTANT_OUTPUT = Rule(
    "CONSTANT_OUTPUT", Level.ERROR,
    "branch on tensors, not on Python values or static shapes (tf.cond, "
    "tf.equal(tf.size(x), 0), tf.shape(x) instead of x.shape), or drop input_signature",
)  # fmt: skip
UNUSED_INPUT = Rule(
    "UNUSED_INPUT", Level.ERROR,
    "use the input in the computation, or remove it from the signature",
)  # fmt: skip
BINARY_STRING_INPUT = Rule(
    "BINARY_STRING_INPUT", Level.WARNING,
    'JSON clients must send this input as {"b64": "<base64>"}; name it with a _bytes suffix '
    "to make that plain, or accept a decoded tensor instead",
)  # fmt: skip


def constant_outputs(ctx: SignatureContext) -> list[str]:
    """Outputs that depend on none of the (existing) inputs and do not vary when probed."""
    if ctx.deps is None or not ctx.info.inputs:
        return []
    result = []
    for name, sources in ctx.deps.outputs.items():
        if sources:
            continue
        varied = ctx.probe is not None and len(ctx.probe.runs) > 1
        if varied and ctx.probe is not None and not ctx.probe.constant(name):
            continue  # state or randomness, not a frozen trace
        result.append(name)
    return result


def dataflow_findings(ctx: SignatureContext) -> list[Finding]:
    if ctx.deps is None:
        return []
    result = []
    constant = constant_outputs(ctx)
    confirmed = ctx.probe is not None and ctx.probe.complete()
    for name in constant:
        evidence = (
            f"; {len(ctx.probe.runs)} varied requests all got the same answer"
            if (confirmed and ctx.probe is not None)
            else ""
        )
        result.append(found(CONSTANT_OUTPUT, ctx.key, tensor_label("outputs", name),
                            f"output {name!r} depends on none of the inputs "
                            f"{sorted(ctx.info.inputs)}: every request gets the same answer, "
                            "typically a Python branch on x.shape or a Python value frozen "
                            "when the function was traced"
                            f"{evidence}"))  # fmt: skip
    if ctx.info.outputs and len(constant) < len(ctx.info.outputs):
        used = set().union(*ctx.deps.outputs.values())
        for name in ctx.info.inputs:
            if name not in used:
                result.append(found(UNUSED_INPUT, ctx.key, tensor_label("inputs", name),
                                    f"no output depends on input {name!r}: clients must send "
                                    "it, and it changes nothing"))  # fmt: skip
    result += _binary_findings(ctx)
    return result


def _binary_findings(ctx: SignatureContext) -> list[Finding]:
    assert ctx.deps is not None
    example_api = set(ctx.info.inputs) == {"inputs"}  # :classify/:regress serialize for you
    result = []
    for name, info in ctx.info.inputs.items():
        if info.dtype != "DT_STRING":
            continue
        if name in ctx.deps.decode_inputs:
            what = "encoded bytes (an image, raw or serialized tensor)"
        elif name in ctx.deps.example_inputs and not example_api:
            what = "serialized tf.Example protos"
        else:
            continue
        result.append(found(BINARY_STRING_INPUT, ctx.key, tensor_label("inputs", name),
                            f"string input {name!r} is decoded as {what}: a plain JSON string "
                            "cannot carry arbitrary bytes"))  # fmt: skip
    return result
