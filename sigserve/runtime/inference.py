"""Classify, Regress and MultiInference over tf.Example input (TF Serving's rules).

The ``Input`` proto becomes one DT_STRING tensor of serialized tf.Examples (with
``example_list_with_context``, the context's bytes are prepended to each
example, as TF Serving does: protobuf merges them on parsing). It feeds the
signature's ``inputs`` tensor; ``classes``/``scores`` (classify) or ``outputs``
(regress) come back as ``ClassificationResult`` / ``RegressionResult``.
Error texts follow TF Serving's ``classifier.cc``, ``regressor.cc``,
``multi_inference.cc`` and ``util.cc``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sigserve import protos
from sigserve.errors import Code, ServingError, invalid_argument
from sigserve.types import CLASSIFY_METHOD, DEFAULT_SIGNATURE, REGRESS_METHOD


def serialized_examples(request_input: Any) -> np.ndarray:
    """The Input proto as a 1-D object array of serialized tf.Examples."""
    kind = request_input.WhichOneof("kind")
    if kind == "example_list":
        rows = [e.SerializeToString() for e in request_input.example_list.examples]
    elif kind == "example_list_with_context":
        with_context = request_input.example_list_with_context
        context = with_context.context.SerializeToString()
        rows = [context + e.SerializeToString() for e in with_context.examples]
    else:
        rows = []
    if not rows:
        raise invalid_argument("Input is empty.")
    array = np.empty(len(rows), dtype=object)
    array[:] = rows
    return array


def _signature(servable: Any, name: str) -> Any:
    key = name or DEFAULT_SIGNATURE
    signature = servable.signature_defs.get(key)
    if signature is None:
        raise invalid_argument(f"No signature was found with the name: {key}")
    return key, signature


def _check_method(signature: Any, method: str, what: str, check: bool) -> None:
    if check and signature.method_name != method:
        raise invalid_argument(
            f"Expected {what} signature method_name to be {method}. Was: {signature.method_name}"
        )


def _classify_outputs(signature: Any) -> list[str]:
    if len(signature.inputs) != 1:
        raise invalid_argument("Expected one input Tensor.")
    if len(signature.outputs) not in (1, 2):
        raise invalid_argument(
            f"Expected one or two output Tensors, found {len(signature.outputs)}"
        )
    if "inputs" not in signature.inputs:
        raise invalid_argument("No classification inputs found in SignatureDef: inputs")
    outputs = [key for key in ("classes", "scores") if key in signature.outputs]
    if not outputs:
        raise invalid_argument(
            'Expected classification signature outputs to contain at least one of "classes" '
            'or "scores".'
        )
    return outputs


def _regress_outputs(signature: Any) -> list[str]:
    if len(signature.inputs) != 1:
        raise invalid_argument("Expected one input Tensor.")
    if len(signature.outputs) != 1:
        raise invalid_argument("Expected one output Tensor.")
    if "inputs" not in signature.inputs:
        raise invalid_argument("No regression inputs found in SignatureDef: inputs")
    if "outputs" not in signature.outputs:
        raise invalid_argument("No regression outputs found in SignatureDef: outputs")
    return ["outputs"]


def _classification(outputs: dict[str, np.ndarray], num_examples: int) -> Any:
    result = protos.classification_pb2.ClassificationResult()
    classes, scores = outputs.get("classes"), outputs.get("scores")
    for name, tensor, dtype in (("classes", classes, "DT_STRING"), ("scores", scores, "DT_FLOAT")):
        if tensor is None:
            continue
        if tensor.ndim != 2:
            raise invalid_argument(
                f"Expected Tensor shape: [batch_size num_classes] but got {list(tensor.shape)}"
            )
        ok = tensor.dtype.kind in "OS" if dtype == "DT_STRING" else tensor.dtype == np.float32
        if not ok:
            raise invalid_argument(f"Expected {name} Tensor of {dtype}. Got: {tensor.dtype}")
        if tensor.shape[0] != num_examples:
            raise invalid_argument(
                f"Expected {name} output batch size of {num_examples}. Got: {tensor.shape[0]}"
            )
    if classes is not None and scores is not None and classes.shape[1] != scores.shape[1]:
        raise invalid_argument(
            "Tensors class and score should match in dim_size(1). "
            f"Got {classes.shape[1]} vs. {scores.shape[1]}"
        )
    num_classes = (classes if classes is not None else scores).shape[1]  # type: ignore[union-attr]
    for i in range(num_examples):
        classification = result.classifications.add()
        for c in range(num_classes):
            entry = classification.classes.add()
            if classes is not None:
                entry.label = _text(classes[i, c])
            if scores is not None:
                entry.score = float(scores[i, c])
    return result


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _regression(outputs: dict[str, np.ndarray], num_examples: int) -> Any:
    tensor = outputs["outputs"]
    if not (tensor.ndim == 1 or (tensor.ndim == 2 and tensor.shape[1] == 1)):
        raise invalid_argument(
            "Expected output Tensor shape to be either [batch_size] or [batch_size, 1] "
            f"but got {list(tensor.shape)}"
        )
    if tensor.shape[0] != num_examples:
        raise invalid_argument(
            "Input batch size did not match output batch size: "
            f"{num_examples} vs. {tensor.shape[0]}"
        )
    if tensor.dtype != np.float32:
        raise invalid_argument(f"Expected output Tensor of DT_FLOAT.  Got: {tensor.dtype}")
    result = protos.regression_pb2.RegressionResult()
    for value in tensor.reshape(-1):
        result.regressions.add().value = float(value)
    return result


def classify(servable: Any, signature_name: str, request_input: Any, *,
             check_method_name: bool = False) -> Any:  # fmt: skip
    """A ``ClassificationResult`` for the examples in ``request_input`` (blocking)."""
    key, signature = _signature(servable, signature_name)
    _check_method(signature, CLASSIFY_METHOD, "classification", check_method_name)
    wanted = _classify_outputs(signature)
    examples = serialized_examples(request_input)
    outputs = servable.run(key, {"inputs": examples}, wanted)
    return _classification(outputs, len(examples))


def regress(servable: Any, signature_name: str, request_input: Any, *,
            check_method_name: bool = False) -> Any:  # fmt: skip
    """A ``RegressionResult`` for the examples in ``request_input`` (blocking)."""
    key, signature = _signature(servable, signature_name)
    _check_method(signature, REGRESS_METHOD, "regression", check_method_name)
    wanted = _regress_outputs(signature)
    examples = serialized_examples(request_input)
    outputs = servable.run(key, {"inputs": examples}, wanted)
    return _regression(outputs, len(examples))


def multi_inference(servable: Any, request: Any, *, version: int,
                    check_method_name: bool = False) -> Any:  # fmt: skip
    """A ``MultiInferenceResponse``: every classify/regress task on the same examples."""
    model_name = ""
    seen: set[str] = set()
    plans = []
    for task in request.tasks:
        if not task.model_spec.name:
            raise invalid_argument("Found ModelSpec with an empty model name.")
        if model_name and task.model_spec.name != model_name:
            raise invalid_argument(
                "All ModelSpecs in a MultiInferenceRequest must access the same model name."
            )
        model_name = task.model_spec.name
        key = task.model_spec.signature_name or DEFAULT_SIGNATURE
        if key in seen:
            raise invalid_argument(f"Duplicate evaluation of signature: {key}")
        seen.add(key)
        signature = servable.signature_defs.get(key)
        if signature is None:
            raise invalid_argument(f"Requested signature not found in model graph: {key}")
        if task.method_name == CLASSIFY_METHOD:
            _check_method(signature, CLASSIFY_METHOD, "classification", check_method_name)
            plans.append((task, key, _classify_outputs(signature)))
        elif task.method_name == REGRESS_METHOD:
            _check_method(signature, REGRESS_METHOD, "regression", check_method_name)
            plans.append((task, key, _regress_outputs(signature)))
        else:
            raise ServingError(
                Code.UNIMPLEMENTED, f"Unsupported signature method_name: {task.method_name}"
            )
    examples = serialized_examples(request.input)
    response = protos.inference_pb2.MultiInferenceResponse()
    for task, key, wanted in plans:
        outputs = servable.run(key, {"inputs": examples}, wanted)
        result = response.results.add()
        if task.method_name == CLASSIFY_METHOD:
            result.classification_result.CopyFrom(_classification(outputs, len(examples)))
        else:
            result.regression_result.CopyFrom(_regression(outputs, len(examples)))
        result.model_spec.name = task.model_spec.name
        result.model_spec.signature_name = key
        result.model_spec.version.value = version
    return response
