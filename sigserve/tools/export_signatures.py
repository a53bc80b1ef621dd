"""Turn what ``sigserve.export`` is given into concrete signature functions.

Accepted (TF 2.21 / Keras 3):
- a ``tf.Module`` whose ``__call__`` (or one other method) is a ``@tf.function`` with
  ``input_signature``; without one, ``signatures=[tf.TensorSpec, ...]`` gives the specs;
- a Keras 3 model (Sequential, functional, subclassed and built): its inputs' shapes,
  dtypes and names; its output names when the model has them;
- a ``@tf.function`` with ``input_signature``; a bare ``@tf.function`` (or plain
  callable) with ``signatures=[tf.TensorSpec, ...]``; a concrete function;
- ``signatures={"name": f, ...}`` with values of the kinds above, ``(f, [specs])``, or
  the name of an attribute of the object (``{"serving_default": "__call__"}``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import tensorflow as tf

from sigserve.errors import invalid_argument
from sigserve.types import DEFAULT_SIGNATURE

_SPEC_HINT = (
    "give the input specs: sigserve.export(obj, path, signatures=[tf.TensorSpec([None, 3], "
    "tf.float32, name='x')]), or on the command line --input_spec x=float32[None,3]"
)


_SPEC_TEXT = re.compile(r"^\s*([A-Za-z_][\w.\-]*)\s*=\s*([a-z0-9]+)\s*\[([^\]]*)\]\s*$")


def parse_input_spec(text: str) -> tf.TensorSpec:
    """``x=float32[None,3]`` (the command line's --input_spec) as a named TensorSpec;
    ``None``, ``?`` or ``-1`` for an unknown dimension, ``[]`` for a scalar."""
    match = _SPEC_TEXT.match(text)
    if not match:
        raise invalid_argument(
            f"--input_spec expects NAME=DTYPE[SHAPE], e.g. x=float32[None,3]; got {text!r}"
        )
    name, dtype_name, dims = match.groups()
    try:
        dtype = tf.dtypes.as_dtype(dtype_name)
    except TypeError:
        raise invalid_argument(
            f"--input_spec {text!r}: unknown dtype {dtype_name!r} (float32, int64, string, ...)"
        ) from None
    shape: list[int | None] = []
    for dim in (d.strip() for d in dims.split(",") if d.strip()):
        if dim.lower() in ("none", "?", "-1"):
            shape.append(None)
        elif dim.isdigit():
            shape.append(int(dim))
        else:
            raise invalid_argument(f"--input_spec {text!r}: dimension {dim!r} is not a number "
                                   "or None")  # fmt: skip
    return tf.TensorSpec(shape, dtype, name=name)


@dataclass(frozen=True)
class SignatureFunction:
    concrete: Any  # tf ConcreteFunction
    eager: Callable[..., Any] | None  # the Python function, to compare answers; None if unknown


def _is_polymorphic(value: Any) -> bool:
    return isinstance(value, tf.types.experimental.PolymorphicFunction)


def _is_concrete(value: Any) -> bool:
    return isinstance(value, tf.types.experimental.ConcreteFunction)


def is_keras_model(value: Any) -> bool:
    return any(
        c.__module__.startswith("keras") and c.__name__ in ("Model", "Layer")
        for c in type(value).__mro__
    )


def _specs(specs: Any) -> list[Any]:
    return list(specs) if isinstance(specs, list | tuple) else [specs]


def from_value(name: str, value: Any, specs: Any = None) -> SignatureFunction:
    """One signature from a tf.function, a concrete function, a Keras model or a callable."""
    if isinstance(value, tuple) and len(value) == 2 and specs is None:
        return from_value(name, value[0], value[1])
    if _is_concrete(value):
        return SignatureFunction(value, None)
    if is_keras_model(value):
        return keras_signature(value, specs)
    if isinstance(value, tf.Module) and not _is_polymorphic(value):
        if not callable(value):
            raise invalid_argument(
                f"signature {name!r}: the {type(value).__name__} has no __call__; name the "
                "method to export: signatures={'serving_default': 'method_name'}"
            )
        value = value.__call__
    if not _is_polymorphic(value):
        if not callable(value):
            raise invalid_argument(f"signature {name!r}: {type(value).__name__} is not a function")
        value = tf.function(value)
    if specs is not None:
        try:
            return SignatureFunction(value.get_concrete_function(*_specs(specs)), value)
        except (TypeError, ValueError) as e:
            raise invalid_argument(
                f"signature {name!r}: the function cannot be traced with {_specs(specs)}: {e}"
            ) from None
    if value.input_signature is None:
        raise invalid_argument(
            f"signature {name!r}: {_describe(value)} is a @tf.function without input_signature"
            f"{_traced_shapes(value)}, so its input shapes are unknown; {_SPEC_HINT}; or "
            "declare @tf.function(input_signature=[...])"
        )
    return SignatureFunction(value.get_concrete_function(), value)


def _describe(function: Any) -> str:
    return getattr(function, "__name__", None) or getattr(function, "name", "the function")


def _traced_shapes(function: Any) -> str:
    """`` (traced for (2, 3))`` when the function was called before, else ''."""
    try:
        traces = function._list_all_concrete_functions()
    except Exception:  # private API: best effort for a hint only
        return ""
    shapes = []
    for trace in traces:
        flat = tf.nest.flatten(trace.structured_input_signature, expand_composites=True)
        shapes.append(", ".join(str(tuple(s.shape)) for s in flat if isinstance(s, tf.TensorSpec)))
    return f" (called so far with shapes {'; '.join(shapes)})" if shapes else ""


# --- Keras -----------------------------------------------------------------------------


def keras_signature(model: Any, specs: Any = None) -> SignatureFunction:
    """The model's forward pass (training=False) with named inputs and outputs."""
    structure = _keras_input_structure(model) if specs is None else _specs(specs)
    output_names = _keras_output_names(model)

    def serve(*args: Any) -> Any:
        inputs = args[0] if len(args) == 1 else list(args)
        return _named(model(inputs, training=False), output_names)

    function = tf.function(serve, input_signature=structure)
    try:
        concrete = function.get_concrete_function()
    except (TypeError, ValueError) as e:
        raise invalid_argument(f"the Keras model cannot be traced with {structure}: {e}") from None
    return SignatureFunction(concrete, function)


def _keras_input_structure(model: Any) -> list[Any]:
    """[one argument]: a TensorSpec, a list of them or a dict, named after the model's inputs."""
    from keras.src.export.export_utils import get_input_signature

    try:
        (structure,) = get_input_signature(model)
    except (ValueError, TypeError) as e:
        raise invalid_argument(
            f"the Keras model's input shapes are unknown ({e}): build it (keras.Input, or call it "
            f"once on a batch), or {_SPEC_HINT}"
        ) from None
    names = _keras_input_names(model)
    if isinstance(structure, dict):
        return [{k: _tensor_spec(s, k) for k, s in structure.items()}]
    if isinstance(structure, list | tuple):
        return [[_tensor_spec(s, names[i] if i < len(names) else f"input_{i}")
                 for i, s in enumerate(structure)]]  # fmt: skip
    return [_tensor_spec(structure, names[0] if names else "inputs")]


def _keras_input_names(model: Any) -> list[str]:
    """The model's keras.Input names, 'inputs'/'input_<i>' where Keras made one up."""
    try:
        tensors = list(model.inputs or [])
    except (AttributeError, ValueError):  # a subclassed model has no symbolic inputs
        tensors = []
    names = []
    for i, tensor in enumerate(tensors):
        name = str(getattr(tensor, "name", "") or "")
        made_up = not name or name.startswith("keras_tensor")
        names.append(("inputs" if len(tensors) == 1 else f"input_{i}") if made_up else name)
    return names


def _tensor_spec(spec: Any, name: str) -> tf.TensorSpec:
    shape = getattr(spec, "shape", None)
    return tf.TensorSpec(shape, getattr(spec, "dtype", None) or tf.float32, name=name)


def _keras_output_names(model: Any) -> list[str] | None:
    names = getattr(model, "output_names", None)
    if not names or len(set(names)) != len(names):
        return None
    return [str(n) for n in names]


def _named(outputs: Any, names: list[str] | None) -> Any:
    """A dict of outputs by the model's output names (Keras's own names otherwise)."""
    if isinstance(outputs, Mapping) or names is None:
        return outputs
    flat = list(outputs) if isinstance(outputs, list | tuple) else [outputs]
    if len(flat) != len(names) or not all(tf.is_tensor(t) for t in flat):
        return outputs
    return dict(zip(names, flat, strict=True))


# --- tf.Module -------------------------------------------------------------------------


def module_functions(module: tf.Module) -> tuple[dict[str, Any], list[str]]:
    """The module's @tf.function attributes with an input_signature (``__call__``
    included), and the names of those without one."""
    found: dict[str, Any] = {}
    without: list[str] = []
    for attr in ["__call__", *dir(type(module))]:
        if attr.startswith("_") and attr != "__call__":
            continue
        try:
            value = getattr(module, attr)
        except Exception:  # a property that fails is not a signature
            continue
        if not _is_polymorphic(value) or attr in found or attr in without:
            continue
        if value.input_signature is not None:
            found[attr] = value
        else:
            without.append(attr)
    return found, without


def _module_signatures(module: tf.Module) -> dict[str, SignatureFunction]:
    functions, without = module_functions(module)
    kind = type(module).__name__
    if DEFAULT_SIGNATURE in functions:
        chosen = functions
    elif "__call__" in functions:
        chosen = {DEFAULT_SIGNATURE: functions["__call__"]}
    elif len(functions) == 1:
        chosen = {DEFAULT_SIGNATURE: next(iter(functions.values()))}
    elif functions:
        raise invalid_argument(
            f"{kind} has several @tf.function methods with an input_signature "
            f"({', '.join(sorted(functions))}) and none is __call__ or serving_default: choose, "
            "e.g. signatures={'serving_default': '" + sorted(functions)[0] + "', ...} "
            "(command line: --signature serving_default=" + sorted(functions)[0] + ")"
        )
    elif without:
        first = "__call__" if "__call__" in without else without[0]
        raise invalid_argument(
            f"{kind} has @tf.function methods but none with an input_signature "
            f"(found: {', '.join(without)}{_traced_shapes(getattr(module, first))}); "
            f"{_SPEC_HINT} (this exports {first}), or declare "
            "@tf.function(input_signature=[tf.TensorSpec(...)])"
        )
    else:
        raise invalid_argument(
            f"{kind} has no @tf.function method (nothing TensorFlow can save as a signature): "
            "decorate __call__ with @tf.function(input_signature=[tf.TensorSpec(...)]), or "
            "pass signatures={'serving_default': f}"
        )
    return {key: from_value(key, value) for key, value in chosen.items()}


# --- entry point -----------------------------------------------------------------------


def _attribute(obj: Any, name: str, attribute: str) -> Any:
    try:
        return getattr(obj, attribute)
    except AttributeError:
        methods, without = (module_functions(obj) if isinstance(obj, tf.Module)
                            else ({}, []))  # fmt: skip
        known = sorted({*methods, *without}) or sorted(
            a for a in dir(obj) if not a.startswith("_") and callable(getattr(obj, a, None))
        )
        raise invalid_argument(
            f"signature {name!r}: {type(obj).__name__} has no attribute {attribute!r}; "
            f"its functions: {', '.join(known) or 'none'}"
        ) from None


def resolve(
    obj: Any, signatures: Any, specs: Sequence[Any] | None = None
) -> dict[str, SignatureFunction]:
    """Signature name -> function, with ``serving_default`` present.

    ``signatures`` is None, a list of TensorSpecs (for ``obj`` itself), or a mapping
    name -> function / attribute name / (function, specs). ``specs`` (the command
    line's ``--input_spec``) apply to every function that has no input_signature.
    """
    if isinstance(signatures, Mapping):
        result = {}
        for key, value in signatures.items():
            if isinstance(value, str):
                value = _attribute(obj, str(key), value)
            declared = (
                isinstance(value, tuple)
                or _is_concrete(value)
                or getattr(value, "input_signature", None)
            )
            needs = specs is not None and not declared
            result[str(key)] = from_value(str(key), value, specs if needs else None)
    elif signatures is not None:
        result = {DEFAULT_SIGNATURE: from_value(DEFAULT_SIGNATURE, obj, signatures)}
    elif specs is not None and not _is_concrete(obj):
        target = obj
        if isinstance(obj, tf.Module) and not is_keras_model(obj):
            _, without = module_functions(obj)
            if not callable(obj) and len(without) == 1:
                target = getattr(obj, without[0])
        result = {DEFAULT_SIGNATURE: from_value(DEFAULT_SIGNATURE, target, specs)}
    elif is_keras_model(obj) or _is_concrete(obj) or _is_polymorphic(obj):
        result = {DEFAULT_SIGNATURE: from_value(DEFAULT_SIGNATURE, obj)}
    elif isinstance(obj, tf.Module):
        result = _module_signatures(obj)
    elif callable(obj):
        raise invalid_argument(
            f"{_describe(obj)} is a plain Python function: its input shapes are unknown; "
            f"{_SPEC_HINT}"
        )
    else:
        raise invalid_argument(
            f"cannot export a {type(obj).__name__}: give a tf.Module, a Keras model, a "
            "@tf.function (with input_signature, or TensorSpecs in signatures=) or a concrete "
            "function"
        )
    if DEFAULT_SIGNATURE not in result:
        raise invalid_argument(
            f"no 'serving_default' among the signatures {sorted(result)}: requests without "
            "signature_name would fail; name one of them 'serving_default'"
        )
    return result
