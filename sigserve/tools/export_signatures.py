"""Turn what ``sigserve.export`` is given into concrete signature functions.

Accepted (TF 2.21 / Keras 3):
- a ``@tf.function`` with ``input_signature``; a bare ``@tf.function`` (or plain
  callable) with ``signatures=[tf.TensorSpec, ...]``; a concrete function;
- a ``tf.Module`` whose one ``@tf.function`` with ``input_signature`` becomes
  ``serving_default`` (or whose such functions include one named ``serving_default``);
- a Keras 3 model (its inputs' shapes, dtypes and names);
- ``signatures={"name": f, ...}`` with values of the kinds above, or ``(f, [specs])``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import tensorflow as tf

from sigserve.errors import invalid_argument
from sigserve.types import DEFAULT_SIGNATURE


@dataclass(frozen=True)
class SignatureFunction:
    concrete: Any  # tf ConcreteFunction
    eager: Callable[..., Any] | None  # the Python function, to compare answers; None if unknown


def _is_polymorphic(value: Any) -> bool:
    return isinstance(value, tf.types.experimental.PolymorphicFunction)


def _is_concrete(value: Any) -> bool:
    return isinstance(value, tf.types.experimental.ConcreteFunction)


def _is_keras_model(value: Any) -> bool:
    return any(
        c.__module__.startswith("keras") and c.__name__ == "Model" for c in type(value).__mro__
    )


def from_value(name: str, value: Any, specs: Any = None) -> SignatureFunction:
    """One signature from a tf.function, a concrete function, a Keras model or a callable."""
    if isinstance(value, tuple) and len(value) == 2 and specs is None:
        return from_value(name, value[0], value[1])
    if _is_concrete(value):
        return SignatureFunction(value, None)
    if _is_keras_model(value):
        return _keras_signature(value)
    if not _is_polymorphic(value):
        if not callable(value):
            raise invalid_argument(f"signature {name!r}: {type(value).__name__} is not a function")
        value = tf.function(value)
    if specs is not None:
        specs = list(specs) if isinstance(specs, list | tuple) else [specs]
        return SignatureFunction(value.get_concrete_function(*specs), value)
    if value.input_signature is None:
        raise invalid_argument(
            f"signature {name!r}: a @tf.function without input_signature cannot be a signature "
            "(tf.saved_model.save raises 'Expected a TensorFlow function for which to generate a "
            "signature'); pass TensorSpecs: export(f, path, signatures=[tf.TensorSpec(...)]) or "
            "{name: (f, [tf.TensorSpec(...)])}, or use @tf.function(input_signature=[...])"
        )
    return SignatureFunction(value.get_concrete_function(), value)


def _keras_signature(model: Any) -> SignatureFunction:
    inputs = getattr(model, "inputs", None)
    if not inputs:
        raise invalid_argument(
            "the Keras model has no defined inputs: build it with keras.Input(...) or call it once"
        )
    specs = [tf.TensorSpec(t.shape, t.dtype, name=t.name) for t in inputs]

    def serve(*args: tf.Tensor) -> Any:
        return model(args[0] if len(args) == 1 else list(args), training=False)

    function = tf.function(serve, input_signature=specs)
    return SignatureFunction(function.get_concrete_function(), function)


def module_functions(module: tf.Module) -> dict[str, Any]:
    """The module's @tf.function attributes that have an input_signature."""
    found = {}
    for attr in dir(type(module)):
        if attr.startswith("_"):
            continue
        try:
            value = getattr(module, attr)
        except Exception:  # a property that fails is not a signature
            continue
        if _is_polymorphic(value) and value.input_signature is not None:
            found[attr] = value
    return found


def resolve(obj: Any, signatures: Any) -> dict[str, SignatureFunction]:
    """Signature name -> function, with ``serving_default`` present."""
    if isinstance(signatures, Mapping):
        result = {str(k): from_value(str(k), v) for k, v in signatures.items()}
    elif signatures is not None:
        result = {DEFAULT_SIGNATURE: from_value(DEFAULT_SIGNATURE, obj, signatures)}
    elif _is_keras_model(obj) or _is_concrete(obj) or _is_polymorphic(obj):
        result = {DEFAULT_SIGNATURE: from_value(DEFAULT_SIGNATURE, obj)}
    elif isinstance(obj, tf.Module):
        functions = module_functions(obj)
        if len(functions) == 1:
            functions = {DEFAULT_SIGNATURE: next(iter(functions.values()))}
        if not functions:
            raise invalid_argument(
                f"{type(obj).__name__} has no @tf.function with an input_signature: "
                "tf.saved_model.save would silently write a model with no signature; pass "
                "signatures={'serving_default': ...}"
            )
        result = {k: from_value(k, v) for k, v in functions.items()}
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
