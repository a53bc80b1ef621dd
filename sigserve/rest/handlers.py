"""One small function per REST action: decode, call the service, encode."""

from __future__ import annotations

from typing import Any

from sigserve.codecs import examples_json, proto_json, tf_json
from sigserve.errors import ServingError
from sigserve.rest.paths import Route
from sigserve.service import Service
from sigserve.signature_text import with_expected_inputs
from sigserve.types import DEFAULT_SIGNATURE, TensorInfo


async def predict(service: Service, route: Route, body: bytes) -> bytes:
    ref = route.ref()
    signature: dict[str, Any] = {}

    def inputs_of(name: str) -> dict[str, TensorInfo]:
        signature["inputs"] = service.signature_inputs(ref, name)
        signature["name"] = name or DEFAULT_SIGNATURE
        return signature["inputs"]

    try:
        request = tf_json.decode_predict_request(body, inputs_of)
    except ServingError as e:  # TF Serving's text, then what the signature expects
        if "inputs" not in signature:
            raise
        raise with_expected_inputs(e, signature["name"], signature["inputs"]) from None
    _, outputs = await service.predict(ref, request.signature_name, request.inputs)
    return tf_json.encode_predict_response(outputs, request.format)


async def classify(service: Service, route: Route, body: bytes) -> bytes:
    ref = route.ref()
    signature, examples = examples_json.decode_examples_request(body)
    _, result = await service.classify(ref, signature, examples)
    return examples_json.encode_classification_result(result)


async def regress(service: Service, route: Route, body: bytes) -> bytes:
    ref = route.ref()
    signature, examples = examples_json.decode_examples_request(body)
    _, result = await service.regress(ref, signature, examples)
    return examples_json.encode_regression_result(result)


async def status(service: Service, route: Route, body: bytes) -> bytes:
    ref = _named(route)
    return proto_json.encode_status(service.status(ref))


async def metadata(service: Service, route: Route, body: bytes) -> bytes:
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
