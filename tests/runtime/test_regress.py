"""Regression signatures and results: TF Serving's rules, on plain numpy."""

from __future__ import annotations

import numpy as np
import pytest

from sigserve import protos
from sigserve.errors import Code, ServingError
from sigserve.runtime.regress import regression_outputs, regression_result
from sigserve.types import PREDICT_METHOD, REGRESS_METHOD


def signature(inputs: tuple[str, ...] = ("inputs",), outputs: tuple[str, ...] = ("outputs",),
              method: str = REGRESS_METHOD) -> object:  # fmt: skip
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


def test_outputs_to_fetch_and_method_check() -> None:
    assert regression_outputs(signature()) == ["outputs"]
    assert regression_outputs(signature(method=PREDICT_METHOD)) == ["outputs"]
    error = error_of(regression_outputs, signature(method=PREDICT_METHOD), check_method_name=True)
    assert (error.code, error.message) == (
        Code.INVALID_ARGUMENT,
        "Expected regression signature method_name to be tensorflow/serving/regress. "
        "Was: tensorflow/serving/predict",
    )


def test_signature_errors() -> None:
    assert error_of(regression_outputs, signature(inputs=("inputs", "b"))).message == (
        "Expected one input Tensor."
    )
    assert error_of(regression_outputs, signature(outputs=("outputs", "b"))).message == (
        "Expected one output Tensor."
    )
    missing_in = error_of(regression_outputs, signature(inputs=("x",)))
    assert missing_in.message.startswith("No regression inputs found in SignatureDef: inputs {\n")
    missing_out = error_of(regression_outputs, signature(outputs=("y",)))
    assert missing_out.message.startswith("No regression outputs found in SignatureDef: inputs {")
    assert 'key: "y"' in missing_out.message


@pytest.mark.parametrize("shape", [(3,), (3, 1)])
def test_result_one_value_per_example(shape: tuple[int, ...]) -> None:
    values = np.array([3.0, -0.1, 1e38], np.float32).reshape(shape)
    result = regression_result({"outputs": values}, 3)
    assert [r.value for r in result.regressions] == [float(v) for v in values.reshape(-1)]


@pytest.mark.parametrize(
    ("tensor", "message"),
    [
        (np.zeros((2, 2), np.float32), "Expected output Tensor shape to be either [batch_size] "
         "or [batch_size, 1] but got [2,2]"),
        (np.float32(1.0).reshape(()), "Expected output Tensor shape to be either [batch_size] "
         "or [batch_size, 1] but got []"),
        (np.zeros(3, np.float32), "Input batch size did not match output batch size: 2 vs. 3"),
        (np.zeros((2, 1), np.float64), "Expected output Tensor of DT_FLOAT.  Got: DT_DOUBLE"),
        (np.zeros(2, np.int64), "Expected output Tensor of DT_FLOAT.  Got: DT_INT64"),
    ],
)  # fmt: skip
def test_result_errors(tensor: np.ndarray, message: str) -> None:
    error = error_of(regression_result, {"outputs": tensor}, 2)
    assert (error.code, error.message) == (Code.INVALID_ARGUMENT, message)
