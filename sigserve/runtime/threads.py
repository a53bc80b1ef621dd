"""TensorFlow's thread pools, set once before the first model loads."""

from __future__ import annotations

import tensorflow as tf


def configure(intra_op: int, inter_op: int) -> None:
    """Apply ``--tensorflow_intra_op_parallelism`` / ``--tensorflow_inter_op_parallelism``.

    0 leaves TensorFlow's own choice, as in TF Serving.
    """
    if intra_op > 0:
        tf.config.threading.set_intra_op_parallelism_threads(intra_op)
    if inter_op > 0:
        tf.config.threading.set_inter_op_parallelism_threads(inter_op)
