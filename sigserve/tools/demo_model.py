"""The demo model of ``sigserve demo``: y = 0.5 * x + 2, exported with ``sigserve.export``."""

from __future__ import annotations

import os

import tensorflow as tf

from sigserve.tools.export import export


class HalfPlusTwo(tf.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = tf.Variable(0.5)
        self.b = tf.Variable(2.0)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def serving_default(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
        return {"y": self.a * x + self.b}


def build(base_path: str) -> str:
    """Export version 1 under ``base_path`` unless a version is already there."""
    if os.path.isdir(os.path.join(base_path, "1")):
        return os.path.join(base_path, "1")
    module = HalfPlusTwo()
    return export(
        module, base_path, signatures={"serving_default": module.serving_default}, version=1
    ).path
