"""One small function per REST action: decode, call the service, encode.

Decoding and encoding go through ``offload`` (:mod:`sigserve.rest.offload`):
large bodies are handled off the event loop. Decoding runs with the cyclic
garbage collector paused (:data:`sigserve.heap.paused`): a parsed body is
many acyclic lists, and walking them again and again while they are built cost
more than the parse itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from sigserve import heap
from sigserve.codecs import examples_json, proto_json, tf_json
from sigserve.errors import ServingError
from sigserve.rest.offload import Offload
from sigserve.rest.paths import Route
from sigserve.service import HeldVersion, Service
from sigserve.signature_text import with_expected_inputs
from sigserve.types import DEFAULT_SIGNATURE, TensorInfo


async def predict(service: Service, route: Route, body: bytes, offload: Offload) -> bytes:
    with service.hold(route.ref()) as model:  # decode and run on one version
        request = await offload(_decode_predict, model, body, size=len(body))
        _, outputs = await model.predict(request.signature_name, request.inputs)
    return await offload(
        tf_json.encode_predict_response, outputs, request.format, size=_json_size(outputs)
    )


def _decode_predict(model: HeldVersion, body: bytes) -> tf_json.PredictRequest:
    signature: dict[str, Any] = {}

    def inputs_of(name: str) -> dict[str, TensorInfo]:
        signature["inputs"] = model.signature_inputs(name)
        signature["name"] = name or DEFAULT_SIGNATURE
        return signature["inputs"]

    try:
        with heap.paused:
            return tf_json.decode_predict_request(body, inputs_of)
    except ServingError as e:  # TF Serving's text, then what the signature expects
        if "inputs" not in signature:
            raise
        raise with_expected_inputs(e, signature["name"], signature["inputs"]) from None


def _json_size(outputs: Mapping[str, np.ndarray]) -> int:
    """About how many bytes of JSON the outputs make (numbers take ~10 characters)."""
    return sum(10 * np.size(array) for array in outputs.values())


async def classify(service: Service, route: Route, body: bytes, offload: Offload) -> bytes:
    ref = route.ref()
    signature, examples = await offload(_decode_examples, body, size=len(body))
    _, result = await service.classify(ref, signature, examples)
    return examples_json.encode_classification_result(result)


async def regress(service: Service, route: Route, body: bytes, offload: Offload) -> bytes:
    ref = route.ref()
    signature, examples = await offload(_decode_examples, body, size=len(body))
    _, result = await service.regress(ref, signature, examples)
    return examples_json.encode_regression_result(result)


def _decode_examples(body: bytes) -> tuple[str, Any]:
    with heap.paused:
        return examples_json.decode_examples_request(body)


async def status(service: Service, route: Route, body: bytes, offload: Offload) -> bytes:
    ref = _named(route)
    return proto_json.encode_status(service.status(ref))


async def metadata(service: Service, route: Route, body: bytes, offload: Offload) -> bytes:
    ref = _named(route)
    spec, signature_defs = service.metadata(ref)
    return proto_json.encode_metadata(spec.name, spec.version, signature_defs)


def _named(route: Route):
    ref = route.ref()
    if not ref.name:
        from sigserve.errors import invalid_argument

        raise invalid_argument("Missing model name in request.")
    return ref


HANDLERS = {
    "predict": predict,
    "classify": classify,
    "regress": regress,
    "status": status,
    "metadata": metadata,
}
