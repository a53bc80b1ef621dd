"""``sigserve.export``: write a SavedModel version TF Serving accepts, then prove it.

    sigserve.export(module, "/models/m")                       # /models/m/<next version>/
    sigserve.export(f, "/models/m", signatures=[tf.TensorSpec([None, 3], tf.float32)])

The model is written to a hidden directory under ``base_path`` (TF Serving ignores
names that are not numbers; Keras models through ``keras.export.ExportArchive``, the
path Keras documents for serving), then loaded exactly as ``sigserve serve`` loads it
(the session loader) and ``sigserve check`` runs on it: every signature is called at
batch sizes 0, 1, 2 and 7 and with other unknown dimensions varied, and each answer is
compared with the original Python function run eagerly. Only then is it renamed to
``base_path/<version>``; on any error-level problem it is removed (with the base path,
when export created it) and a ServingError says why.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tensorflow as tf

from sigserve.errors import Code, ServingError, failed_precondition, invalid_argument
from sigserve.tools.check import Report, check
from sigserve.tools.export_signatures import SignatureFunction, is_keras_model, resolve
from sigserve.tools.findings import Finding, Level, text


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
    obj: Any,
    base_path: str,
    signatures: Any = None,
    version: int | None = None,
    input_specs: Sequence[Any] | None = None,
) -> ExportResult:
    """Export ``obj`` as ``base_path/<version>/`` (the next version when None).

    ``input_specs`` (TensorSpecs) are used for every function without an input_signature.
    Raises ServingError, leaving nothing behind, when the version would not serve
    correctly; the ExportResult is returned only once it is in place.
    """
    functions = resolve(obj, signatures, input_specs)
    version = next_version(base_path) if version is None else version
    final = os.path.join(base_path, str(version))
    if os.path.exists(final):
        raise ServingError(Code.ALREADY_EXISTS, f"{final} already exists")
    created = _make_dirs(base_path)
    staging = os.path.join(base_path, f".sigserve-export-{version}-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    done = False
    try:
        _save(obj, staging, functions)
        result = _verify(obj, staging, functions)
        os.rename(staging, final)
        done = True
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if not done:
            for path in reversed(created):  # a refused export leaves no empty base path
                with contextlib.suppress(OSError):
                    os.rmdir(path)
    result.path, result.version = final, version
    return result


def _make_dirs(path: str) -> list[str]:
    """``os.makedirs(path)``; the directories it created, outermost first."""
    missing = []
    current = os.path.abspath(path)
    while not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise invalid_argument(f"cannot create {path}: {e.strerror or e}") from None
    return list(reversed(missing))


def _save(obj: Any, path: str, functions: dict[str, SignatureFunction]) -> None:
    try:
        if is_keras_model(obj) and all(f.eager is not None for f in functions.values()):
            _save_keras(obj, path, functions)
        else:
            _save_module(obj, path, functions)
    except (AssertionError, ValueError, TypeError, tf.errors.OpError) as e:
        raise invalid_argument(f"TensorFlow could not save the model: {e}") from None


def _save_keras(model: Any, path: str, functions: dict[str, SignatureFunction]) -> None:
    """Keras's documented path for serving (what ``model.export(path)`` does): an
    ExportArchive tracking the model's variables, one endpoint per signature."""
    import keras

    archive = keras.export.ExportArchive()
    archive.track(model)
    for key, function in functions.items():
        archive.add_endpoint(key, function.eager)  # traced tf.functions
    archive.write_out(path, verbose=False)


def _save_module(obj: Any, path: str, functions: dict[str, SignatureFunction]) -> None:
    """``tf.saved_model.save``, with every variable the signatures capture tracked by the
    saved object: the session loader restores only those (a Keras 3 model inside a
    tf.Module is not tracked otherwise, and serving fails with "Could not find variable")."""
    root = obj if isinstance(obj, tf.Module) else tf.Module()
    added = []
    if root is not obj:  # keep the object, the functions and what they capture tracked
        if isinstance(obj, tf.__internal__.tracking.Trackable):
            root.exported = obj
        root.signature_functions = [f.eager for f in functions.values() if f.eager is not None]
    untracked = _untracked_variables(root, functions)
    if untracked:
        root._sigserve_captured_variables = untracked
        added.append("_sigserve_captured_variables")
    try:
        tf.saved_model.save(root, path, signatures={k: f.concrete for k, f in functions.items()})
    finally:
        for attribute in added:  # leave the caller's object as it was
            delattr(root, attribute)


def _captured_variables(functions: dict[str, SignatureFunction]) -> list[Any]:
    seen: dict[int, Any] = {}
    for function in functions.values():
        for variable in getattr(function.concrete, "variables", ()) or ():
            seen.setdefault(id(variable), variable)
    return list(seen.values())


def _untracked_variables(root: Any, functions: dict[str, SignatureFunction]) -> list[Any]:
    captured = _captured_variables(functions)
    try:
        tracked = {id(t) for t in tf.train.TrackableView(root).descendants()}
    except Exception:  # a view TensorFlow cannot walk: track them all (harmless)
        return captured
    return [v for v in captured if id(v) not in tracked]


