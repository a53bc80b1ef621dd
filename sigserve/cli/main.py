"""``sigserve``: serve models (TF Serving's flags), run the demo, and the tools.

``sigserve --model_name=m --model_base_path=/models/m`` works like
``tensorflow_model_server``: flags without a subcommand mean ``serve``.

Every command reports a failure as one line on stderr (``sigserve COMMAND:
...``) and a non-zero exit status: 2 for a usage error, 1 for anything else.
``--debug`` (anywhere on the line) shows the traceback instead.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from sigserve import __version__
from sigserve.cli import flags

# Subcommand modules that provide ``register(subparsers)``; optional ones may be absent.
_COMMAND_MODULES = ("sigserve.cli.demo", "sigserve.cli.tools_commands", "sigserve.cli.predict")

DEBUG_FLAG = "--debug"


class OneLineParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line, naming where the help is."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


def error_line(prog: str, error: BaseException) -> str:
    """``error`` as the one line a command prints for it."""
    from sigserve.errors import ServingError

    if isinstance(error, ServingError):
        text = f"{error.code.name}: {error.message}"
    elif isinstance(error, OSError):
        text = str(error)
    else:
        text = f"{type(error).__name__}: {error} (run with {DEBUG_FLAG} for the traceback)"
    return f"{prog}: {' '.join(text.split())}"


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="sigserve",
        description="TensorFlow Serving as a Python package: same REST and gRPC APIs and flags.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"sigserve {__version__}")
    parser.add_argument(
        DEBUG_FLAG, action="store_true", help="show tracebacks (any command, anywhere on the line)"
    )
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
    for command in commands.choices.values():  # each reports its own usage errors
        command.set_defaults(parser=command)
    return parser


def _serve(args: argparse.Namespace) -> int:
    if args.version:
        print(f"sigserve {__version__} (TensorFlow Serving compatible)")
        return 0
    config = flags.config_from_args(args, args.parser)
    return run_server(config)


def run_server(config) -> int:
    from sigserve.errors import ServingError
    from sigserve.observability.logs import configure_logging
    from sigserve.server import serve

    configure_logging(config.log_format, config.log_level)
    try:
        _run_event_loop(serve(config))
    except ServingError as e:  # e.g. a port already in use, a bad model config file
        print(f"sigserve: {' '.join(e.message.split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except OSError as e:
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
    debug = DEBUG_FLAG in argv
    argv = [arg for arg in argv if arg != DEBUG_FLAG]
    if argv and argv[0].startswith("--") and argv[0] not in ("--help", "-h", "--version"):
        argv.insert(0, "serve")  # tensorflow_model_server style: flags only
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # reported by the subcommand, whose --help lists its flags
        (getattr(args, "parser", None) or parser).error(
            f"unrecognized arguments: {' '.join(unknown)}"
        )
    args.debug = debug
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as e:
        if debug:
            raise
        print(error_line(f"sigserve {args.command}", e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
