"""``sigserve check``: find serving traps in a SavedModel, by graph analysis and by
calling each signature as the server does (the session loader of ``sigserve serve``)
with synthetic requests at several batch sizes.

    report = check("/models/m")        # a SavedModel directory or a base path
    report.findings                    # [Finding(code, level, signature, tensor, message, fix)]
    report.exit_status()               # 1 when an error-level finding exists
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sigserve.tools import graph_deps, probe, savedmodel_reader
from sigserve.tools import served as served_calls
from sigserve.tools.context import SignatureContext
from sigserve.tools.findings import Finding, Level, text
from sigserve.tools.inspect import signature_info
from sigserve.tools.rules_batch import batch_findings
from sigserve.tools.rules_dataflow import constant_outputs, dataflow_findings
from sigserve.tools.rules_served import (
    Outcome,
    not_servable,
    python_comparison,
    row_consistency,
    signature_fails,
)
from sigserve.tools.rules_signatures import (
    batch_dim_findings,
    method_findings,
    model_findings,
    name_findings,
    served,
)
from sigserve.tools.served import Call
from sigserve.types import SignatureInfo

DEFAULT_TAGS = frozenset({"serve"})


@dataclass
class Report:
    model: savedmodel_reader.ModelDir
    signatures: list[str]
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be checked, and why
    compared: list[str] = field(default_factory=list)  # signatures whose answers match Python

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


def check(
    path: str,
    tags: frozenset[str] = DEFAULT_TAGS,
    run_probes: bool = True,
    python: Mapping[str, Call] | None = None,
    include_zero: bool = False,
) -> Report:
    """Check the SavedModel at ``path`` (or the latest version under a base path).

    With ``run_probes`` the version is loaded as the server loads it and every signature
    is called at several batch sizes. ``python`` maps signature keys to the Python
    functions they were exported from (``inputs -> outputs``, run eagerly): the served
    answers must then equal Python's at every size (batch size 0 too with ``include_zero``).
    """
    model = savedmodel_reader.resolve(path)
    (meta_graph,) = savedmodel_reader.meta_graphs(savedmodel_reader.read(model.path), tags)
    keys = served(sorted(meta_graph.signature_def))
    report = Report(model, keys, model_findings(keys))
    servable = _load_served(model.path, tags, report) if run_probes and keys else None
    try:
        analysed = [_analyse(report, meta_graph, key) for key in keys]
        compared: dict[str, Outcome] = {}
        for key, info, deps in analysed:  # first, while served and Python state still agree
            if servable is not None and python and key in python and not _undecodable(deps):
                call = served_calls.signature_call(servable, key)
                compared[key] = python_comparison(key, info, call, python[key], include_zero)
        for key, info, deps in analysed:
            _check_signature(report, key, info, deps, servable, compared.get(key))
    finally:
        if servable is not None:
            servable.unload()
    return report


def _analyse(
    report: Report, meta_graph: Any, key: str
) -> tuple[str, SignatureInfo, graph_deps.SignatureDeps | None]:
    proto = meta_graph.signature_def[key]
    try:
        deps = graph_deps.analyze(meta_graph.graph_def, proto)
    except Exception as e:  # an unexpected graph shape must not stop the other checks
        deps = None
        report.notes.append(f"{key}: graph analysis failed ({type(e).__name__}: {e})")
    return key, signature_info(proto), deps


def _check_signature(
    report: Report,
    key: str,
    info: SignatureInfo,
    deps: graph_deps.SignatureDeps | None,
    servable: Any,
    compared: Outcome | None,
) -> None:
    call = served_calls.signature_call(servable, key) if servable is not None else None
    callable_here = call is not None and not _undecodable(deps)
    result = None
    if callable_here and info.inputs:
        assert call is not None
        result = probe.run(call, info)
        if result.fault:
            where = "synthetic inputs of the declared shapes"
            report.findings.append(signature_fails(key, RuntimeError(result.error or ""), where))
        elif result.error:
            report.notes.append(f"{key}: synthetic requests failed, not probed "
                                f"({result.error})")  # fmt: skip
    elif callable_here and compared is None:
        assert call is not None
        _call_once(report, key, call)
    ctx = SignatureContext(key, info, deps, result)
    report.findings += method_findings(ctx) + name_findings(ctx) + batch_dim_findings(ctx)
    report.findings += dataflow_findings(ctx)
    report.findings += batch_findings(ctx, skip=set(constant_outputs(ctx)))
    outcomes = [compared] if compared is not None else []
    if callable_here and ctx.batch_major_inputs() and not (result is not None and result.fault):
        assert call is not None
        outcomes.append(row_consistency(key, info, call))
    for outcome in outcomes:
        seen = {(f.code, f.signature) for f in report.findings}
        report.findings += [f for f in outcome.findings if (f.code, f.signature) not in seen]
        report.notes += outcome.notes
    if compared is not None and compared.compared:
        report.compared.append(key)


def _call_once(report: Report, key: str, call: Call) -> None:
    """A signature without inputs: one call shows whether it can answer at all."""
    try:
        call({})
    except Exception as e:
        if served_calls.is_model_fault(e):
            report.findings.append(signature_fails(key, e, "no inputs"))
        else:
            report.notes.append(f"{key}: a request failed ({served_calls.error_text(e)})")


def _undecodable(deps: graph_deps.SignatureDeps | None) -> bool:
    """Inputs decoded as images or tf.Examples: random strings cannot probe them."""
    return deps is not None and bool(deps.decode_inputs or deps.example_inputs)


def _load_served(path: str, tags: frozenset[str], report: Report) -> Any:
    """The version loaded as the server loads it; None (and NOT_SERVABLE) when it cannot be."""
    try:
        return served_calls.load(path, tags)
    except Exception as e:  # the loader raises ServingError; anything else is also a failure
        report.findings.append(not_servable(e))
        return None
