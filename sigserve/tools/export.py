"""``sigserve.export``: write a SavedModel version TF Serving accepts, then prove it.

    sigserve.export(module, "/models/m")                       # /models/m/<next version>/
    sigserve.export(f, "/models/m", signatures=[tf.TensorSpec([None, 3], tf.float32)])

The model is written to a hidden directory under ``base_path`` (TF Serving ignores
names that are not numbers), reloaded, every signature is called with synthetic
inputs and its answers compared with the original Python function run eagerly,
and ``sigserve check`` runs on it. Only then is it renamed to ``base_path/<version>``;
on any error-level problem it is removed and a ServingError says why.
"""

from __future__ import annotations

import importlib
import os
import shutil
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tensorflow as tf

from sigserve.errors import Code, ServingError, failed_precondition, invalid_argument
from sigserve.tools import synthetic
from sigserve.tools.check import check
from sigserve.tools.export_signatures import SignatureFunction, resolve
from sigserve.tools.findings import Finding, Level, text
from sigserve.tools.inspect import signature_info
from sigserve.tools.savedmodel_reader import meta_graphs, read


@dataclass
class ExportResult:
    path: str
    version: int
    signatures: list[str]
    compared: list[str] = field(default_factory=list)  # signatures matched against eager runs
    findings: list[Finding] = field(default_factory=list)  # below error level
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path, "version": self.version, "signatures": self.signatures,
            "compared": self.compared, "findings": [f.as_json() for f in self.findings],
            "notes": self.notes,
        }  # fmt: skip

    def text_lines(self) -> list[str]:
        lines = [f"Exported version {self.version} to {self.path}: signatures {self.signatures}"]
        lines += [f"answers match eager Python for: {', '.join(self.compared) or 'none'}"]
        return lines + [text(f) for f in self.findings] + [f"note: {n}" for n in self.notes]


def next_version(base_path: str) -> int:
    if not os.path.isdir(base_path):
        return 1
    versions = [int(n) for n in os.listdir(base_path) if n.isdigit()]
    return max(versions, default=0) + 1


