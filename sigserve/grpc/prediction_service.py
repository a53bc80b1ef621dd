"""``tensorflow.serving.PredictionService``: one thin method per RPC."""

from __future__ import annotations

from typing import Any

from sigserve import protos
from sigserve.codecs import tensor_proto
from sigserve.errors import invalid_argument
from sigserve.grpc.spec import requested, resolved
from sigserve.grpc.status import rpc
from sigserve.service import Service

SIGNATURE_DEF = "signature_def"


class PredictionService(protos.prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, service: Service, *, tensor_content: bool = False) -> None:
        self.service = service
        # TF Serving answers with typed fields (float_val, ...) unless it runs with
        # --enable_serialization_as_tensor_content.
        self.tensor_content = tensor_content

    @rpc
    async def Predict(self, request: Any, context: Any) -> Any:
        ref = requested(request)
        inputs = tensor_proto.decode_inputs(request.inputs)
        spec, outputs = await self.service.predict(
            ref, request.model_spec.signature_name, inputs, list(request.output_filter)
        )
        response = protos.predict_pb2.PredictResponse()
        resolved(response.model_spec, spec)
        for alias, array in outputs.items():
            tensor_proto.fill(response.outputs[alias], array, as_content=self.tensor_content)
        return response

    @rpc
    async def Classify(self, request: Any, context: Any) -> Any:
        response = protos.classification_pb2.ClassificationResponse()
        return await self._on_examples(self.service.classify, request, response)

    @rpc
    async def Regress(self, request: Any, context: Any) -> Any:
        response = protos.regression_pb2.RegressionResponse()
        return await self._on_examples(self.service.regress, request, response)

    async def _on_examples(self, method: Any, request: Any, response: Any) -> Any:
        spec, result = await method(
            requested(request), request.model_spec.signature_name, request.input
        )
        resolved(response.model_spec, spec)
        response.result.CopyFrom(result)
        return response

    @rpc
    async def MultiInference(self, request: Any, context: Any) -> Any:
        return await self.service.multi_inference(request)

    @rpc
    async def GetModelMetadata(self, request: Any, context: Any) -> Any:
        ref = requested(request)
        if not request.metadata_field:
            raise invalid_argument(
                "GetModelMetadataRequest must specify at least one metadata_field"
            )
        for field in request.metadata_field:
            if field != SIGNATURE_DEF:
                raise invalid_argument(f"Metadata field {field} is not supported")
        spec, signature_defs = self.service.metadata(ref)
        signature_map = protos.get_model_metadata_pb2.SignatureDefMap()
        for key, signature_def in signature_defs.items():
            signature_map.signature_def[key].CopyFrom(signature_def)
        response = protos.get_model_metadata_pb2.GetModelMetadataResponse()
        resolved(response.model_spec, spec)
        response.metadata[SIGNATURE_DEF].Pack(signature_map)
        return response
