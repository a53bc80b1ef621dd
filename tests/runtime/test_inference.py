"""Classify, Regress and MultiInference on real SavedModels.

TF Serving's half_plus_two test models (TF1 and TF2 exports) give the answers
TF Serving's own tests expect; a model built here (TF1-style, so it can hold
signatures TF Serving would refuse) covers several classes, context features,
and every output TF Serving's checks reject.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sigserve import protos
from sigserve.errors import Code, ServingError
from sigserve.runtime import saved_model
from sigserve.runtime.inference import classify, multi_inference, regress
from sigserve.types import CLASSIFY_METHOD, PREDICT_METHOD, REGRESS_METHOD

TESTDATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "testdata" / "tf_serving"
HALF_PLUS_TWO = {
    "tf1": TESTDATA / "saved_model_half_plus_two_cpu" / "00000123",
    "tf2": TESTDATA / "saved_model_half_plus_two_tf2_cpu" / "00000123",
}
LABELS = [b"neg", "caf\u00e9".encode(), b""]


def _build_model(path: Path) -> None:
    """Signatures over examples with a float feature ``x`` and an optional ``bias``."""
    import tensorflow as tf

    v1 = tf.compat.v1
    with tf.Graph().as_default() as graph, v1.Session(graph=graph) as session:
        serialized = v1.placeholder(tf.string, [None], name="tf_example")
        features = v1.io.parse_example(
            serialized,
            {
                "x": tf.io.FixedLenFeature([1], tf.float32),
                "bias": tf.io.FixedLenFeature([1], tf.float32, default_value=[0.0]),
            },
        )
        x = features["x"] + features["bias"]  # [N, 1]
        n = tf.shape(x)[0]
        scores = x * tf.constant([[-1.0, 1.0, 2.0]])  # [N, 3]
        classes = tf.tile(tf.constant([LABELS]), [n, 1])  # [N, 3]
        other = v1.placeholder(tf.float32, [None], name="other")
        info = v1.saved_model.utils.build_tensor_info

        def sig(outputs: dict[str, Any], method: str = CLASSIFY_METHOD, **inputs: Any) -> Any:
            return v1.saved_model.signature_def_utils.build_signature_def(
                inputs={k: info(t) for k, t in (inputs or {"inputs": serialized}).items()},
                outputs={k: info(t) for k, t in outputs.items()},
                method_name=method,
            )

        signatures = {
            "classify": sig({"classes": classes, "scores": scores}),
            "classify_predict_method": sig({"scores": scores}, PREDICT_METHOD),
            "classes_only": sig({"classes": classes}),
            "scores_rank1": sig({"scores": tf.reshape(x, [-1])}),
            "scores_int": sig({"scores": tf.cast(scores, tf.int32)}),
            "scores_first_row": sig({"scores": scores[:1]}),
            "mismatch": sig({"classes": classes[:, :2], "scores": scores}),
            "two_inputs": sig({"scores": scores}, inputs=serialized, other=other),
            "regress": sig({"outputs": tf.reshape(x, [-1]) * 2.0}, REGRESS_METHOD),
            "serving_default": sig({"outputs": tf.reshape(x, [-1]) * 3.0}, REGRESS_METHOD),
            "regress_column": sig({"outputs": x * 2.0}, REGRESS_METHOD),
            "regress_wide": sig({"outputs": scores}, REGRESS_METHOD),
            "regress_double": sig({"outputs": tf.cast(x, tf.float64)}, REGRESS_METHOD),
            "regress_first_row": sig({"outputs": x[:1]}, REGRESS_METHOD),
            "regress_float_input": sig({"outputs": other}, REGRESS_METHOD, inputs=other),
        }
        builder = v1.saved_model.Builder(str(path))
        builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map=signatures)
        builder.save()


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("inference") / "1"
    _build_model(path)
    servable = saved_model.load(str(path))
    yield servable
    servable.unload()


@pytest.fixture(scope="module", params=sorted(HALF_PLUS_TWO))
def half_plus_two(request: pytest.FixtureRequest) -> Any:
    servable = saved_model.load(str(HALF_PLUS_TWO[request.param]))
    yield servable
    servable.unload()


def examples(*rows: dict[str, float], context: dict[str, float] | None = None) -> Any:
    request_input = protos.input_pb2.Input()
    if context is None:
        target = request_input.example_list.examples
    else:
        with_context = request_input.example_list_with_context
        for name, value in context.items():
            with_context.context.features.feature[name].float_list.value.append(value)
        target = with_context.examples
    for row in rows:
        example = target.add()
        for name, value in row.items():
            example.features.feature[name].float_list.value.append(value)
    return request_input


def error_of(call: Any, *args: Any, **kwargs: Any) -> ServingError:
    with pytest.raises(ServingError) as error:
        call(*args, **kwargs)
    return error.value


def task(signature: str, method: str, model_name: str = "m") -> Any:
    entry = protos.inference_pb2.InferenceTask(method_name=method)
    entry.model_spec.name = model_name
    entry.model_spec.signature_name = signature
    return entry


def multi_request(*tasks: Any, request_input: Any = None) -> Any:
    request = protos.inference_pb2.MultiInferenceRequest()
    request.tasks.extend(tasks)
    request.input.CopyFrom(request_input if request_input is not None else examples({"x": 2.0}))
    return request


# --- TF Serving's half_plus_two (TF1 and TF2 exports) -----------------------------------------


def test_half_plus_two_classify(half_plus_two: Any) -> None:
    result = classify(half_plus_two, "classify_x_to_y", examples({"x": 2.0}))
    (classification,) = result.classifications
    assert [(c.label, c.score) for c in classification.classes] == [("", 3.0)]


def test_half_plus_two_regress(half_plus_two: Any) -> None:
    result = regress(half_plus_two, "regress_x_to_y", examples({"x": 2.0}, {"x": 10.0}))
    assert [r.value for r in result.regressions] == [3.0, 7.0]


def test_half_plus_two_multi_inference(half_plus_two: Any) -> None:
    request = multi_request(
        task("regress_x_to_y", REGRESS_METHOD, "default"),
        task("classify_x_to_y", CLASSIFY_METHOD, "default"),
    )
    response = multi_inference(half_plus_two, request, version=123)
    regression, classification = response.results
    assert regression.regression_result.regressions[0].value == 3.0
    assert classification.classification_result.classifications[0].classes[0].score == 3.0
    assert [
        (r.model_spec.name, r.model_spec.signature_name, r.model_spec.version.value)
        for r in response.results
    ] == [("default", "regress_x_to_y", 123), ("default", "classify_x_to_y", 123)]


def test_half_plus_two_method_check(half_plus_two: Any) -> None:
    """TF1 signatures say classify/regress and pass the check; TF2 ones say predict."""
    method = half_plus_two.signature_defs["classify_x_to_y"].method_name
    if method == CLASSIFY_METHOD:
        result = classify(
            half_plus_two, "classify_x_to_y", examples({"x": 2.0}), check_method_name=True
        )
        assert result.classifications[0].classes[0].score == 3.0
    else:
        error = error_of(
            regress, half_plus_two, "regress_x_to_y", examples({"x": 2.0}), check_method_name=True
        )
        assert error.code == Code.INVALID_ARGUMENT
        assert error.message == (
            "Expected regression signature method_name to be tensorflow/serving/regress. "
            f"Was: {PREDICT_METHOD}"
        )


def test_serving_default_is_not_a_classify_signature(half_plus_two: Any) -> None:
    """'' means serving_default, which takes ``x``, not examples: TF Serving's text."""
    error = error_of(classify, half_plus_two, "", examples({"x": 2.0}))
    assert error.code == Code.INVALID_ARGUMENT
    assert error.message.startswith("No classification inputs found in SignatureDef: inputs {")


