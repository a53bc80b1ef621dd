"""TF Serving's and TensorFlow's protobuf modules, without loading TensorFlow.

The ``tensorflow-serving-api`` message modules import
``tensorflow.core.framework.*_pb2``, and a plain import of those runs
``tensorflow/__init__.py`` (seconds, and gigabytes of runtime). The generated
``_pb2`` files themselves only need protobuf. When TensorFlow is not loaded yet,
this module imports them with a placeholder ``tensorflow`` package that only
knows its path, then takes the placeholder away again, so a later
``import tensorflow`` is the real one and finds the same message classes.

Use: ``from sigserve import protos; protos.predict_pb2.PredictRequest()``.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from typing import Any

_MODULES = {
    "predict_pb2": "tensorflow_serving.apis.predict_pb2",
    "classification_pb2": "tensorflow_serving.apis.classification_pb2",
    "regression_pb2": "tensorflow_serving.apis.regression_pb2",
    "inference_pb2": "tensorflow_serving.apis.inference_pb2",
    "input_pb2": "tensorflow_serving.apis.input_pb2",
    "model_pb2": "tensorflow_serving.apis.model_pb2",
    "get_model_metadata_pb2": "tensorflow_serving.apis.get_model_metadata_pb2",
    "get_model_status_pb2": "tensorflow_serving.apis.get_model_status_pb2",
    "model_management_pb2": "tensorflow_serving.apis.model_management_pb2",
    "prediction_log_pb2": "tensorflow_serving.apis.prediction_log_pb2",
    "prediction_service_pb2_grpc": "tensorflow_serving.apis.prediction_service_pb2_grpc",
    "model_service_pb2_grpc": "tensorflow_serving.apis.model_service_pb2_grpc",
    "model_server_config_pb2": "tensorflow_serving.config.model_server_config_pb2",
    "tensor_pb2": "tensorflow.core.framework.tensor_pb2",
    "tensor_shape_pb2": "tensorflow.core.framework.tensor_shape_pb2",
    "types_pb2": "tensorflow.core.framework.types_pb2",
    "example_pb2": "tensorflow.core.example.example_pb2",
    "feature_pb2": "tensorflow.core.example.feature_pb2",
    "meta_graph_pb2": "tensorflow.core.protobuf.meta_graph_pb2",
    "saved_model_pb2": "tensorflow.core.protobuf.saved_model_pb2",
}

_lock = threading.Lock()


def _import(name: str) -> types.ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    with _lock:
        if "tensorflow" in sys.modules:
            return importlib.import_module(name)
        spec = importlib.util.find_spec("tensorflow")
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("TensorFlow's protobuf modules are not installed")
        placeholder = types.ModuleType("tensorflow")
        placeholder.__path__ = list(spec.submodule_search_locations)
        placeholder.__spec__ = spec
        sys.modules["tensorflow"] = placeholder
        try:
            return importlib.import_module(name)
        finally:
            if sys.modules.get("tensorflow") is placeholder:
                del sys.modules["tensorflow"]


def parse_text(text: str, message: Any, source: str = "<string>") -> Any:
    """Parse a text-format proto into ``message``, with TF Serving's wording on failure
    (INVALID_ARGUMENT naming the message type and ``source``)."""
    from google.protobuf import text_format

    from sigserve.errors import invalid_argument

    try:
        text_format.Parse(text, message)
    except text_format.ParseError as e:
        problem = str(e).rstrip(".")
        raise invalid_argument(
            f"Error parsing text-format {message.DESCRIPTOR.full_name}: {problem}. "
            f"Invalid protobuf file: '{source}'"
        ) from None
    return message


def __getattr__(attr: str) -> Any:
    try:
        name = _MODULES[attr]
    except KeyError:
        raise AttributeError(f"module 'sigserve.protos' has no attribute {attr!r}") from None
    module = _import(name)
    globals()[attr] = module
    return module


# Scalar field types for :func:`declare_messages`; any other type names a message.
_SCALARS = {"string": 9, "bool": 8, "int64": 3}  # FieldDescriptorProto.Type values


def declare_messages(
    file_name: str, messages: dict[str, list[tuple[str, int, str, bool]]]
) -> dict[str, Any]:
    """Message classes for TF Serving protos that ``tensorflow-serving-api`` does not
    ship, declared from their field lists: ``{message: [(field, number, type, repeated)]}``
    with ``type`` a scalar (``string``, ``bool``, ``int64``) or a message's full name
    (``.google.protobuf.Int64Value``, ``.tensorflow.serving.PrometheusConfig``). They live
    in a pool of their own, package ``tensorflow.serving``, so text parsing and error
    texts name them as TF Serving does."""
    from google.protobuf import (
        descriptor_pb2,
        descriptor_pool,
        message_factory,
        wrappers_pb2,
    )

    F = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(
        name=file_name, package="tensorflow.serving", syntax="proto3"
    )
    for message_name, fields in messages.items():
        message = file.message_type.add(name=message_name)
        for name, number, kind, repeated in fields:
            field = message.field.add(name=name, number=number, json_name=name)
            field.label = F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL
            if kind in _SCALARS:
                field.type = _SCALARS[kind]
            else:
                field.type, field.type_name = F.TYPE_MESSAGE, kind
    pool = descriptor_pool.DescriptorPool()
    if any(f[2].startswith(".google.protobuf.") for fs in messages.values() for f in fs):
        file.dependency.append("google/protobuf/wrappers.proto")
        pool.AddSerializedFile(wrappers_pb2.DESCRIPTOR.serialized_pb)
    pool.Add(file)
    return {
        name: message_factory.GetMessageClass(
            pool.FindMessageTypeByName(f"tensorflow.serving.{name}")
        )
        for name in messages
    }
