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


# --- traps and models users write, for export and the serving-loader checks -------------


class BatchOneTrap(tf.Module):  # issue 13: a Python branch on x.shape[0] == 1, traced with None
    @tf.function(input_signature=[tf.TensorSpec([None, 3], F32, name="x")])
    def __call__(self, x):
        if x.shape[0] == 1:
            return {"y": tf.reduce_sum(x, axis=1) * 3.0}
        return {"y": tf.reduce_sum(x, axis=1) * 6.0}


class LongRowTrap(tf.Module):  # the same trap on an unknown non-batch dimension
    @tf.function(input_signature=[tf.TensorSpec([None, None], F32, name="tokens")])
    def __call__(self, tokens):
        if tokens.shape[1] is not None and tokens.shape[1] > 4:  # never true when served
            tokens = tokens[:, :4]
        return {"y": tf.reduce_sum(tokens, axis=1)}


class BatchOneCond(tf.Module):  # branches on the batch size in the graph: rows depend on it
    @tf.function(input_signature=[tf.TensorSpec([None, 3], F32, name="x")])
    def __call__(self, x):
        factor = tf.cond(tf.shape(x)[0] == 1, lambda: 3.0, lambda: 6.0)
        return {"y": tf.reduce_sum(x, axis=1) * factor}


class BatchStatistic(tf.Module):  # mixes rows: each answer depends on the rest of the batch
    @tf.function(input_signature=[tf.TensorSpec([None, 3], F32, name="x")])
    def __call__(self, x):
        return {"y": x - tf.reduce_mean(x, axis=0)}


class SecondRow(tf.Module):  # answers batches of 2 and more, fails for one row
    @tf.function(input_signature=[tf.TensorSpec([None, 3], F32, name="x")])
    def __call__(self, x):
        return {"y": x - x[1]}


class Scaler(tf.Module):  # healthy: a traced __call__ without input_signature, a variable
    def __init__(self) -> None:
        super().__init__()
        self.scale = tf.Variable([1.0, 2.0, 3.0])

    @tf.function
    def __call__(self, x):
        return {"y": x * self.scale}


class TwoInputs(tf.Module):  # healthy: several inputs of several dtypes, a variable
    def __init__(self) -> None:
        super().__init__()
        self.w = tf.Variable(tf.random.stateless_normal([3, 2], seed=[3, 4]))

    @tf.function(input_signature=[tf.TensorSpec([None, 3], F32, name="features"),
                                  tf.TensorSpec([None], tf.int64, name="bucket")])  # fmt: skip
    def __call__(self, features, bucket):
        scores = tf.matmul(features, self.w)
        return {"scores": scores, "shifted": scores[:, 0] + tf.cast(bucket, F32)}


def keras_functional():
    """Issue 13's model: a Keras 3 functional model with named layers."""
    import keras

    inputs = keras.Input((4,), name="features")
    hidden = keras.layers.Dense(8, activation="relu", name="hidden")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, name="scores")(hidden))


def keras_two_inputs():
    import keras

    age = keras.Input((1,), name="age")
    dims = keras.Input((2,), name="dims")
    joined = keras.layers.Concatenate()([age, dims])
    price = keras.layers.Dense(1, name="price")(joined)
    kind = keras.layers.Dense(3, activation="softmax", name="kind")(joined)
    return keras.Model([age, dims], [price, kind])


def keras_subclassed():
    import keras
    import numpy as np

    class Scorer(keras.Model):
        def __init__(self) -> None:
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x) * 2.0

    model = Scorer()
    model(np.ones([1, 3], np.float32))  # built by a call, as users do
    return model


class KerasInside(tf.Module):  # a tf.Module holding a Keras model: its variables are Keras's
    def __init__(self) -> None:
        super().__init__()
        self.model = keras_functional()

    @tf.function(input_signature=[tf.TensorSpec([None, 4], F32, name="x")])
    def __call__(self, x):
        return {"y": self.model(x)}
