"""Classification signatures and results: TF Serving's rules, on plain numpy."""

from __future__ import annotations

import numpy as np
import pytest

from sigserve import protos
from sigserve.errors import Code, ServingError
from sigserve.runtime.classify import classification_outputs, classification_result
from sigserve.types import CLASSIFY_METHOD, PREDICT_METHOD


def signature(inputs: tuple[str, ...] = ("inputs",), outputs: tuple[str, ...] = ("scores",),
              method: str = CLASSIFY_METHOD) -> object:  # fmt: skip
    sig = protos.meta_graph_pb2.SignatureDef(method_name=method)
    for key in inputs:
        sig.inputs[key].name = f"{key}:0"
    for key in outputs:
        sig.outputs[key].name = f"{key}:0"
    return sig


def error_of(call: object, *args: object, **kwargs: object) -> ServingError:
    with pytest.raises(ServingError) as error:
        call(*args, **kwargs)  # type: ignore[operator]
    return error.value


def strings(rows: list[list[bytes]]) -> np.ndarray:
    array = np.empty((len(rows), len(rows[0]) if rows else 0), dtype=object)
    for i, row in enumerate(rows):
        array[i, :] = row
    return array


@pytest.mark.parametrize(
    ("outputs", "wanted"),
    [(("scores",), ["scores"]), (("classes",), ["classes"]),
     (("scores", "classes"), ["classes", "scores"]), (("classes", "other"), ["classes"])],
)  # fmt: skip
def test_outputs_to_fetch(outputs: tuple[str, ...], wanted: list[str]) -> None:
    assert classification_outputs(signature(outputs=outputs)) == wanted


def test_method_name_is_ignored_unless_checked() -> None:
    sig = signature(method=PREDICT_METHOD)
    assert classification_outputs(sig) == ["scores"]
    error = error_of(classification_outputs, sig, check_method_name=True)
    assert error.code == Code.INVALID_ARGUMENT
    assert error.message == (
        "Expected classification signature method_name to be tensorflow/serving/classify. "
        "Was: tensorflow/serving/predict"
    )
    assert classification_outputs(signature(), check_method_name=True) == ["scores"]


def test_signature_shape_errors() -> None:
    two_inputs = signature(inputs=("inputs", "more"))
    assert error_of(classification_outputs, two_inputs).message == "Expected one input Tensor."
    three = signature(outputs=("classes", "scores", "extra"))
    assert error_of(classification_outputs, three).message == (
        "Expected one or two output Tensors, found 3"
    )
    none = signature(outputs=())
    assert error_of(classification_outputs, none).message == (
        "Expected one or two output Tensors, found 0"
    )


def test_missing_inputs_key_quotes_the_signature() -> None:
    sig = signature(inputs=("examples",))
    error = error_of(classification_outputs, sig)
    assert error.code == Code.INVALID_ARGUMENT
    assert error.message.startswith(
        'No classification inputs found in SignatureDef: inputs {\n  key: "examples"\n'
    )
    assert 'method_name: "tensorflow/serving/classify"' in error.message


def test_missing_classes_and_scores() -> None:
    error = error_of(classification_outputs, signature(outputs=("probabilities",)))
    assert error.message.startswith(
        'Expected classification signature outputs to contain at least one of "classes" or '
        '"scores". Signature was: inputs {'
    )


def test_result_with_classes_and_scores() -> None:
    classes = strings([[b"a", b"b"], ["é".encode(), b""]])
    scores = np.array([[0.25, 0.75], [1e-30, 3.4e38]], np.float32)
    result = classification_result({"classes": classes, "scores": scores}, 2)
    got = [[(c.label, c.score) for c in r.classes] for r in result.classifications]
    assert got == [
        [("a", 0.25), ("b", 0.75)],
        [("é", float(np.float32(1e-30))), ("", float(np.float32(3.4e38)))],
    ]


def test_result_with_scores_only_or_classes_only() -> None:
    result = classification_result({"scores": np.array([[3.0]], np.float32)}, 1)
    (entry,) = result.classifications[0].classes
    assert (entry.label, entry.score) == ("", 3.0)
    result = classification_result({"classes": strings([[b"x", b"y"]])}, 1)
    assert [(c.label, c.score) for c in result.classifications[0].classes] == [("x", 0), ("y", 0)]


def test_zero_classes_gives_empty_classifications() -> None:
    result = classification_result({"scores": np.zeros((2, 0), np.float32)}, 2)
    assert [len(r.classes) for r in result.classifications] == [0, 0]


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        ({"scores": np.zeros(2, np.float32)},
         "Expected Tensor shape: [batch_size num_classes] but got [2]"),
        ({"classes": strings([[b"a"]]).reshape(1, 1, 1)},
         "Expected Tensor shape: [batch_size num_classes] but got [1,1,1]"),
        ({"scores": np.zeros((2, 3), np.float64)},
         "Expected scores Tensor of DT_FLOAT. Got: DT_DOUBLE"),
        ({"classes": np.zeros((2, 3), np.int32)},
         "Expected classes Tensor of DT_STRING. Got: DT_INT32"),
        ({"scores": np.zeros((1, 3), np.float32)},
         "Expected scores output batch size of 2. Got: 1"),
        ({"classes": strings([[b"a"]] * 3)}, "Expected classes output batch size of 2. Got: 3"),
        ({"classes": strings([[b"a", b"b"]] * 2), "scores": np.zeros((2, 3), np.float32)},
         "Tensors class and score should match in dim_size(1). Got 2 vs. 3"),
    ],
)  # fmt: skip
def test_result_errors(outputs: dict[str, np.ndarray], message: str) -> None:
    error = error_of(classification_result, outputs, 2)
    assert (error.code, error.message) == (Code.INVALID_ARGUMENT, message)


def test_label_that_is_not_utf8_is_an_error_not_altered() -> None:
    error = error_of(classification_result, {"classes": strings([[b"\xff"]])}, 1)
    assert error.code == Code.INTERNAL
    assert "\\xff" in error.message
