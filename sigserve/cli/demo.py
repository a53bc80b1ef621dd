"""``sigserve demo``: build a small example model, serve it, print a working curl line."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

DEMO_MODEL = "half_plus_two"


def cache_dir() -> Path:
    root = os.environ.get("SIGSERVE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "sigserve"
    )
    return Path(root) / "demo" / DEMO_MODEL


def _run(args: argparse.Namespace) -> int:
    from sigserve.cli.main import run_server
    from sigserve.config import ServerConfig

    base_path = cache_dir()
    base_path.mkdir(parents=True, exist_ok=True)
    print(f"Building the demo model in {base_path} ...", flush=True)
    from sigserve.tools import demo_model

    demo_model.build(str(base_path))
    config = ServerConfig(
        model_name=DEMO_MODEL,
        model_base_path=str(base_path),
        rest_api_port=args.rest_api_port,
        port=args.port,
    )
    url = f"http://localhost:{args.rest_api_port}/v1/models/{DEMO_MODEL}:predict"
    print("Try it (row format, then columnar format):", flush=True)
    print(f"  curl -d '{{\"instances\": [1.0, 2.0, 5.0]}}' {url}", flush=True)
    print(f'  curl -d \'{{"inputs": {{"x": [1.0, 2.0, 5.0]}}}}\' {url}', flush=True)
    print("Expect predictions [2.5, 3.0, 4.5]. Stop with Ctrl-C.", flush=True)
    return run_server(config)


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("demo", help="Build and serve a small example model.")
    parser.add_argument("--rest_api_port", type=int, default=8501)
    parser.add_argument("--port", type=int, default=8500)
    parser.set_defaults(func=_run)
