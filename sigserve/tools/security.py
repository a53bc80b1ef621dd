"""``sigserve check --security``: the ops in a SavedModel that read or write files,
reach the network or run code, where they are, and what makes them run.

Only the SavedModel's protos are read: nothing is loaded or run (loading alone
restores variables and runs the init op). Every MetaGraph is scanned, the graph and
its whole function library. Each risky node is reported with where it runs:

- ``signature NAME``: a request to that signature runs it;
- ``load: init op`` / ``load: checkpoint restore``: loading the model runs it;
- ``checkpoint save``: only a Saver's save path (the server never runs it);
- nothing: no signature or load step reaches it (dormant).

The loader's own checkpoint I/O (``RestoreV2``/``SaveV2``/``MergeV2Checkpoints``... on
the Saver's restore and save paths) is expected and not reported; any other risky op
on those paths is (it runs at load). Levels: ERROR when a request or the load runs
it, WARNING when dormant, INFO for a dormant checkpoint op (e.g. a second Saver).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sigserve.tools import savedmodel_reader
from sigserve.tools.findings import Level
from sigserve.tools.graph_reach import GraphIndex, Reached, tensor_names
from sigserve.tools.risky_ops import CHECKPOINT_OPS, UNKNOWN, Risk, risk_of

INIT = "load: init op"
RESTORE = "load: checkpoint restore"
SAVE = "checkpoint save"
_INIT_COLLECTIONS = ("saved_model_main_op", "legacy_init_op", "saved_model_init_op", "main_op")
_INIT_SIGNATURE = "__saved_model_init_op"


@dataclass(frozen=True)
class RiskyNode:
    code: str  # READS_FILES, WRITES_FILES, NETWORK, RUNS_CODE, UNKNOWN_OP
    level: Level
    op: str
    node: str
    function: str  # "" for the graph itself
    tags: str  # the MetaGraph's tag set, e.g. "serve"
    runs_in: tuple[str, ...]  # () when nothing reaches it
    why: str

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["level"] = self.level.name.lower()
        data["runs_in"] = list(self.runs_in)
        return data

    def text(self) -> str:
        where = f"[{self.tags}] " + (f"function {self.function} " if self.function else "graph ")
        runs = ", ".join(self.runs_in) or "nothing reaches it (dormant)"
        return (f"{self.level.name.lower()} {self.code} {where}node {self.node!r} "
                f"(op {self.op}): {self.why}\n    runs in: {runs}")  # fmt: skip


@dataclass
class SecurityReport:
    model: savedmodel_reader.ModelDir
    findings: list[RiskyNode] = field(default_factory=list)
    checkpoint_ops: int = 0  # the loader's own restore/save ops, not findings

    def exit_status(self, fail_on: Level = Level.ERROR) -> int:
        return 1 if any(f.level >= fail_on for f in self.findings) else 0

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.model.path,
            "version": self.model.version,
            "findings": [f.as_json() for f in self.findings],
            "checkpoint_ops": self.checkpoint_ops,
        }

    def text_lines(self) -> list[str]:
        version = f" (version {self.model.version})" if self.model.version is not None else ""
        lines = [f"Security check of {self.model.path}{version}: nothing was loaded or run"]
        lines += [f.text() for f in self.findings]
        expected = f"; {self.checkpoint_ops} checkpoint op(s) of the loader's restore/save path"
        if not self.findings:
            lines.append("no findings: no op reads or writes files, reaches the network or "
                         f"runs code{expected}")  # fmt: skip
        else:
            lines.append(f"{len(self.findings)} finding(s){expected}")
        return lines


def scan(path: str) -> SecurityReport:
    """Scan the SavedModel at ``path`` (or the latest version under a base path)."""
    model = savedmodel_reader.resolve(path)
    report = SecurityReport(model)
    for meta_graph in savedmodel_reader.meta_graphs(savedmodel_reader.read(model.path)):
        _scan_meta_graph(meta_graph, report)
    report.findings.sort(key=lambda f: (-f.level, f.tags, f.function, f.node))
    return report


def _scan_meta_graph(meta_graph: Any, report: SecurityReport) -> None:
    from tensorflow.python.framework import op_def_registry

    tags = ",".join(sorted(meta_graph.meta_info_def.tags))
    index = GraphIndex(meta_graph.graph_def)
    entries = {label: index.reach(start) for label, start in _entry_points(meta_graph).items()}
    located = [(name, "", node) for name, node in index.nodes.items()]
    located += [(node.name, fname, node) for fname, function in index.functions.items()
                for node in function.node_def]  # fmt: skip
    for name, function, node in located:
        risk = risk_of(node)
        unknown = node.op not in index.functions and op_def_registry.get(node.op) is None
        if risk is None and unknown:
            risk = Risk(UNKNOWN, "not an op of this TensorFlow: it needs a custom op "
                                 "library (native code loaded into the server)")  # fmt: skip
        if risk is None:
            continue
        runs = tuple(sorted(label for label, reached in entries.items()
                            if _reaches(reached, name, function)))  # fmt: skip
        if node.op in CHECKPOINT_OPS and runs and set(runs) <= {RESTORE, SAVE}:
            report.checkpoint_ops += 1
            continue
        on_request_or_load = any(label != SAVE for label in runs)
        level = Level.ERROR if on_request_or_load else Level.WARNING
        if not runs and node.op in CHECKPOINT_OPS:
            level = Level.INFO
        report.findings.append(
            RiskyNode(risk.code, level, node.op, name, function, tags, runs, risk.why)
        )


def _reaches(reached: Reached, node: str, function: str) -> bool:
    return function in reached.functions if function else node in reached.nodes


def _entry_points(meta_graph: Any) -> dict[str, list[str]]:
    """What the server runs (signatures, load steps) and the Saver's save path, as
    starting node or tensor names."""
    entries: dict[str, list[str]] = {}
    for key, signature in meta_graph.signature_def.items():
        outputs = [n for info in signature.outputs.values() for n in tensor_names(info)]
        label = INIT if key == _INIT_SIGNATURE else f"signature {key}"
        entries.setdefault(label, []).extend(outputs)
    for key in _INIT_COLLECTIONS:
        if key in meta_graph.collection_def:
            entries.setdefault(INIT, []).extend(meta_graph.collection_def[key].node_list.value)
    saver = meta_graph.saver_def
    if saver.restore_op_name:
        entries[RESTORE] = [saver.restore_op_name]
    if saver.save_tensor_name:
        entries[SAVE] = [saver.save_tensor_name]
    return entries
