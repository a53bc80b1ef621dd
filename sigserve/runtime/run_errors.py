"""A TensorFlow error raised while running a signature, as the client sees it.

TF Serving passes the session's status through unchanged. sigserve keeps
TensorFlow's first line first and changes three things:

- the graph locations TensorFlow appends (``[[{{function_node ...}}{{node ...}}]]``,
  stack traces) are dropped: they name graph internals, not the request;
- an INVALID_ARGUMENT (the request did not fit the graph, e.g. ``Matrix
  size-incompatible``) ends with what the signature expects (names, dtypes,
  shapes);
- a failure the request cannot cause (a variable or resource the SavedModel
  never restored: FAILED_PRECONDITION ``Could not find variable`` or
  ``uninitialized value``, NOT_FOUND of a resource) is INTERNAL (HTTP 500), not a
  client error.
"""

from __future__ import annotations

import re

from sigserve.errors import Code, ServingError
from sigserve.signature_text import with_expected_inputs
from sigserve.types import SignatureInfo

_GRAPH_LOCATION = re.compile(r"\s*\[\[.*?\]\]")
_ROOT_ERRORS = re.compile(r"^\d+ root error\(s\) found\.?$")
_ROOT_ERROR = re.compile(r"^\s*\(\d+\)\s+[A-Z_]+:\s*(.*)$")

# Codes a session run returns for the model's own state, never for the request.
_MODEL_FAULTS = (Code.FAILED_PRECONDITION, Code.NOT_FOUND)


def first_line(message: str) -> str:
    """TensorFlow's message without graph locations: its first meaningful line."""
    lines = [line.strip() for line in _GRAPH_LOCATION.sub("", message).splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return message.strip()
    if _ROOT_ERRORS.match(lines[0]):  # "2 root error(s) found." then "(0) CODE: text"
        for line in lines[1:]:
            match = _ROOT_ERROR.match(line)
            if match:
                return match.group(1)
    return lines[0]


def run_error(
    code: int, message: str, signature_name: str, signature: SignatureInfo
) -> ServingError:
    """The ServingError for TensorFlow error ``code``/``message`` from running a signature."""
    try:
        status = Code(code)
    except ValueError:
        status = Code.UNKNOWN
    text = first_line(message)
    if status in _MODEL_FAULTS:
        return ServingError(
            Code.INTERNAL,
            f"{text} (a failure inside the model, not caused by the request: a variable, "
            "table or resource it needs is missing or uninitialized in the SavedModel)",
        )
    error = ServingError(status, text)
    if status == Code.INVALID_ARGUMENT:
        return with_expected_inputs(error, signature_name, signature.inputs)
    return error