def export(
    obj: Any, base_path: str, signatures: Any = None, version: int | None = None
) -> ExportResult:
    """Export ``obj`` as ``base_path/<version>/`` (the next version when None)."""
    functions = resolve(obj, signatures)
    version = next_version(base_path) if version is None else version
    final = os.path.join(base_path, str(version))
    if os.path.exists(final):
        raise ServingError(Code.ALREADY_EXISTS, f"{final} already exists")
    os.makedirs(base_path, exist_ok=True)
    staging = os.path.join(base_path, f".sigserve-export-{version}-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        _save(obj, staging, functions)
        result = _verify(obj, staging, functions)
        os.rename(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    result.path, result.version = final, version
    return result


def _save(obj: Any, path: str, functions: dict[str, SignatureFunction]) -> None:
    root = obj if isinstance(obj, tf.Module) else tf.Module()
    if root is not obj:  # keep the object, the functions and what they capture tracked
        if isinstance(obj, tf.__internal__.tracking.Trackable):
            root.exported = obj
        root.signature_functions = [f.eager for f in functions.values() if f.eager is not None]
    try:
        tf.saved_model.save(root, path, signatures={k: f.concrete for k, f in functions.items()})
    except (AssertionError, ValueError, TypeError, tf.errors.OpError) as e:
        raise invalid_argument(f"TensorFlow could not save the model: {e}") from None


def _verify(obj: Any, path: str, functions: dict[str, SignatureFunction]) -> ExportResult:
    report = check(path)
    errors = [f for f in report.findings if f.level >= Level.ERROR]
    result = ExportResult(path, 0, sorted(functions), notes=list(report.notes))
    result.findings = [f for f in report.findings if f.level < Level.ERROR]
    loaded = tf.saved_model.load(path)
    (meta_graph,) = meta_graphs(read(path), frozenset({"serve"}))
    problems = [text(f) for f in errors]
    for key, function in functions.items():
        info = signature_info(meta_graph.signature_def[key])
        feed = synthetic.inputs(info, batch=2, inner=3, seed=7)
        try:
            saved = {k: np.asarray(v.numpy()) for k, v in loaded.signatures[key](**{
                n: tf.constant(a) for n, a in feed.items()}).items()}  # fmt: skip
        except Exception as e:  # the saved signature cannot answer a valid request
            problems.append(f"{key}: the saved signature failed on synthetic inputs: {e}")
            continue
        if function.eager is None:
            result.notes.append(f"{key}: a concrete function has no Python to compare with")
            continue
        eager = _run_eagerly(obj, function, feed)
        if eager is None:
            result.notes.append(f"{key}: could not call the Python function eagerly to compare")
            continue
        mismatch = _difference(saved, eager)
        if mismatch:
            problems.append(
                f"{key}: the SavedModel answers differently from the Python function run eagerly "
                f"({mismatch}): a branch was frozen at trace time; branch on tensors (tf.cond, "
                "tf.equal(tf.size(x), 0)) or drop input_signature"
            )
        else:
            result.compared.append(key)
    if problems:
        raise failed_precondition("export refused, the model would not serve correctly:\n"
                                  + "\n".join(problems))  # fmt: skip
    return result


def _run_eagerly(
    obj: Any, function: SignatureFunction, feed: dict[str, np.ndarray]
) -> dict[str, np.ndarray] | None:
    concrete = function.concrete
    keywords = getattr(concrete, "_arg_keywords", None)  # how TF names signature inputs
    flat_specs = [
        s for s in tf.nest.flatten(concrete.structured_input_signature, expand_composites=True)
        if isinstance(s, tf.TensorSpec)
    ]  # fmt: skip
    if not keywords or len(keywords) != len(flat_specs) or set(keywords) != set(feed):
        return None
    flat = [tf.constant(feed[k]) for k in keywords]
    args, kwargs = tf.nest.pack_sequence_as(concrete.structured_input_signature, flat)
    variables = list(getattr(obj, "variables", ()) or ())
    saved_values = [v.numpy() for v in variables]
    previous = tf.config.functions_run_eagerly()
    tf.config.run_functions_eagerly(True)
    try:
        return _normalize(function.eager(*args, **kwargs))  # read before state is restored
    except Exception:  # an eager failure is reported as "not compared", not as a mismatch
        return None
    finally:
        tf.config.run_functions_eagerly(previous)
        for variable, value in zip(variables, saved_values, strict=True):
            variable.assign(value)  # leave the caller's model as it was


def _normalize(outputs: Any) -> dict[str, np.ndarray]:
    if isinstance(outputs, dict):
        return {str(k): np.asarray(tf.convert_to_tensor(v).numpy()) for k, v in outputs.items()}
    flat = tf.nest.flatten(outputs)
    return {f"output_{i}": np.asarray(tf.convert_to_tensor(v).numpy()) for i, v in enumerate(flat)}


def _difference(saved: dict[str, np.ndarray], eager: dict[str, np.ndarray]) -> str:
    """'' when the answers agree; else what differs."""
    if set(saved) != set(eager):
        return f"outputs {sorted(saved)} versus {sorted(eager)}"
    for key, a in saved.items():
        b = eager[key]
        if a.shape != b.shape or a.dtype != b.dtype:
            return f"output {key!r}: {a.dtype}{list(a.shape)} versus {b.dtype}{list(b.shape)}"
        if a.dtype.kind in "fc":
            same = np.allclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True)
        else:
            same = np.array_equal(a, b)
        if not same:
            return f"output {key!r}: values differ"
    return ""


def load_target(target: str) -> Any:
    """The object named by ``module:attribute`` (attributes may be dotted)."""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise invalid_argument(f"expected module:object, got {target!r}")
    try:
        value: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            value = getattr(value, part)
    except (ImportError, AttributeError) as e:
        raise invalid_argument(f"cannot load {target!r}: {e}") from None
    return value
