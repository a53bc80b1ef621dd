"""``sigserve.GrpcClient``: TF Serving's gRPC API from Python, numpy in and out.

It answers as :class:`sigserve.Client` (REST) does: outputs in the signature's
dtypes, ``status()`` and ``metadata()`` as :mod:`sigserve.client.model_info`'s
dataclasses, and every failure as a ``ServingError`` with the call's code (a
server that cannot be reached is UNAVAILABLE, no answer in ``timeout`` seconds
DEADLINE_EXCEEDED). Inputs are cast to the signature's dtypes where that loses
nothing, as a JSON body would be read by the REST API (the signature is read
once per model, version or label and cached).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import grpc
import numpy as np

from sigserve import protos
from sigserve.client import model_info
from sigserve.client.model_info import ModelMetadata, VersionStatus
from sigserve.codecs import dtypes, tensor_proto
from sigserve.errors import Code, ServingError, invalid_argument


class GrpcClient:
    """``GrpcClient("localhost:8500").predict("model", {"x": array})``."""

    def __init__(
        self,
        target: str = "localhost:8500",
        *,
        timeout: float = 30.0,
        options: list[tuple[str, Any]] | None = None,
    ) -> None:
        self.target = target
        self.timeout = timeout
        self._channel = grpc.insecure_channel(target, options=options or [])
        self._predict = protos.prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
        self._models = protos.model_service_pb2_grpc.ModelServiceStub(self._channel)
        self._metadata: dict[tuple[str, int | None, str | None], ModelMetadata] = {}

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
        named = isinstance(inputs, Mapping)
        dtypes = self._input_dtypes(model, signature_name, version, label, need_names=not named)
        if not isinstance(inputs, Mapping):
            if len(dtypes) != 1:
                raise invalid_argument(
                    "name the inputs: the signature does not have exactly one input "
                    f"(it has: {', '.join(sorted(dtypes)) or 'none known'})"
                )
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
    ) -> ModelMetadata:
        """The version answering and its signatures."""
        request = protos.get_model_metadata_pb2.GetModelMetadataRequest()
        _fill_spec(request.model_spec, model, None, version, label)
        request.metadata_field.append("signature_def")
        response = self._call(self._predict.GetModelMetadata, request)
        signature_map = protos.get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(signature_map)
        return model_info.metadata_from_proto(response, signature_map.signature_def)

    def status(
        self, model: str, *, version: int | None = None, label: str | None = None
    ) -> list[VersionStatus]:
        """The model's versions and their states."""
        request = protos.get_model_status_pb2.GetModelStatusRequest()
        _fill_spec(request.model_spec, model, None, version, label)
        return model_info.status_from_proto(self._call(self._models.GetModelStatus, request))

    def _input_dtypes(
        self,
        model: str,
        signature_name: str | None,
        version: int | None,
        label: str | None,
        need_names: bool,
    ) -> dict[str, str]:
        """The signature's input dtypes (DT_* names), from ``metadata()`` once per model
        spec; a failed metadata call is raised when the input names are needed or the
        server cannot be reached, else left for the predict call to report."""
        key = (model, version, label)
        if key not in self._metadata:
            try:
                self._metadata[key] = self.metadata(model, version=version, label=label)
            except ServingError as e:
                if need_names or e.code in (Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED):
                    raise
                return {}
        signatures = self._metadata[key].signatures
        signature = signatures.get(signature_name or "serving_default")
        return {name: info.dtype for name, info in signature.inputs.items()} if signature else {}

    def _call(self, method: Any, request: Any) -> Any:
        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as e:
            code = Code[e.code().name]
            message = e.details() or ""
            if code == Code.DEADLINE_EXCEEDED and message == "Deadline Exceeded":
                message = f"no answer from {self.target} within {self.timeout:g}s"
            raise ServingError(code, message) from None


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
        raise invalid_argument("give a version or a label, not both")
    spec.name = model
    if signature_name:
        spec.signature_name = signature_name
    if version is not None:
        spec.version.value = int(version)
    elif label is not None:
        spec.version_label = label
