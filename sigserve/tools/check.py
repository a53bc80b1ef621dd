"""``sigserve check``: find serving traps in a SavedModel, by graph analysis and by
probing each signature with synthetic requests.

    report = check("/models/m")        # a SavedModel directory or a base path
    report.findings                    # [Finding(code, level, signature, tensor, message, fix)]
    report.exit_status()               # 1 when an error-level finding exists
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sigserve.tools import graph_deps, probe, savedmodel_reader
from sigserve.tools.context import SignatureContext
from sigserve.tools.findings import Finding, Level, text
from sigserve.tools.inspect import signature_info
from sigserve.tools.rules_batch import batch_findings
from sigserve.tools.rules_dataflow import constant_outputs, dataflow_findings
from sigserve.tools.rules_signatures import (
    batch_dim_findings,
    method_findings,
    model_findings,
    name_findings,
    served,
)

DEFAULT_TAGS = frozenset({"serve"})


@dataclass
class Report:
    model: savedmodel_reader.ModelDir
    signatures: list[str]
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be checked, and why

    def exit_status(self, fail_on: Level = Level.ERROR) -> int:
        return 1 if any(f.level >= fail_on for f in self.findings) else 0

    def as_json(self) -> dict[str, Any]:
        counts = {level.name.lower(): 0 for level in Level}
        for f in self.findings:
            counts[f.level.name.lower()] += 1
        return {
            "path": self.model.path,
            "version": self.model.version,
            "signatures": self.signatures,
            "findings": [f.as_json() for f in self.findings],
            "notes": self.notes,
            "counts": counts,
        }

    def text_lines(self) -> list[str]:
        where = self.model.path + (f" (version {self.model.version})" if self.model.version
                                   is not None else "")  # fmt: skip
        lines = [f"Checked {where}: {len(self.signatures)} signature(s)"]
        lines += [text(f) for f in self.findings]
        lines += [f"note: {n}" for n in self.notes]
        counts = self.as_json()["counts"]
        lines.append(
            "no findings" if not self.findings else
            f"{len(self.findings)} finding(s): {counts['error']} error, "
            f"{counts['warning']} warning, {counts['info']} info"
        )  # fmt: skip
        return lines


def check(path: str, tags: frozenset[str] = DEFAULT_TAGS, run_probes: bool = True) -> Report:
    """Check the SavedModel at ``path`` (or the latest version under a base path)."""
    model = savedmodel_reader.resolve(path)
    (meta_graph,) = savedmodel_reader.meta_graphs(savedmodel_reader.read(model.path), tags)
    keys = served(sorted(meta_graph.signature_def))
    report = Report(model, keys, model_findings(keys))
    functions = _load_signatures(model.path, tags, report) if run_probes and keys else {}
    for key in keys:
        proto = meta_graph.signature_def[key]
        info = signature_info(proto)
        try:
            deps = graph_deps.analyze(meta_graph.graph_def, proto)
        except Exception as e:  # an unexpected graph shape must not stop the other checks
            deps = None
            report.notes.append(f"{key}: graph analysis failed ({type(e).__name__}: {e})")
        result = None
        if key in functions and info.inputs and not _undecodable(deps):
            result = probe.run(functions[key], info)
            if result.error:
                report.notes.append(f"{key}: synthetic requests failed, not probed "
                                    f"({result.error})")  # fmt: skip
        ctx = SignatureContext(key, info, deps, result)
        report.findings += method_findings(ctx) + name_findings(ctx) + batch_dim_findings(ctx)
        report.findings += dataflow_findings(ctx)
        report.findings += batch_findings(ctx, skip=set(constant_outputs(ctx)))
    return report


def _undecodable(deps: graph_deps.SignatureDeps | None) -> bool:
    """Inputs decoded as images or tf.Examples: random strings cannot probe them."""
    return deps is not None and bool(deps.decode_inputs or deps.example_inputs)


def _load_signatures(path: str, tags: frozenset[str], report: Report) -> dict[str, Any]:
    import tensorflow as tf

    try:
        loaded = tf.saved_model.load(path, tags=sorted(tags))
    except Exception as e:  # a model TensorFlow cannot load: graph checks still run
        report.notes.append(f"could not load the model to probe it ({type(e).__name__}: {e})")
        return {}
    report.loaded = loaded  # type: ignore[attr-defined]  # keep variables alive while probing
    return dict(loaded.signatures)
