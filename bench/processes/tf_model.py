"""The TensorFlow code a user writes around a SavedModel, shared by the peer servers and the
in-process run: load the serving signature, turn TF Serving's row-format ``instances`` into its
inputs and its outputs into ``predictions`` (``.numpy().tolist()``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf


class ServingSignature:
    """One signature of a SavedModel loaded with ``tf.saved_model.load``."""

    def __init__(self, export_dir: str, signature: str = "serving_default") -> None:
        self.model = tf.saved_model.load(export_dir)
        self.fn = self.model.signatures[signature]
        _, specs = self.fn.structured_input_signature
        self.specs: dict[str, tf.TensorSpec] = dict(specs)

    def inputs(self, instances: list[Any]) -> dict[str, tf.Tensor]:
        """The signature's inputs for TF Serving's row format (one input: a list of values;
        several: a list of objects keyed by input name)."""
        if len(self.specs) == 1:
            ((name, spec),) = self.specs.items()
            return {name: tf.constant(instances, dtype=spec.dtype)}
        return {
            name: tf.constant([row[name] for row in instances], dtype=spec.dtype)
            for name, spec in self.specs.items()
        }

    def __call__(self, inputs: dict[str, tf.Tensor]) -> dict[str, np.ndarray]:
        return {name: value.numpy() for name, value in self.fn(**inputs).items()}

    def predict(self, instances: list[Any]) -> list[Any]:
        return predictions(self(self.inputs(instances)))


def predictions(outputs: dict[str, np.ndarray]) -> list[Any]:
    """TF Serving's row format: one output as a list of rows, several as a list of objects."""
    if len(outputs) == 1:
        return _to_list(next(iter(outputs.values())))
    columns = {name: _to_list(value) for name, value in sorted(outputs.items())}
    rows = len(next(iter(columns.values())))
    return [{name: column[i] for name, column in columns.items()} for i in range(rows)]


def _to_list(value: np.ndarray) -> list[Any]:
    if value.dtype == object:  # tf.string comes back as bytes
        return np.vectorize(lambda b: b.decode("utf-8", "replace"), otypes=[object])(value).tolist()
    return value.tolist()
