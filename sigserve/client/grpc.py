"""``sigserve.GrpcClient``: TF Serving's gRPC API from Python, numpy in and out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import grpc
import numpy as np

from sigserve import protos
from sigserve.codecs import dtypes, tensor_proto
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
        self._dtypes: dict[tuple[Any, ...], dict[str, str]] = {}

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
        dtypes = self._input_dtypes(model, signature_name, version, label)
        if not isinstance(inputs, Mapping):
            if len(dtypes) != 1:
                raise ValueError("name the inputs: the signature does not have exactly one input")
            inputs = {next(iter(dtypes)): inputs}
        for name, value in inputs.items():
            array = _like_signature(np.asarray(value), dtypes.get(name))
            request.inputs[name].CopyFrom(tensor_proto.from_numpy(array))
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

    def _input_dtypes(
        self, model: str, signature_name: str | None, version: int | None, label: str | None
    ) -> dict[str, str]:
        """The signature's input dtypes (DT_* names), asked once per model spec."""
        key = (model, signature_name or "serving_default", version, label)
        if key not in self._dtypes:
            signature = self.metadata(model, version=version, label=label).get(key[1])
            inputs = signature.inputs.items() if signature is not None else []
            self._dtypes[key] = {n: dtypes.NAME.get(i.dtype, "DT_INVALID") for n, i in inputs}
        return self._dtypes[key]

    def _call(self, method: Any, request: Any) -> Any:
        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as e:
            raise ServingError(Code[e.code().name], e.details() or "") from None


def _like_signature(array: np.ndarray, dtype: str | None) -> np.ndarray:
    """Cast to the signature's dtype when that loses nothing a JSON client would keep
    (float64 -> float32, int64 -> int32 with the values in range), as REST does."""
    if dtype is None or dtype == "DT_STRING" or array.dtype.kind in "OSU":
        return array
    try:
        target = dtypes.numpy_dtype(dtype)
    except ServingError:
        return array
    if array.dtype == target or not np.can_cast(array.dtype, target, "same_kind"):
        return array
    if target.kind in "iu":
        info = np.iinfo(target)
        if array.size and (array.min() < info.min or array.max() > info.max):
            return array
    return array.astype(target)


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
