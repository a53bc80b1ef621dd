"""``sigserve inspect``, ``sigserve check`` and ``sigserve export``.

TensorFlow is imported inside the commands only (without its C++ start-up noise), so
``sigserve --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

_SPEC_HELP = (
    "an input of the function, in order: NAME=DTYPE[SHAPE], e.g. x=float32[None,3], "
    "tokens=int64[None,None], flag=bool[] (repeat for several inputs; used for functions "
    "without an input_signature)"
)
_SIGNATURE_HELP = (
    "NAME=ATTRIBUTE: export the object's ATTRIBUTE (a method, e.g. __call__) as signature "
    "NAME; repeat for several (one must be serving_default)"
)


def register(subparsers: argparse._SubParsersAction) -> None:
    inspect = subparsers.add_parser(
        "inspect", help="Show a SavedModel's signatures (saved_model_cli show format).",
        description="Print the signatures as `saved_model_cli show --dir DIR --all` does, "
        "then which version was read and, per signature, example request bodies (row and "
        "columnar format) and a ready curl line.",
    )  # fmt: skip
    inspect.add_argument("dir", help="a SavedModel directory, or a base path with versions")
    inspect.add_argument("--tag_set", help="comma-separated tags of one MetaGraph, e.g. serve")
    inspect.add_argument("--signature_def", help="show only this signature")
    inspect.add_argument("--url", default="http://localhost:8501",
                         help="the REST server in the curl lines")  # fmt: skip
    inspect.add_argument("--model_name", help="the model name in the curl lines "
                         "(default: the base path's directory name)")  # fmt: skip
    inspect.add_argument("--json", action="store_true", help="machine-readable output")
    inspect.set_defaults(func=run_inspect)

    check = subparsers.add_parser(
        "check", help="Find serving traps in a SavedModel (exit 1 on an error-level finding).",
        description="Load the version as `sigserve serve` does, analyse its graph and call "
        "every signature at batch sizes 1, 2 and 7 with synthetic inputs. With --python, "
        "also compare every answer with the Python object run eagerly.",
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
    check.add_argument(
        "--security", action="store_true",
        help="instead: list the ops that read or write files, reach the network or run code, "
        "where they are and what runs them (reads the protos only: nothing is loaded or run)",
    )  # fmt: skip
    check.add_argument("--python", metavar="MODULE:OBJECT",
                       help="the Python object the model was exported from: served answers "
                       "must equal it run eagerly")  # fmt: skip
    _add_signature_flags(check)
    check.set_defaults(func=run_check)

    export = subparsers.add_parser(
        "export", help="Export module:object as a servable SavedModel version, and verify it.",
        description="Import MODULE:OBJECT (the current directory is importable; "
        "path/to/file.py:OBJECT works too), write it as BASE_PATH/<version>, load it as "
        "`sigserve serve` does and compare every signature with the object run eagerly at "
        "batch sizes 0, 1, 2 and 7. A version that would not serve correctly is refused and "
        "nothing is left behind.",
    )  # fmt: skip
    export.add_argument("target", help="module:object, e.g. mymodels:model")
    export.add_argument("base_path", help="the model's base path; writes base_path/<version>/")
    export.add_argument("--version", type=int, help="version number (default: the next one)")
    _add_signature_flags(export)
    export.add_argument("--json", action="store_true", help="machine-readable output")
    export.set_defaults(func=run_export)


def _add_signature_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--signature", action="append", metavar="NAME=ATTRIBUTE",
                        help=_SIGNATURE_HELP)  # fmt: skip
    parser.add_argument("--input_spec", action="append", metavar="NAME=DTYPE[SHAPE]",
                        help=_SPEC_HELP)  # fmt: skip


def _quiet_tensorflow() -> None:
    from sigserve.tools.quiet import import_tensorflow

    import_tensorflow()


def _fail(error: Exception, status: int = 2) -> int:
    message = getattr(error, "message", None) or str(error)
    print(f"sigserve: {message}", file=sys.stderr)
    return status


def signatures_from(values: list[str] | None) -> dict[str, str] | None:
    """``["serving_default=__call__", ...]`` as ``{"serving_default": "__call__"}``."""
    if not values:
        return None
    from sigserve.errors import invalid_argument

    result: dict[str, str] = {}
    for value in values:
        name, sep, attribute = value.partition("=")
        if not sep or not name.strip() or not attribute.strip():
            raise invalid_argument(f"--signature expects NAME=ATTRIBUTE, e.g. "
                                   f"serving_default=__call__; got {value!r}")  # fmt: skip
        result[name.strip()] = attribute.strip()
    return result


def specs_from(values: list[str] | None) -> list[Any] | None:
    """``["x=float32[None,3]", ...]`` as TensorSpecs (None when none were given)."""
    if not values:
        return None
    from sigserve.tools.export_signatures import parse_input_spec

    return [parse_input_spec(value) for value in values]


def run_inspect(args: argparse.Namespace) -> int:
    _quiet_tensorflow()
    from sigserve.errors import ServingError
    from sigserve.tools import inspect, savedmodel_reader

    try:
        model = savedmodel_reader.resolve(args.dir)
        tags = savedmodel_reader.parse_tag_set(args.tag_set) if args.tag_set else None
        target = inspect.request_target(args.dir, model, args.url, args.model_name)
        if args.json:
            data = inspect.as_json(model, tags, args.signature_def, target)
            print(json.dumps(data, indent=2))
        else:
            print("\n".join(inspect.text_lines(model, tags, args.signature_def, target)))
    except ServingError as e:
        return _fail(e)
    return 0


def run_check(args: argparse.Namespace) -> int:
    _quiet_tensorflow()
    from sigserve.errors import ServingError
    from sigserve.tools.check import check
    from sigserve.tools.findings import Level
    from sigserve.tools.savedmodel_reader import parse_tag_set

    if args.security:
        return _run_security_check(args)
    try:
        tags = parse_tag_set(args.tag_set)
        if args.python:
            from sigserve.tools.export import check_against, load_target

            obj = load_target(args.python)
            report = check_against(args.dir, obj, signatures_from(args.signature),
                                   specs_from(args.input_spec), tags)  # fmt: skip
        else:
            report = check(args.dir, tags, run_probes=not args.no_probe)
    except ServingError as e:
        return _fail(e)
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        print("\n".join(report.text_lines()))
    return report.exit_status(Level[args.fail_on.upper()])


def _run_security_check(args: argparse.Namespace) -> int:
    from sigserve.errors import ServingError
    from sigserve.tools.findings import Level
    from sigserve.tools.security import scan

    if args.python or args.no_probe:
        return _fail(ValueError("--security reads the model only; it takes no --python "
                                "or --no_probe"))  # fmt: skip
    try:
        report = scan(args.dir)
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
        obj = load_target(args.target)
        result = export(obj, args.base_path, signatures_from(args.signature),
                        args.version, specs_from(args.input_spec))  # fmt: skip
    except ServingError as e:
        return _fail(e, status=1)
    if args.json:
        print(json.dumps(result.as_json(), indent=2))
    else:
        print("\n".join(result.text_lines()))
    return 0
