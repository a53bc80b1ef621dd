"""The import rules of DESIGN.md, checked on the source (module-level and lazy imports)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sigserve"


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "sigserve":  # from sigserve import protos
                names.update(f"sigserve.{alias.name}" for alias in node.names)
            else:
                names.add(node.module)
    return names


def modules(folder: str) -> list[Path]:
    root = PACKAGE / folder if folder else PACKAGE
    return sorted(root.rglob("*.py"))


def test_tensorflow_is_imported_only_by_runtime_and_tools() -> None:
    allowed = {"runtime", "tools"}
    for path in modules(""):
        part = path.relative_to(PACKAGE).parts[0]
        uses_tf = any(n == "tensorflow" or n.startswith("tensorflow.") for n in imports_of(path))
        if uses_tf:
            assert part in allowed, f"{path.relative_to(PACKAGE)} imports TensorFlow"


def test_codecs_are_pure() -> None:
    ok = ("sigserve.errors", "sigserve.types", "sigserve.codecs", "sigserve.protos")
    third_party = {"numpy", "orjson", "google.protobuf", "ml_dtypes"}
    for path in modules("codecs"):
        for name in imports_of(path):
            if name.startswith("sigserve"):
                assert name.startswith(ok), f"{path.name} imports {name}"
            else:
                top = name.split(".")[0]
                assert top in third_party or _stdlib(top) or name in third_party, (
                    f"{path.name} imports {name}"
                )


def test_client_does_not_reach_into_the_server() -> None:
    for path in modules("client"):
        for name in imports_of(path):
            assert not name.startswith(
                ("sigserve.manager", "sigserve.runtime", "sigserve.service", "sigserve.rest",
                 "sigserve.grpc", "sigserve.tools", "tensorflow")
            ), f"{path.name} imports {name}"  # fmt: skip


def test_transports_do_not_know_each_other() -> None:
    for path in modules("rest"):
        assert not any(n.startswith("sigserve.grpc") for n in imports_of(path)), path.name
    for path in modules("grpc"):
        assert not any(n.startswith("sigserve.rest") for n in imports_of(path)), path.name


def _stdlib(name: str) -> bool:
    import sys

    return name in sys.stdlib_module_names or name == "__future__"
