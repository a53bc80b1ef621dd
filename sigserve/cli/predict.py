"""``sigserve predict TARGET --model NAME --input x=@file.npy --input y=[[1,2]]``.

TARGET names the transport: ``http://host:port`` (or ``https://``) is REST,
``host:port`` (or ``grpc://host:port``, ``unix:/path``) is gRPC. Outputs are
printed as JSON, the same way for both transports (the signature's dtypes, each
float written in the shortest text that reads back to its dtype). A failure is
one line on stderr with a hint where one helps; exit status 2 for a bad
argument, 1 for a failed call.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

REST_SCHEMES = ("http://", "https://")


class ArgumentError(Exception):
    """A bad command-line argument (exit status 2)."""


@dataclass(frozen=True)
class Target:
    """Where to send the request: ``rest`` (a base URL) or ``grpc`` (a gRPC target)."""

    transport: str
    address: str


def parse_target(text: str) -> Target:
    """``http(s)://...`` is REST; ``host:port``, ``grpc://host:port``, ``unix:...`` are gRPC."""
    if text.startswith(REST_SCHEMES):
        return Target("rest", text)
    if text.startswith("grpc://"):
        text = text[len("grpc://") :]
    elif text.startswith(("unix:", "unix-abstract:", "dns:", "ipv4:", "ipv6:")):
        return Target("grpc", text)
    elif "://" in text:
        scheme = text.split("://", 1)[0]
        raise ArgumentError(
            f"{text!r}: unknown scheme {scheme!r}; give http://HOST:PORT for REST "
            "or HOST:PORT for gRPC"
        )
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ArgumentError(
            f"{text!r} names no port; give http://HOST:PORT for REST (TF Serving's 8501) "
            "or HOST:PORT for gRPC (8500)"
        )
    return Target("grpc", text)


def parse_input(text: str) -> tuple[str | None, np.ndarray]:
    """``name=@file.npy``, ``name=<JSON>``, or an unnamed ``@file.npy`` / ``<JSON>``."""
    name: str | None = None
    value = text
    if "=" in text and not text.lstrip().startswith(("[", "{", '"', "@")):
        name, value = text.split("=", 1)
    if value.startswith("@"):
        try:
            return name, np.load(value[1:], allow_pickle=False)
        except (OSError, ValueError) as e:
            raise ArgumentError(
                f"--input {text!r}: cannot read {value[1:]!r} as .npy ({e})"
            ) from None
    try:
        return name, np.asarray(json.loads(value))
    except json.JSONDecodeError as e:
        raise ArgumentError(
            f"--input {text!r}: neither JSON nor @file.npy ({e}); "
            "quote it for the shell, e.g. --input 'x=[[1.0, 2.0]]'"
        ) from None
    except ValueError as e:  # ragged lists
        raise ArgumentError(f"--input {text!r}: not a rectangular array ({e})") from None


def json_ready(value: Any) -> Any:
    """Outputs as JSON values: by output name, floats in the shortest text that reads
    back to their dtype (a float32 0.1 prints as 0.1), bytes as UTF-8 text."""
    if isinstance(value, dict):
        return {k: json_ready(value[k]) for k in sorted(value)}
    array = np.asarray(value)
    if array.dtype == object or array.dtype.kind == "S":
        flat = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in array.ravel()]
    elif array.dtype.kind == "f" or array.dtype.name == "bfloat16":
        flat = [float(str(v)) for v in array.ravel()]
    else:
        return array.tolist()
    if array.ndim == 0:
        return flat[0]
    holder = np.empty(len(flat), dtype=object)
    holder[:] = flat
    return holder.reshape(array.shape).tolist()


def _inputs(texts: list[str]) -> Any:
    parsed = [parse_input(text) for text in texts]
    names = [name for name, _ in parsed]
    if any(names) and not all(names):
        raise ArgumentError("name every --input (name=value) or none")
    if all(names):
        return dict(parsed)
    if len(parsed) != 1:
        raise ArgumentError("an unnamed --input can only be given once; name them: x=...")
    return parsed[0][1]


def _hint(target: Target, message: str) -> str:
    """What to try when the call could not reach a server at ``target``."""
    if target.transport == "grpc" and ("http1.x" in message or "HTTP/2" in message):
        return (
            f"{target.address} answers HTTP/1.x, not gRPC: it looks like a REST port; "
            f"use http://{target.address} (a target without http:// is taken as gRPC)"
        )
    if target.transport == "grpc":
        return (
            f"is a gRPC server (TF Serving's --port) listening at {target.address}? "
            "For REST give http://HOST:PORT"
        )
    if "does not answer HTTP/1.1" in message:
        address = target.address.split("://", 1)[1]
        return f"if it is a gRPC port, give it without http://: {address}"
    return f"is a server (TF Serving's --rest_api_port) listening at {target.address}?"


def _run(args: argparse.Namespace) -> int:
    from sigserve.errors import Code, ServingError

    try:
        target = parse_target(args.url)
        inputs = _inputs(args.input)
    except ArgumentError as e:
        if getattr(args, "debug", False):
            raise
        print(f"sigserve predict: error: {e}", file=sys.stderr)
        return 2
    if target.transport == "rest":
        from sigserve.client.rest import Client as client_type
    else:
        from sigserve.client.grpc import GrpcClient as client_type  # type: ignore[assignment]
    try:
        with client_type(target.address, timeout=args.timeout) as client:
            out = client.predict(
                args.model,
                inputs,
                signature_name=args.signature_name,
                version=args.version,
                label=args.label,
            )
    except ServingError as e:
        if getattr(args, "debug", False):
            raise
        message = " ".join(e.message.split())
        if e.code == Code.UNAVAILABLE:
            message = f"{message}; {_hint(target, message)}"
        print(f"sigserve predict: {e.code.name}: {message}", file=sys.stderr)
        return 1
    print(json.dumps(json_ready(out)))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "predict",
        help="Send a predict request (REST URL or gRPC host:port).",
        description="Send one Predict request and print the outputs as JSON.",
    )
    parser.add_argument(
        "url",
        metavar="TARGET",
        help="http://HOST:PORT for REST (e.g. http://localhost:8501), "
        "HOST:PORT for gRPC (e.g. localhost:8500)",
    )
    parser.add_argument("--model", required=True)
    parser.add_argument(
        "--input",
        action="append",
        required=True,
        help="name=@file.npy or name=JSON (repeatable); unnamed for one input",
    )
    parser.add_argument("--signature_name", default=None)
    parser.add_argument("--version", type=int, default=None)
    parser.add_argument("--label", default=None)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds (default: 30)")
    parser.set_defaults(func=_run)
