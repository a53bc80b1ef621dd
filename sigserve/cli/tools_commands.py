"""``sigserve inspect``, ``sigserve check`` and ``sigserve export``.

TensorFlow is imported inside the commands only, so ``sigserve --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    inspect = subparsers.add_parser(
        "inspect", help="Show a SavedModel's signatures (saved_model_cli show format).",
        description="Print the signatures as `saved_model_cli show --dir DIR --all` does, "
        "then an example request body per signature in row and columnar format.",
    )  # fmt: skip
    inspect.add_argument("dir", help="a SavedModel directory, or a base path with versions")
    inspect.add_argument("--tag_set", help="comma-separated tags of one MetaGraph, e.g. serve")
    inspect.add_argument("--signature_def", help="show only this signature")
    inspect.add_argument("--json", action="store_true", help="machine-readable output")
    inspect.set_defaults(func=run_inspect)

    check = subparsers.add_parser(
        "check", help="Find serving traps in a SavedModel (exit 1 on an error-level finding).",
    )  # fmt: skip
    check.add_argument("dir", help="a SavedModel directory, or a base path with versions")
    check.add_argument("--tag_set", default="serve", help="tags of the MetaGraph (serve)")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.add_argument(
        "--no_probe", action="store_true", help="graph analysis only: do not call the signatures"
    )
    check.add_argument(
        "--fail_on",
        choices=("error", "warning", "info"),
        default="error",
        help="lowest finding level that makes the exit status 1 (error)",
    )
    check.set_defaults(func=run_check)

    export = subparsers.add_parser(
        "export", help="Export module:object as a servable SavedModel version, and verify it.",
    )  # fmt: skip
    export.add_argument("target", help="module:object, e.g. mypkg.models:model")
    export.add_argument("base_path", help="the model's base path; writes base_path/<version>/")
    export.add_argument("--version", type=int, help="version number (default: the next one)")
    export.add_argument("--json", action="store_true", help="machine-readable output")
    export.set_defaults(func=run_export)


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _fail(error: Exception) -> int:
    print(f"sigserve: {getattr(error, 'message', error)}", file=sys.stderr)
    return 2


def run_inspect(args: argparse.Namespace) -> int:
    _quiet_tensorflow()
    from sigserve.errors import ServingError
    from sigserve.tools import inspect, savedmodel_reader

    try:
        model = savedmodel_reader.resolve(args.dir)
        tags = savedmodel_reader.parse_tag_set(args.tag_set) if args.tag_set else None
        if args.json:
            print(json.dumps(inspect.as_json(model, tags, args.signature_def), indent=2))
        else:
            print("\n".join(inspect.text_lines(model, tags, args.signature_def)))
    except ServingError as e:
        return _fail(e)
    return 0


def run_check(args: argparse.Namespace) -> int:
    _quiet_tensorflow()
    from sigserve.errors import ServingError
    from sigserve.tools.check import check
    from sigserve.tools.findings import Level
    from sigserve.tools.savedmodel_reader import parse_tag_set

    try:
        report = check(args.dir, parse_tag_set(args.tag_set), run_probes=not args.no_probe)
    except ServingError as e:
        return _fail(e)
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        print("\n".join(report.text_lines()))
    return report.exit_status(Level[args.fail_on.upper()])


def run_export(args: argparse.Namespace) -> int:
    _quiet_tensorflow()
    from sigserve.errors import ServingError
    from sigserve.tools.export import export, load_target

    try:
        result = export(load_target(args.target), args.base_path, version=args.version)
    except ServingError as e:
        return _fail(e)
    if args.json:
        print(json.dumps(result.as_json(), indent=2))
    else:
        print("\n".join(result.text_lines()))
    return 0
