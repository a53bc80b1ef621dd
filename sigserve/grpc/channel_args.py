"""``--grpc_channel_arguments``: TF Serving's comma-separated ``key=value`` list.

As TF Serving does, a value that parses as a 32-bit integer is passed to gRPC
as an integer, anything else as a string. Unlike TF Serving (which crashes on
it), an item without ``=`` is a clear start-up error.
"""

from __future__ import annotations

import re

_INT = re.compile(r"\s*[+-]?\d+\s*")
_INT32 = range(-(2**31), 2**31)

# TF Serving lifts gRPC's message size limits (builder.SetMaxMessageSize(INT32_MAX)).
DEFAULT_OPTIONS: dict[str, int | str] = {
    "grpc.max_send_message_length": 2**31 - 1,
    "grpc.max_receive_message_length": 2**31 - 1,
}


def parse_channel_arguments(text: str) -> list[tuple[str, int | str]]:
    """``"a=1,b=x"`` → ``[("a", 1), ("b", "x")]``; empty items are skipped."""
    arguments: list[tuple[str, int | str]] = []
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--grpc_channel_arguments: expected key=value, got {item!r}")
        arguments.append((key.strip(), _value(value)))
    return arguments


def server_options(text: str) -> list[tuple[str, int | str]]:
    """TF Serving's defaults, overridden by the flag's arguments (last one wins)."""
    options = dict(DEFAULT_OPTIONS)
    options.update(parse_channel_arguments(text))
    return list(options.items())


def _value(text: str) -> int | str:
    if _INT.fullmatch(text) and int(text) in _INT32:
        return int(text)
    return text
