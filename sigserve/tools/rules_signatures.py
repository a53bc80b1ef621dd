"""Findings from the signatures' declarations: names, methods, batch dimensions."""

from __future__ import annotations

import re

from sigserve.tools.context import SignatureContext, tensor_label
from sigserve.tools.findings import Finding, Level, Rule, found
from sigserve.types import CLASSIFY_METHOD, DEFAULT_SIGNATURE, REGRESS_METHOD

NO_SIGNATURES = Rule(
    "NO_SIGNATURES", Level.ERROR,
    "save with signatures={'serving_default': f}, f a tf.function with an input_signature "
    "(or its concrete function), or use sigserve.export",
)  # fmt: skip
NO_SERVING_DEFAULT = Rule(
    "NO_SERVING_DEFAULT", Level.ERROR,
    "name the signature 'serving_default': signatures={'serving_default': f}",
)  # fmt: skip
METHOD_MISMATCH = Rule(
    "METHOD_MISMATCH", Level.ERROR,
    "give :classify signatures one input 'inputs' (serialized tf.Example) and outputs "
    "'classes' and/or 'scores', :regress signatures one input 'inputs' and one output "
    "'outputs'; otherwise export it with the predict method (tensorflow/serving/predict)",
)  # fmt: skip
TUPLE_INPUT_NAMES = Rule(
    "TUPLE_INPUT_NAMES", Level.WARNING,
    "take one argument per tensor (def f(self, a, b)) or a dict, and name each TensorSpec "
    "(tf.TensorSpec(..., name='a'))",
)  # fmt: skip
AWKWARD_INPUT_NAME = Rule(
    "AWKWARD_INPUT_NAME", Level.WARNING,
    "rename the input (the TensorSpec's name, or the argument's) to letters, digits and '_'",
)  # fmt: skip
FIXED_BATCH_DIM = Rule(
    "FIXED_BATCH_DIM", Level.WARNING,
    "declare the batch dimension as None: tf.TensorSpec([None, ...]) "
    "(Keras: keras.Input(shape=...) without batch_size)",
)  # fmt: skip

_INIT_OP = "__saved_model_init_op"
_SUFFIXED = re.compile(r"^(.+)_(\d+)$")
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


def served(keys: list[str]) -> list[str]:
    """The signature keys TF Serving exposes (not the init op)."""
    return [k for k in keys if k != _INIT_OP]


def model_findings(keys: list[str]) -> list[Finding]:
    keys = served(keys)
    if not keys:
        return [
            found(
                NO_SIGNATURES,
                "",
                "",
                "the SavedModel has no signatures: TF Serving has nothing to serve "
                "(tf.saved_model.save found no tf.function with an input_signature)",
            )
        ]
    if DEFAULT_SIGNATURE not in keys and len(keys) == 1:
        return [found(NO_SERVING_DEFAULT, keys[0], "",
                      f"the only signature is {keys[0]!r}, not 'serving_default': requests "
                      "without signature_name fail with 'Serving signature key "
                      "\"serving_default\" not found'")]  # fmt: skip
    return []


def method_findings(ctx: SignatureContext) -> list[Finding]:
    info = ctx.info
    inputs, outputs = set(info.inputs), set(info.outputs)
    if info.method_name == CLASSIFY_METHOD:
        ok = (inputs == {"inputs"} and 1 <= len(outputs) <= 2
              and bool(outputs & {"classes", "scores"}))  # fmt: skip
        expected = "one input 'inputs' and outputs 'classes' and/or 'scores'"
    elif info.method_name == REGRESS_METHOD:
        ok = inputs == {"inputs"} and outputs == {"outputs"}
        expected = "one input 'inputs' and one output 'outputs'"
    else:
        return []
    if ok:
        return []
    return [found(METHOD_MISMATCH, ctx.key, "",
                  f"method {info.method_name} needs {expected}, but the signature has inputs "
                  f"{sorted(inputs)} and outputs {sorted(outputs)}: every "
                  f":{info.method_name.rsplit('/', 1)[1]} request will fail")]  # fmt: skip


def name_findings(ctx: SignatureContext) -> list[Finding]:
    names = set(ctx.info.inputs)
    result = []
    groups: dict[str, list[str]] = {}
    for name in sorted(names):
        match = _SUFFIXED.match(name)
        if match and match.group(1) in names:
            groups.setdefault(match.group(1), [match.group(1)]).append(name)
    for base, members in groups.items():
        labels = ", ".join(tensor_label("inputs", m) for m in members)
        result.append(found(TUPLE_INPUT_NAMES, ctx.key, labels,
                            f"inputs {members} look like one tuple argument {base!r} split by "
                            "TensorFlow: clients must send each element under its numbered "
                            "name"))  # fmt: skip
    for name in sorted(names):
        if name == "b64":
            why = 'a JSON object {"b64": ...} is read as base64 bytes, not as this input'
        elif not _PLAIN_NAME.match(name):
            why = "it has characters clients must quote or escape in URLs, shells and code"
        else:
            continue
        result.append(
            found(
                AWKWARD_INPUT_NAME,
                ctx.key,
                tensor_label("inputs", name),
                f"input name {name!r} will trip clients: {why}",
            )
        )
    return result


def batch_dim_findings(ctx: SignatureContext) -> list[Finding]:
    inputs = ctx.info.inputs
    shapes = [i.shape for i in inputs.values()]
    if not shapes or any(s is None or len(s) < 2 or s[0] < 1 for s in shapes):
        return []
    batch = {s[0] for s in shapes if s is not None}
    if len(batch) != 1:
        return []
    (size,) = batch
    for out in ctx.info.outputs.values():
        if out.shape and out.shape[0] not in (size, -1):
            return []  # the leading dimension is not a batch dimension
    labels = ", ".join(tensor_label("inputs", n) for n in inputs)
    return [found(FIXED_BATCH_DIM, ctx.key, labels,
                  f"the batch dimension is fixed at {size} (shapes "
                  f"{', '.join(str(s) for s in shapes)}): requests with another number of "
                  "instances fail, and --enable_batching cannot merge requests")]  # fmt: skip