# --- classification -----------------------------------------------------------------------------


def test_classify_several_classes_with_labels(model: Any) -> None:
    result = classify(model, "classify", examples({"x": 1.0}, {"x": 2.5}))
    labels = [label.decode() for label in LABELS]
    assert [[(c.label, c.score) for c in r.classes] for r in result.classifications] == [
        list(zip(labels, [-1.0, 1.0, 2.0], strict=True)),
        list(zip(labels, [-2.5, 2.5, 5.0], strict=True)),
    ]


def test_classes_only(model: Any) -> None:
    result = classify(model, "classes_only", examples({"x": 1.0}))
    assert [(c.label, c.score) for c in result.classifications[0].classes] == [
        ("neg", 0.0), ("caf\u00e9", 0.0), ("", 0.0),
    ]  # fmt: skip


def test_context_features_reach_every_example(model: Any) -> None:
    request_input = examples({"x": 1.0}, {"x": 2.0, "bias": 100.0}, context={"bias": 10.0})
    result = regress(model, "regress", request_input)
    assert [r.value for r in result.regressions] == [22.0, 204.0]


def test_predict_method_signature_classifies_unless_checked(model: Any) -> None:
    result = classify(model, "classify_predict_method", examples({"x": 2.0}))
    assert [c.score for c in result.classifications[0].classes] == [-2.0, 2.0, 4.0]
    error = error_of(
        classify, model, "classify_predict_method", examples({"x": 2.0}), check_method_name=True
    )
    assert (error.code, error.message) == (
        Code.INVALID_ARGUMENT,
        "Expected classification signature method_name to be tensorflow/serving/classify. "
        "Was: tensorflow/serving/predict",
    )


