"""``tensorflow.serving.ModelService``: model status and run-time config reloads."""

from __future__ import annotations

from typing import Any

from sigserve import protos
from sigserve.errors import invalid_argument
from sigserve.grpc.spec import requested
from sigserve.grpc.status import rpc
from sigserve.service import Service


class ModelService(protos.model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, service: Service) -> None:
        self.service = service

    @rpc
    async def GetModelStatus(self, request: Any, context: Any) -> Any:
        return self.service.status(requested(request))

    @rpc
    async def HandleReloadConfigRequest(self, request: Any, context: Any) -> Any:
        if request.config.WhichOneof("config") != "model_config_list":
            raise invalid_argument(
                "ServerModelConfig type not supported by HandleReloadConfigRequest. "
                "Only ModelConfigList is currently supported"
            )
        await self.service.reload_config(request.config)
        response = protos.model_management_pb2.ReloadConfigResponse()
        response.status.SetInParent()  # error_code OK, as TF Serving's ToStatusProto
        # sigserve keeps none of TensorFlow's internal counters: like TF Serving for a
        # metric it does not know, each requested metric reports an increase of 0.
        for name in request.metric_names:
            response.metric.add(name=name, int64_value_increase=0)
        return response
