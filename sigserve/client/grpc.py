"""``sigserve.GrpcClient``: TF Serving's gRPC API from Python, numpy in and out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import grpc
import numpy as np

from sigserve import protos
from sigserve.codecs import tensor_proto
from sigserve.errors import Code, ServingError


class GrpcClient:
    """``GrpcClient("localhost:8500").predict("model", {"x": array})``."""

    def __init__(
        self,
        target: str = "localhost:8500",
        *,
        timeout: float = 30.0,
        options: list[tuple[str, Any]] | None = None,
    ) -> None:
        self.timeout = timeout
        self._channel = grpc.insecure_channel(target, options=options or [])
        self._predict = protos.prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
        self._models = protos.model_service_pb2_grpc.ModelServiceStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> GrpcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def predict(
        self,
        model: str,
        inputs: np.ndarray | Mapping[str, Any],
        *,
        signature_name: str | None = None,
        version: int | None = None,
        label: str | None = None,
        output_filter: list[str] | None = None,
    ) -> np.ndarray | dict[str, np.ndarray]:
        """Outputs as numpy: one array for one output, else a dict by output name."""
        request = protos.predict_pb2.PredictRequest()
        _fill_spec(request.model_spec, model, signature_name, version, label)
        if not isinstance(inputs, Mapping):
            inputs = {self._only_input(model, signature_name, version, label): inputs}
        for name, value in inputs.items():
            request.inputs[name].CopyFrom(tensor_proto.from_numpy(np.asarray(value)))
        request.output_filter.extend(output_filter or [])
        response = self._call(self._predict.Predict, request)
        outputs = {k: tensor_proto.to_numpy(v) for k, v in response.outputs.items()}
        return next(iter(outputs.values())) if len(outputs) == 1 else outputs

    def classify(self, model: str, examples: list[Any], **spec: Any) -> Any:
        request = protos.classification_pb2.ClassificationRequest()
        _fill_spec(request.model_spec, model, **spec)
        request.input.example_list.examples.extend(examples)
        return self._call(self._predict.Classify, request).result

    def regress(self, model: str, examples: list[Any], **spec: Any) -> Any:
        request = protos.regression_pb2.RegressionRequest()
        _fill_spec(request.model_spec, model, **spec)
        request.input.example_list.examples.extend(examples)
        return self._call(self._predict.Regress, request).result

    def metadata(
        self, model: str, *, version: int | None = None, label: str | None = None
    ) -> dict[str, Any]:
        """The model's SignatureDefs, by signature name."""
        request = protos.get_model_metadata_pb2.GetModelMetadataRequest()
        _fill_spec(request.model_spec, model, None, version, label)
        request.metadata_field.append("signature_def")
        response = self._call(self._predict.GetModelMetadata, request)
        signature_map = protos.get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(signature_map)
        return dict(signature_map.signature_def)

    def status(self, model: str, *, version: int | None = None, label: str | None = None) -> Any:
        request = protos.get_model_status_pb2.GetModelStatusRequest()
        _fill_spec(request.model_spec, model, None, version, label)
        return self._call(self._models.GetModelStatus, request)

    def _only_input(
        self, model: str, signature_name: str | None, version: int | None, label: str | None
    ) -> str:
        signatures = self.metadata(model, version=version, label=label)
        signature = signatures.get(signature_name or "serving_default")
        if signature is None or len(signature.inputs) != 1:
            raise ValueError("name the inputs: the signature does not have exactly one input")
        return next(iter(signature.inputs))

    def _call(self, method: Any, request: Any) -> Any:
        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as e:
            raise ServingError(Code[e.code().name], e.details() or "") from None


def _fill_spec(
    spec: Any,
    model: str,
    signature_name: str | None = None,
    version: int | None = None,
    label: str | None = None,
) -> None:
    if version is not None and label is not None:
        raise ValueError("give a version or a label, not both")
    spec.name = model
    if signature_name:
        spec.signature_name = signature_name
    if version is not None:
        spec.version.value = int(version)
    elif label is not None:
        spec.version_label = label