@pytest.mark.parametrize("call", [classify, regress])
def test_unknown_signature(model: Any, call: Any) -> None:
    error = error_of(call, model, "nope", examples({"x": 1.0}))
    assert (error.code, error.message) == (
        Code.INVALID_ARGUMENT,
        "No signature was found with the name: nope",
    )


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        ("scores_rank1", "Expected Tensor shape: [batch_size num_classes] but got [2]"),
        ("scores_int", "Expected scores Tensor of DT_FLOAT. Got: DT_INT32"),
        ("scores_first_row", "Expected scores output batch size of 2. Got: 1"),
        ("mismatch", "Tensors class and score should match in dim_size(1). Got 2 vs. 3"),
        ("two_inputs", "Expected one input Tensor."),
    ],
)
def test_classify_rejects_bad_signatures(model: Any, signature: str, message: str) -> None:
    error = error_of(classify, model, signature, examples({"x": 1.0}, {"x": 2.0}))
    assert (error.code, error.message) == (Code.INVALID_ARGUMENT, message)


def test_signature_is_checked_before_the_input(model: Any) -> None:
    empty = protos.input_pb2.Input()
    assert error_of(classify, model, "two_inputs", empty).message == "Expected one input Tensor."
    assert error_of(classify, model, "classify", empty).message == "Input is empty."


def test_example_without_required_feature_is_invalid_argument(model: Any) -> None:
    error = error_of(classify, model, "classify", examples({"bias": 1.0}))
    assert error.code == Code.INVALID_ARGUMENT
    assert "Feature: x (data type: float) is required but could not be found." in error.message


def test_examples_of_the_wrong_type_are_invalid_argument(model: Any) -> None:
    request_input = protos.input_pb2.Input()
    request_input.example_list.examples.add().features.feature["x"].bytes_list.value.append(b"a")
    error = error_of(regress, model, "regress", request_input)
    assert error.code == Code.INVALID_ARGUMENT
    assert "Data types don't match. Data type: string but expected type: float" in error.message


# --- regression ---------------------------------------------------------------------------------


@pytest.mark.parametrize("signature", ["regress", "regress_column"])
def test_regress_batch_and_column_shapes(model: Any, signature: str) -> None:
    result = regress(model, signature, examples({"x": 1.5}, {"x": -4.0}, {"x": 0.1}))
    assert [r.value for r in result.regressions] == pytest.approx([3.0, -8.0, 0.2])


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        ("regress_wide", "Expected output Tensor shape to be either [batch_size] or "
         "[batch_size, 1] but got [2,3]"),
        ("regress_double", "Expected output Tensor of DT_FLOAT.  Got: DT_DOUBLE"),
        ("regress_first_row", "Input batch size did not match output batch size: 2 vs. 1"),
        ("classify", "Expected one output Tensor."),
        ("classes_only", "No regression outputs found in SignatureDef: inputs {"),
    ],
)  # fmt: skip
def test_regress_rejects_bad_signatures(model: Any, signature: str, message: str) -> None:
    error = error_of(regress, model, signature, examples({"x": 1.0}, {"x": 2.0}))
    assert error.code == Code.INVALID_ARGUMENT
    assert error.message.startswith(message)


