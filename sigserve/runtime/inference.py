"""Classify, Regress and MultiInference on a loaded servable (blocking calls).

The request's ``Input`` becomes one DT_STRING tensor of serialized tf.Examples
(:mod:`sigserve.runtime.examples`) fed to the signature's ``inputs``; the
fetched outputs become a ``ClassificationResult`` (:mod:`.classify`) or a
``RegressionResult`` (:mod:`.regress`). The order of checks and every message
follow TF Serving's ``classifier.cc``, ``regressor.cc`` and
``multi_inference.cc``: the signature must exist (INVALID_ARGUMENT, not
Predict's FAILED_PRECONDITION), its method name is checked only with
``--enable_signature_method_name_check`` (``check_method_name``; off by
default, so TF2 exports whose signatures say ``tensorflow/serving/predict``
still classify and regress), then its inputs/outputs, then the input examples.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sigserve import protos
from sigserve.errors import invalid_argument, unimplemented
from sigserve.runtime.classify import INPUTS, classification_outputs, classification_result
from sigserve.runtime.examples import serialized_examples
from sigserve.runtime.regress import regression_outputs, regression_result
from sigserve.types import CLASSIFY_METHOD, DEFAULT_SIGNATURE, REGRESS_METHOD

if TYPE_CHECKING:
    from tensorflow.core.protobuf import meta_graph_pb2
    from tensorflow_serving.apis import (
        classification_pb2,
        inference_pb2,
        input_pb2,
        regression_pb2,
    )


def classify(
    servable: Any,
    signature_name: str,
    input: input_pb2.Input,
    *,
    check_method_name: bool = False,
) -> classification_pb2.ClassificationResult:
    """Classify the examples in ``input`` with signature ``signature_name``."""
    return _on_examples(servable, signature_name, input, check_method_name,
                        classification_outputs, classification_result)  # fmt: skip


def regress(
    servable: Any,
    signature_name: str,
    input: input_pb2.Input,
    *,
    check_method_name: bool = False,
) -> regression_pb2.RegressionResult:
    """Regress the examples in ``input`` with signature ``signature_name``."""
    return _on_examples(servable, signature_name, input, check_method_name,
                        regression_outputs, regression_result)  # fmt: skip


def _on_examples(
    servable: Any,
    signature_name: str,
    input: input_pb2.Input,
    check_method_name: bool,
    outputs_of: Any,
    result_of: Any,
) -> Any:
    """Check the signature, run it on the serialized examples, build the result."""
    key, signature = _example_signature(servable, signature_name)
    wanted = outputs_of(signature, check_method_name=check_method_name)
    examples = serialized_examples(input)
    outputs = servable.run(key, {INPUTS: examples}, wanted)
    return result_of(outputs, len(examples))


def multi_inference(
    servable: Any,
    request: inference_pb2.MultiInferenceRequest,
    *,
    version: int,
    check_method_name: bool = False,
) -> inference_pb2.MultiInferenceResponse:
    """Every task (classify or regress, one model, distinct signatures) on the same
    examples; one result per task, in order, with its ``model_spec`` filled in
    (name, signature name with '' as ``serving_default``, and ``version``).

    As TF Serving's ``RunMultiInference``, the session runs once, fetching the union of
    the tasks' outputs; each result is then built from its own outputs. TF Serving
    refuses signatures that read the examples from different graph tensors ("Input
    tensor must be the same for all Signatures."), which every TF2 export does (one
    placeholder per signature); sigserve feeds the same examples to each of them in
    that one run instead."""
    plans = [_plan(servable, task, check_method_name) for task in _checked_tasks(request)]
    input_tensors = {servable.signature_defs[plan[1]].inputs[INPUTS].name for plan in plans}
    examples = serialized_examples(request.input)
    tensor_of = {
        (key, alias): servable.signature_defs[key].outputs[alias].name
        for _, key, wanted, _ in plans
        for alias in wanted
    }
    fetched = servable.run_tensors(
        dict.fromkeys(input_tensors, examples),
        sorted(set(tensor_of.values())),
        errors_as=plans[0][1],
    )
    response = protos.inference_pb2.MultiInferenceResponse()
    for task, key, wanted, to_result in plans:
        outputs = {alias: fetched[tensor_of[key, alias]] for alias in wanted}
        result = response.results.add()
        if task.method_name == CLASSIFY_METHOD:
            result.classification_result.CopyFrom(to_result(outputs, len(examples)))
        else:
            result.regression_result.CopyFrom(to_result(outputs, len(examples)))
        result.model_spec.name = task.model_spec.name
        result.model_spec.signature_name = key
        result.model_spec.version.value = version
    return response


def _example_signature(
    servable: Any, signature_name: str
) -> tuple[str, meta_graph_pb2.SignatureDef]:
    key = signature_name or DEFAULT_SIGNATURE
    signature = servable.signature_defs.get(key)
    if signature is None:
        raise invalid_argument(f"No signature was found with the name: {key}")
    return key, signature


def _checked_tasks(request: inference_pb2.MultiInferenceRequest) -> list[Any]:
    """The tasks, once they name one model and distinct signatures."""
    model_name = ""
    seen: set[str] = set()
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
    return list(request.tasks)


def _plan(
    servable: Any, task: Any, check_method_name: bool
) -> tuple[Any, str, list[str], Callable[..., Any]]:
    key = task.model_spec.signature_name or DEFAULT_SIGNATURE
    signature = servable.signature_defs.get(key)
    if signature is None:
        raise invalid_argument(f"Requested signature not found in model graph: {key}")
    if task.method_name == CLASSIFY_METHOD:
        wanted = classification_outputs(signature, check_method_name=check_method_name)
        return task, key, wanted, classification_result
    if task.method_name == REGRESS_METHOD:
        wanted = regression_outputs(signature, check_method_name=check_method_name)
        return task, key, wanted, regression_result
    raise unimplemented(f"Unsupported signature method_name: {task.method_name}")
