"""``sigserve predict URL --model NAME --input x=@file.npy --input y=[[1,2]]``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np


def parse_input(text: str) -> tuple[str | None, np.ndarray]:
    """``name=@file.npy``, ``name=<JSON>``, or an unnamed ``@file.npy`` / ``<JSON>``."""
    name: str | None = None
    value = text
    if "=" in text and not text.lstrip().startswith(("[", "{", '"', "@")):
        name, value = text.split("=", 1)
    if value.startswith("@"):
        return name, np.load(value[1:], allow_pickle=False)
    try:
        return name, np.asarray(json.loads(value))
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f"--input {text!r}: not JSON nor @file.npy ({e})") from e


def _to_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    array = np.asarray(value)
    if array.dtype == object:
        return [
            _to_json(v) if not isinstance(v, bytes) else v.decode("utf-8", "replace")
            for v in array.ravel()
        ]
    return array.tolist()


def _run(args: argparse.Namespace) -> int:
    from sigserve.errors import ServingError

    parsed = [parse_input(text) for text in args.input]
    names = [name for name, _ in parsed]
    if any(names) and not all(names):
        print("sigserve predict: name every --input or none", file=sys.stderr)
        return 2
    inputs: Any = {n: v for n, v in parsed} if all(names) else parsed[0][1]
    if not all(names) and len(parsed) != 1:
        print("sigserve predict: unnamed --input can only be given once", file=sys.stderr)
        return 2
    try:
        if args.url.startswith(("http://", "https://")):
            from sigserve.client.rest import Client as client_type
        else:
            from sigserve.client.grpc import GrpcClient as client_type  # type: ignore[assignment]
        with client_type(args.url) as client:
            out = client.predict(
                args.model,
                inputs,
                signature_name=args.signature_name,
                version=args.version,
                label=args.label,
            )
    except ServingError as e:
        print(f"sigserve predict: {e.code.name}: {e.message}", file=sys.stderr)
        return 1
    print(json.dumps(_to_json(out)))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "predict", help="Send a predict request (REST URL or gRPC host:port)."
    )
    parser.add_argument("url", help="http://host:8501 (REST) or host:8500 (gRPC)")
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
    parser.set_defaults(func=_run)