def test_regress_signature_whose_input_is_not_examples(model: Any) -> None:
    error = error_of(regress, model, "regress_float_input", examples({"x": 1.0}))
    assert error.code == Code.INVALID_ARGUMENT
    assert error.message.startswith("Expects arg[0] to be float but string is provided")


# --- multi-inference ----------------------------------------------------------------------------


def test_multi_inference_classify_and_regress_on_the_same_examples(model: Any) -> None:
    request = multi_request(
        task("classify", CLASSIFY_METHOD),
        task("regress", REGRESS_METHOD),
        request_input=examples({"x": 1.0}, {"x": 3.0}),
    )
    response = multi_inference(model, request, version=7)
    classification, regression = response.results
    scores = [
        [c.score for c in r.classes] for r in classification.classification_result.classifications
    ]
    assert scores == [[-1.0, 1.0, 2.0], [-3.0, 3.0, 6.0]]
    assert [r.value for r in regression.regression_result.regressions] == [2.0, 6.0]
    assert not classification.HasField("regression_result")
    assert [r.model_spec.version.value for r in response.results] == [7, 7]


def test_empty_signature_name_is_serving_default(model: Any) -> None:
    assert regress(model, "", examples({"x": 2.0})).regressions[0].value == 6.0
    request = multi_request(task("", REGRESS_METHOD), task("regress", REGRESS_METHOD))
    response = multi_inference(model, request, version=3)
    assert [r.model_spec.signature_name for r in response.results] == [
        "serving_default",
        "regress",
    ]
    assert [r.regression_result.regressions[0].value for r in response.results] == [6.0, 4.0]


def test_multi_inference_on_a_default_signature_that_cannot_regress(half_plus_two: Any) -> None:
    """An empty signature name resolves to serving_default (which cannot regress)."""
    request = multi_request(task("", REGRESS_METHOD))
    error = error_of(multi_inference, half_plus_two, request, version=1)
    assert error.code == Code.INVALID_ARGUMENT
    assert error.message.startswith("No regression inputs found in SignatureDef: inputs {")
    assert 'key: "x"' in error.message


@pytest.mark.parametrize(
    ("tasks", "code", "message"),
    [
        ([task("classify", CLASSIFY_METHOD, "")], Code.INVALID_ARGUMENT,
         "Found ModelSpec with an empty model name."),
        ([task("classify", CLASSIFY_METHOD), task("regress", REGRESS_METHOD, "other")],
         Code.INVALID_ARGUMENT,
         "All ModelSpecs in a MultiInferenceRequest must access the same model name."),
        ([task("classify", CLASSIFY_METHOD), task("classify", REGRESS_METHOD)],
         Code.INVALID_ARGUMENT, "Duplicate evaluation of signature: classify"),
        ([task("", CLASSIFY_METHOD), task("serving_default", REGRESS_METHOD)],
         Code.INVALID_ARGUMENT, "Duplicate evaluation of signature: serving_default"),
        ([task("nope", CLASSIFY_METHOD)], Code.INVALID_ARGUMENT,
         "Requested signature not found in model graph: nope"),
        ([task("classify", PREDICT_METHOD)], Code.UNIMPLEMENTED,
         "Unsupported signature method_name: tensorflow/serving/predict"),
        ([task("classify", REGRESS_METHOD)], Code.INVALID_ARGUMENT,
         "Expected one output Tensor."),
        ([task("regress_wide", REGRESS_METHOD)], Code.INVALID_ARGUMENT,
         "Expected output Tensor shape to be either [batch_size] or [batch_size, 1] "
         "but got [1,3]"),
    ],
)  # fmt: skip
def test_multi_inference_errors(model: Any, tasks: list[Any], code: Code, message: str) -> None:
    error = error_of(multi_inference, model, multi_request(*tasks), version=1)
    assert (error.code, error.message) == (code, message)