def _verify(obj: Any, path: str, functions: dict[str, SignatureFunction]) -> ExportResult:
    """Load ``path`` as the server does and check it, comparing with Python run eagerly."""
    python = {key: call for key, f in functions.items() if (call := _eager_call(f)) is not None}
    with _state_restored(obj, functions):
        report = check(path, python=python, include_zero=True)
    errors = [f for f in report.findings if f.level >= Level.ERROR]
    if errors:
        raise failed_precondition(
            "export refused, the model would not serve correctly (nothing was written):\n"
            + "\n".join(text(f) for f in errors)
        )
    result = ExportResult(path, 0, sorted(functions), compared=list(report.compared))
    result.findings = list(report.findings)
    result.notes = list(report.notes)
    for key, function in sorted(functions.items()):
        if function.eager is None:
            result.notes.append(
                f"{key}: a concrete function carries no Python to compare with; checked "
                "through the serving loader only"
            )
        elif key not in python:
            result.notes.append(f"{key}: could not map the signature's inputs to the Python "
                                "function's arguments; not compared with Python")  # fmt: skip
    return result


def check_against(
    path: str,
    obj: Any,
    signatures: Any = None,
    input_specs: Sequence[Any] | None = None,
    tags: frozenset[str] = frozenset({"serve"}),
) -> Report:
    """``check(path)``, plus every served answer compared with ``obj`` run eagerly (the
    signatures found in ``obj`` as export would find them)."""
    functions = resolve(obj, signatures, input_specs)
    python = {key: call for key, f in functions.items() if (call := _eager_call(f)) is not None}
    with _state_restored(obj, functions):
        report = check(path, tags, python=python, include_zero=True)
    missing = sorted(set(report.signatures) - set(functions))
    if missing:
        report.notes.append(f"no Python function for {missing}: not compared with Python")
    return report


def _eager_call(function: SignatureFunction) -> Callable[[Any], dict[str, np.ndarray]] | None:
    """``inputs -> outputs`` running the Python function eagerly, or None when the
    signature's input names cannot be mapped to its arguments."""
    if function.eager is None:
        return None
    concrete = function.concrete
    keywords = getattr(concrete, "_arg_keywords", None)  # how TF names signature inputs
    flat_specs = [
        s for s in tf.nest.flatten(concrete.structured_input_signature, expand_composites=True)
        if isinstance(s, tf.TensorSpec)
    ]  # fmt: skip
    if keywords is None or len(keywords) != len(flat_specs):
        return None
    eager = function.eager

    def call(inputs: Any) -> dict[str, np.ndarray]:
        flat = [tf.constant(inputs[k], dtype=s.dtype) for k, s in zip(keywords, flat_specs,
                                                                      strict=True)]  # fmt: skip
        args, kwargs = tf.nest.pack_sequence_as(concrete.structured_input_signature, flat)
        previous = tf.config.functions_run_eagerly()
        tf.config.run_functions_eagerly(True)
        try:
            return _normalize(eager(*args, **kwargs))
        finally:
            tf.config.run_functions_eagerly(previous)

    return call


@contextlib.contextmanager
def _state_restored(obj: Any, functions: dict[str, SignatureFunction]) -> Iterator[None]:
    """Python runs change the object's variables like served calls change the version's
    (so stateful signatures compare alike); put the caller's values back afterwards."""
    variables: dict[int, Any] = {}
    for variable in [*list(getattr(obj, "variables", ()) or ()), *_captured_variables(functions)]:
        variables.setdefault(id(variable), variable)
    saved = []
    for variable in variables.values():
        with contextlib.suppress(Exception):  # a variable that cannot be read is left alone
            saved.append((variable, np.array(variable.numpy())))
    try:
        yield
    finally:
        for variable, value in saved:
            with contextlib.suppress(Exception):
                variable.assign(value)


def _normalize(outputs: Any) -> dict[str, np.ndarray]:
    if isinstance(outputs, dict):
        return {str(k): np.asarray(tf.convert_to_tensor(v).numpy()) for k, v in outputs.items()}
    flat = tf.nest.flatten(outputs)
    return {f"output_{i}": np.asarray(tf.convert_to_tensor(v).numpy()) for i, v in enumerate(flat)}


def load_target(target: str) -> Any:
    """The object named by ``module:attribute`` or ``path/to/file.py:attribute``
    (attributes may be dotted). The current directory is importable, as with
    ``python -m``: ``mymodels:model`` finds ``./mymodels.py``."""
    module_name, _, attribute = target.rpartition(":")
    if not module_name or not attribute:
        raise invalid_argument(
            f"expected module:object (e.g. mymodels:model, or mymodels.py:model), got {target!r}"
        )
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        value: Any = _import(module_name)
    except ServingError:
        raise
    except ModuleNotFoundError as e:
        if e.name and module_name.startswith(e.name.split(".")[0]):
            raise invalid_argument(
                f"cannot import {module_name!r}: no module {e.name!r} in {os.getcwd()} or on "
                "the Python path (run from the directory holding it, or give path/to/file.py)"
            ) from None
        raise invalid_argument(f"importing {module_name!r} failed: {e}") from None
    except Exception as e:  # the user's module raised while being imported
        raise invalid_argument(
            f"importing {module_name!r} failed: {type(e).__name__}: {e}"
        ) from None
    for part in attribute.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            names = sorted(n for n in dir(value) if not n.startswith("_"))
            raise invalid_argument(
                f"{module_name!r} has no attribute {attribute!r}; it has: {', '.join(names)}"
            ) from None
    return value


def _import(module_name: str) -> Any:
    if not module_name.endswith(".py"):
        return importlib.import_module(module_name)
    if not os.path.isfile(module_name):
        raise invalid_argument(f"no such file: {module_name}")
    name = os.path.splitext(os.path.basename(module_name))[0]
    spec = importlib.util.spec_from_file_location(name, module_name)
    if spec is None or spec.loader is None:
        raise invalid_argument(f"cannot import {module_name}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
