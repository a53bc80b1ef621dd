"""What a signature expects, written for the end of an error message.

TF Serving's own text always comes first; sigserve adds what the signature
expects, so a client sees how to fix the request::

    input size does not match signature: 1!=1 len({y}) != len({x}). Sent extra: {y}.
    Missing but required: {x}. Signature "serving_default" expects inputs:
    x DT_FLOAT [?,1]

Shapes are written as TensorFlow writes them: ``?`` for a dimension of any size,
``<unknown>`` for any rank.
"""

from __future__ import annotations

from collections.abc import Mapping

from sigserve.errors import ServingError
from sigserve.types import TensorInfo


def shape_text(shape: tuple[int, ...] | None) -> str:
    """``[?,1]``; ``<unknown>`` for an unknown rank."""
    if shape is None:
        return "<unknown>"
    return "[" + ",".join("?" if d < 0 else str(d) for d in shape) + "]"


def inputs_text(inputs: Mapping[str, TensorInfo]) -> str:
    """``x DT_FLOAT [?,1], y DT_STRING [?]``, by input name."""
    if not inputs:
        return "none"
    return ", ".join(f"{name} {info.dtype} {shape_text(info.shape)}"
                     for name, info in sorted(inputs.items()))  # fmt: skip


def expected_inputs(signature_name: str, inputs: Mapping[str, TensorInfo]) -> str:
    """``Signature "serving_default" expects inputs: x DT_FLOAT [?,1]``."""
    named = f' "{signature_name}"' if signature_name else ""
    return f"Signature{named} expects inputs: {inputs_text(inputs)}"


def with_expected_inputs(
    error: ServingError, signature_name: str, inputs: Mapping[str, TensorInfo]
) -> ServingError:
    """``error`` with what the signature expects added after its text."""
    message = error.message.rstrip()
    separator = " " if message.endswith((".", ":", ";")) else ". "
    hint = expected_inputs(signature_name, inputs)
    return ServingError(error.code, f"{message}{separator}{hint}")