def test_multi_inference_checks_tasks_before_the_input(model: Any) -> None:
    empty = protos.input_pb2.Input()
    bad = multi_request(task("nope", CLASSIFY_METHOD), request_input=empty)
    assert error_of(multi_inference, model, bad, version=1).message.startswith("Requested")
    good = multi_request(task("classify", CLASSIFY_METHOD), request_input=empty)
    assert error_of(multi_inference, model, good, version=1).message == "Input is empty."


def test_multi_inference_method_check(model: Any) -> None:
    request = multi_request(task("classify_predict_method", CLASSIFY_METHOD))
    response = multi_inference(model, request, version=1)
    assert len(response.results[0].classification_result.classifications) == 1
    error = error_of(multi_inference, model, request, version=1, check_method_name=True)
    assert error.code == Code.INVALID_ARGUMENT
    assert error.message.startswith("Expected classification signature method_name")


# --- multi-inference runs the session once ------------------------------------------------------


def _build_counting_model(path: Path) -> None:
    """Classify and regress signatures whose outputs each add 1 to a counter when run; a
    third signature reads the counter."""
    import tensorflow as tf

    v1 = tf.compat.v1
    with tf.Graph().as_default() as graph, v1.Session(graph=graph) as session:
        serialized = v1.placeholder(tf.string, [None], name="tf_example")
        x = v1.io.parse_example(serialized, {"x": tf.io.FixedLenFeature([1], tf.float32)})["x"]
        runs = v1.Variable(0.0, use_resource=True, name="runs")
        bump = runs.assign_add(1.0)
        with tf.control_dependencies([bump]):
            scores = tf.identity(x * tf.constant([[1.0, 2.0]]))
            values = tf.identity(tf.reshape(x, [-1]) * 10.0)
        count = tf.reshape(runs.read_value(), [1]) + 0.0 * tf.reshape(x, [-1])[:1]
        session.run(v1.global_variables_initializer())
        info = v1.saved_model.utils.build_tensor_info
        build = v1.saved_model.signature_def_utils.build_signature_def
        signatures = {
            "classify": build({"inputs": info(serialized)}, {"scores": info(scores)},
                              CLASSIFY_METHOD),
            "regress": build({"inputs": info(serialized)}, {"outputs": info(values)},
                             REGRESS_METHOD),
            "count": build({"inputs": info(serialized)}, {"outputs": info(count)},
                           REGRESS_METHOD),
        }  # fmt: skip
        builder = v1.saved_model.Builder(str(path))
        builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map=signatures)
        builder.save()


@pytest.fixture(scope="module")
def counting(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("counting") / "1"
    _build_counting_model(path)
    servable = saved_model.load(str(path))
    yield servable
    servable.unload()


def runs_so_far(servable: Any) -> float:
    return regress(servable, "count", examples({"x": 0.0})).regressions[0].value


def test_multi_inference_runs_the_session_once_for_all_tasks(counting: Any) -> None:
    before = runs_so_far(counting)
    request = multi_request(
        task("classify", CLASSIFY_METHOD),
        task("regress", REGRESS_METHOD),
        request_input=examples({"x": 1.0}, {"x": 2.0}),
    )
    response = multi_inference(counting, request, version=1)
    assert runs_so_far(counting) == before + 1  # one run fed both tasks (two before the fix)
    classification, regression = response.results
    scores = [
        [c.score for c in r.classes] for r in classification.classification_result.classifications
    ]
    assert scores == [[1.0, 2.0], [2.0, 4.0]]
    assert [r.value for r in regression.regression_result.regressions] == [10.0, 20.0]


def test_multi_inference_run_error_reads_as_the_signature_s(model: Any) -> None:
    request = multi_request(
        task("classify", CLASSIFY_METHOD), task("regress", REGRESS_METHOD),
        request_input=examples({"bias": 1.0}),
    )  # fmt: skip
    error = error_of(multi_inference, model, request, version=1)
    assert error.code == Code.INVALID_ARGUMENT
    assert "x" in error.message and "[[" not in error.message
