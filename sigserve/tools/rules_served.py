"""Findings from calling the signatures as the server does (:mod:`served`).

- ``NOT_SERVABLE``: the serving loader cannot load the version at all.
- ``SIGNATURE_FAILS``: a valid request fails inside the model (a variable or table the
  graph cannot find), or fails at every size where Python answers.
- ``BATCH_SIZE_FAILS``: answers at some batch sizes and fails at others.
- ``ROWS_DEPEND_ON_BATCH``: row ``i`` of a batch differs from the answer for that row
  alone; what a branch on ``x.shape[0]`` or a batch statistic does (needs no Python).
- ``DIFFERS_FROM_PYTHON``: the served answer differs from the Python object run
  eagerly (export, or ``check --python``): a branch frozen when the function was traced.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sigserve.tools import served
from sigserve.tools.context import tensor_label
from sigserve.tools.findings import Finding, Level, Rule, found
from sigserve.tools.served import Call, Case
from sigserve.types import SignatureInfo

_SHAPE_FIX = (
    "branch on tensors, not on static shapes: tf.shape(x)[0] instead of x.shape[0] or len(x), "
    "tf.cond (or an `if` on a tensor, which autograph turns into tf.cond) instead of a Python "
    "`if` on a shape; call Keras models with training=False"
)
NOT_SERVABLE = Rule(
    "NOT_SERVABLE", Level.ERROR,
    "export with sigserve.export / `sigserve export` (Keras models: model.export(path)); "
    "TF Serving loads versions with the session loader, which this one failed",
)  # fmt: skip
SIGNATURE_FAILS = Rule(
    "SIGNATURE_FAILS", Level.ERROR,
    "Keras 3 models: export with model.export(path) or sigserve export, not "
    "tf.saved_model.save; tf.Modules: keep every variable and table the function uses as "
    "an attribute of the saved object",
)  # fmt: skip
BATCH_SIZE_FAILS = Rule(
    "BATCH_SIZE_FAILS",
    Level.ERROR,
    _SHAPE_FIX + "; declare the batch "
    "dimension as None and never reshape to a size fixed at trace time",
)
ROWS_DEPEND_ON_BATCH = Rule(
    "ROWS_DEPEND_ON_BATCH",
    Level.ERROR,
    _SHAPE_FIX + "; compute each row from its own inputs only (no statistics over axis 0)",
)
DIFFERS_FROM_PYTHON = Rule("DIFFERS_FROM_PYTHON", Level.ERROR, _SHAPE_FIX)


@dataclass
class Outcome:
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    compared: bool = False  # answers matched Python at every size both could run


def not_servable(error: BaseException) -> Finding:
    return found(
        NOT_SERVABLE,
        "",
        "",
        "the serving loader (what `sigserve serve` and TF "
        f"Serving use) cannot load this version: {served.error_text(error, 500)}",
    )


def signature_fails(key: str, error: BaseException, where: str) -> Finding:
    return found(SIGNATURE_FAILS, key, "", f"a valid request ({where}) fails when served: "
                 f"{served.error_text(error, 500)}")  # fmt: skip


def _inputs_label(info: SignatureInfo, inner: bool) -> tuple[str, list[str]]:
    """The inputs whose batch (or other unknown) dimension a case varies."""
    names = [n for n, i in info.inputs.items() if i.shape is not None and (
        any(d == -1 for d in i.shape[1:]) if inner else (len(i.shape) >= 1 and i.shape[0] == -1)
    )]  # fmt: skip
    return ", ".join(tensor_label("inputs", n) for n in names), names


# --- rows of a batch versus single rows (needs only the directory) ----------------------


def row_consistency(key: str, info: SignatureInfo, call: Call) -> Outcome:
    """Row i of a batch of 7 must equal the answer for row i alone (and for rows 0-1 as a
    batch of 2), for outputs with one row per input row."""
    outcome = Outcome()
    big = Case(7, served.BASE_INNER, 51)
    inputs = served.feed(info, big)
    try:
        first = call(inputs)
        again = call(inputs)
    except Exception:  # reported by the batch-size sweep or the probe
        return outcome
    if served.difference(first, again, 0.0, 0.0):
        outcome.notes.append(f"{key}: answers vary between identical requests (state or "
                             "randomness): rows of a batch were not compared")  # fmt: skip
        return outcome
    rows = [n for n, v in first.items() if np.ndim(v) >= 1 and np.shape(v)[0] == big.batch]
    if not rows:
        return outcome
    label, _ = _inputs_label(info, inner=False)
    failures: list[str] = []
    mismatches: list[str] = []
    for start, size in ((0, 1), (4, 1), (0, 2)):
        part = {k: v[start : start + size] for k, v in inputs.items()}
        where = f"row {start} alone" if size == 1 else f"rows {start}-{start + size - 1}"
        try:
            got = call(part)
        except Exception as e:
            failures.append(f"batch size {size} ({where}): {served.error_text(e)}")
            continue
        want = {n: first[n][start : start + size] for n in rows}
        diff = served.difference({n: got[n] for n in rows if n in got}, want, 1e-3, 1e-4)
        if diff:
            mismatches.append(f"{where} (batch size {size}) versus the same rows of a batch of "
                              f"{big.batch}: {diff}")  # fmt: skip
    if failures:
        outcome.findings.append(found(BATCH_SIZE_FAILS, key, label,
                                      f"answers a batch of {big.batch} but fails at "
                                      + "; ".join(failures)))  # fmt: skip
    if mismatches:
        outcome.findings.append(found(ROWS_DEPEND_ON_BATCH, key, label,
                                      "a row's answer depends on the batch it is sent in: "
                                      + "; ".join(mismatches)
                                      + " (a branch on x.shape[0] or len(x), or an op mixing "
                                      "rows)"))  # fmt: skip
    return outcome


# --- served versus the Python object run eagerly ----------------------------------------


def python_comparison(
    key: str, info: SignatureInfo, call: Call, python: Call, include_zero: bool = True
) -> Outcome:
    """Call served and Python alike, in the same order (so state evolves alike), at every
    case of :func:`served.cases`; report the sizes that disagree or fail only when served."""
    outcome = Outcome()
    is_batched = served.batched(info)
    agree: list[Case] = []
    differ: list[tuple[Case, str]] = []
    served_only_fails: list[tuple[Case, BaseException]] = []
    python_errors: list[str] = []
    for case in served.cases(info, include_zero):
        inputs = served.feed(info, case)
        want = got = None
        try:
            want = python(inputs)
        except Exception as e:
            if case.batch != 0:
                python_errors.append(f"{case.label(is_batched)}: {served.error_text(e)}")
        try:
            got = call(inputs)
        except Exception as e:
            if want is not None:
                served_only_fails.append((case, e))
            continue
        if want is None:
            continue
        diff = served.difference(got, want, 1e-4, 1e-5)
        if diff:
            differ.append((case, diff))
        else:
            agree.append(case)
    if differ and _varies(call, info, differ[0][0]):
        outcome.notes.append(f"{key}: answers vary between identical requests (state or "
                             "randomness): not compared with Python")  # fmt: skip
        return outcome
    if python_errors and not (agree or differ):
        outcome.notes.append(f"{key}: could not run the Python function eagerly on synthetic "
                             f"inputs to compare ({python_errors[0]})")  # fmt: skip
    agreeing = served.sizes_text(agree, is_batched)
    if differ:
        case, diff = differ[0]
        sizes = served.sizes_text([c for c, _ in differ], is_batched)
        label, names = _inputs_label(info, inner=case.inner != served.BASE_INNER)
        what = "batch dimension" if case.inner == served.BASE_INNER else "unknown dimensions"
        outcome.findings.append(found(
            DIFFERS_FROM_PYTHON, key, label,
            f"the served signature answers differently from the Python object run eagerly at "
            f"{sizes} ({diff}); it agrees at {agreeing}. The {what} of {names} decides which "
            "branch Python takes, but the SavedModel kept the one taken when the function was "
            "traced (shape None)",
        ))  # fmt: skip
    if served_only_fails:
        case, error = served_only_fails[0]
        sizes = served.sizes_text([c for c, _ in served_only_fails], is_batched)
        if not agree and not differ:
            outcome.findings.append(signature_fails(key, error, sizes))
        else:
            label, _ = _inputs_label(info, inner=case.inner != served.BASE_INNER)
            outcome.findings.append(found(
                BATCH_SIZE_FAILS, key, label,
                f"fails when served at {sizes} where Python answers "
                f"({served.error_text(error)}); answers at {agreeing}",
            ))  # fmt: skip
    outcome.compared = bool(agree) and not differ and not served_only_fails
    return outcome


def _varies(call: Call, info: SignatureInfo, case: Case) -> bool:
    inputs = served.feed(info, case)
    try:
        return bool(served.difference(call(inputs), call(inputs), 0.0, 0.0))
    except Exception:
        return False
