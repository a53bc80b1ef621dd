"""Trap and healthy SavedModels for the tools' tests, built with TensorFlow."""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

F32 = tf.float32


class FrozenBranch(tf.Module):  # the seed's '666' trap
    @tf.function(input_signature=[tf.TensorSpec([None, None], F32)])
    def add(self, x):
        if x.shape[1] is None:
            return tf.constant("666")
        return tf.constant(x.shape[1])


class CondHealthy(tf.Module):  # the seed's fix two, branching on tensors
    @tf.function(input_signature=[tf.TensorSpec([None, None], F32)])
    def add(self, x):
        if tf.equal(tf.size(x), 0):
            return tf.constant("666")
        return tf.strings.as_string(tf.shape(x)[1])


class UnusedInput(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 3], F32), tf.TensorSpec([None, 3], F32)])
    def f(self, x, scale):
        return {"y": x * 2.0}


class FixedBatch(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([1, 4], F32)])
    def f(self, x):
        return {"y": x * 2.0}


class NotBatchMajor(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 3], F32)])
    def f(self, x):
        return {"total": tf.reduce_sum(x), "y": x + 1.0}


class TupleArg(tf.Module):  # the seed's one_arg / one_arg_1
    @tf.function(input_signature=[(tf.TensorSpec(None, tf.int32), tf.TensorSpec(None, tf.int32))])
    def test(self, one_arg):
        return {"sum": one_arg[0] + one_arg[1]}


class ImageBytes(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image")])
    def f(self, image):
        pixels = tf.map_fn(
            lambda b: tf.reduce_mean(tf.cast(tf.io.decode_jpeg(b), F32)),
            image,
            fn_output_signature=F32,
        )
        return {"brightness": pixels}


class Counter(tf.Module):  # stateful, healthy
    def __init__(self) -> None:
        super().__init__()
        self.count = tf.Variable(0.0)

    @tf.function(input_signature=[])
    def read(self):
        return {"count": self.count.read_value()}

    @tf.function(input_signature=[tf.TensorSpec([], F32, name="delta")])
    def incr(self, delta):
        return {"count": self.count.assign_add(delta)}

    @tf.function(input_signature=[tf.TensorSpec([None], F32, name="x")])
    def tick(self, x):  # output comes from state, changed by every call
        self.count.assign_add(1.0)
        return {"seen": tf.fill(tf.shape(x), self.count.read_value())}


class Dense(tf.Module):  # healthy: batch-major, variables
    def __init__(self) -> None:
        super().__init__()
        self.w = tf.Variable(tf.random.stateless_normal([3, 2], seed=[1, 2]))

    @tf.function(input_signature=[tf.TensorSpec([None, 3], F32, name="x")])
    def predict(self, x):
        return {"y": tf.matmul(x, self.w)}


class Text(tf.Module):  # healthy: plain text strings need no b64
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def f(self, text):
        return {"length": tf.strings.length(text)}


def _save(module: tf.Module, path: Path, signatures: dict) -> Path:
    tf.saved_model.save(module, str(path / "1"), signatures=signatures)
    return path


def _classify_float_input(path: Path) -> Path:
    """A TF1 signature with the classify method but a float input named x."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(F32, [None, 1], name="x")
        scores = tf.identity(x * 0.5, name="scores")
        with tf.compat.v1.Session(graph=graph) as session:
            builder = tf.compat.v1.saved_model.Builder(str(path / "1"))
            sig = tf.compat.v1.saved_model.signature_def_utils.build_signature_def(
                inputs={"x": tf.compat.v1.saved_model.build_tensor_info(x)},
                outputs={"scores": tf.compat.v1.saved_model.build_tensor_info(scores)},
                method_name="tensorflow/serving/classify",
            )
            builder.add_meta_graph_and_variables(
                session, ["serve"], signature_def_map={"serving_default": sig}
            )
            builder.save()
    return path


def build_all(root: Path) -> dict[str, Path]:
    """name -> base path; names starting with ``healthy_`` must produce no finding."""
    traps_and_controls = {
        "frozen_branch": (FrozenBranch, {"serving_default": "add"}),
        "unused_input": (UnusedInput, {"serving_default": "f"}),
        "no_serving_default": (Dense, {"name": "predict"}),
        "fixed_batch": (FixedBatch, {"serving_default": "f"}),
        "not_batch_major": (NotBatchMajor, {"serving_default": "f"}),
        "tuple_names": (TupleArg, {"serving_default": "test"}),
        "image_bytes": (ImageBytes, {"serving_default": "f"}),
        "healthy_cond": (CondHealthy, {"serving_default": "add"}),
        "healthy_counter": (Counter, {"serving_default": "incr", "read": "read", "tick": "tick"}),
        "healthy_dense": (Dense, {"serving_default": "predict"}),
        "healthy_text": (Text, {"serving_default": "f"}),
    }
    built = {"method_mismatch": _classify_float_input(root / "method_mismatch")}
    for name, (cls, signatures) in traps_and_controls.items():
        module = cls()
        functions = {key: getattr(module, attr) for key, attr in signatures.items()}
        built[name] = _save(module, root / name, functions)
    return built
