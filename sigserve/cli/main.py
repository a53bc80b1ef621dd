"""``sigserve``: serve models (TF Serving's flags), run the demo, and the tools.

``sigserve --model_name=m --model_base_path=/models/m`` works like
``tensorflow_model_server``: flags without a subcommand mean ``serve``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Sequence

from sigserve import __version__
from sigserve.cli import flags

# Subcommand modules that provide ``register(subparsers)``; optional ones may be absent.
_COMMAND_MODULES = ("sigserve.cli.demo", "sigserve.cli.tools_commands", "sigserve.cli.predict")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sigserve",
        description="TensorFlow Serving as a Python package: same REST and gRPC APIs and flags.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"sigserve {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve", help="Serve SavedModels (TF Serving's flags).", allow_abbrev=False
    )
    flags.add_serve_flags(serve)
    serve.set_defaults(func=_serve, parser=serve)
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
            continue
        module.register(commands)
    return parser


def _serve(args: argparse.Namespace) -> int:
    if args.version:
        print(f"sigserve {__version__} (TensorFlow Serving compatible)")
        return 0
    config = flags.config_from_args(args, args.parser)
    return run_server(config)


def run_server(config) -> int:
    import logging

    from sigserve.errors import ServingError
    from sigserve.server import serve

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        _run_event_loop(serve(config))
    except ServingError as e:
        print(f"sigserve: {e.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except OSError as e:  # e.g. a port already in use
        print(f"sigserve: {e}", file=sys.stderr)
        return 1
    return 0


def _run_event_loop(coroutine) -> None:
    """uvloop when installed (measured fastest: bench/bench_rest_stack.py), else asyncio."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coroutine)
    else:
        uvloop.run(coroutine)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0].startswith("--") and argv[0] not in ("--help", "--version"):
        argv.insert(0, "serve")  # tensorflow_model_server style: flags only
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
