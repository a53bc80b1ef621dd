"""A ``grpc.aio`` server interceptor: metrics and the access log for unary RPCs.

The interceptor takes over the method's (de)serialization, so it counts the
bytes on the wire without serializing anything twice: the servicer still gets
and returns messages. It reads the model asked for from the request's
``model_spec``, the version that answered from the request's
:mod:`~sigserve.request_scope`, and the status from the call's context.
Streaming RPCs (the health service's ``Watch``) pass through uncounted. A call
is counted before its response is sent, but a failed one just after its status
is (``context.abort`` sends it at once).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from sigserve import request_scope
from sigserve.observability import access_log
from sigserve.observability.metrics import ServerMetrics

log = logging.getLogger("sigserve.grpc")

_API = {
    "/tensorflow.serving.PredictionService/Predict": "predict",
    "/tensorflow.serving.PredictionService/Classify": "classify",
    "/tensorflow.serving.PredictionService/Regress": "regress",
    "/tensorflow.serving.PredictionService/MultiInference": "multi_inference",
    "/tensorflow.serving.PredictionService/GetModelMetadata": "metadata",
    "/tensorflow.serving.ModelService/GetModelStatus": "status",
    "/tensorflow.serving.ModelService/HandleReloadConfigRequest": "reload_config",
}

Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]]


class ObservingInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, *, metrics: ServerMetrics | None, access_log: bool) -> None:
        self.metrics = metrics
        self.access_log = access_log
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        method = handler_call_details.method
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = grpc.unary_unary_rpc_method_handler(self._observed(handler, method))
        self._wrapped[method] = (handler, wrapped)
        return wrapped

    def _observed(self, handler: grpc.RpcMethodHandler, method: str) -> Callable[..., Any]:
        behavior = handler.unary_unary
        deserialize = handler.request_deserializer or (lambda raw: raw)
        serialize = handler.response_serializer or (lambda message: message)
        api = _API.get(method, "other")

        async def observed(raw: bytes, context: grpc.aio.ServicerContext) -> bytes:
            start = time.perf_counter()
            scope = request_scope.RequestScope()
            token = request_scope.current.set(scope)
            metrics = self.metrics
            if metrics is not None:
                metrics.requests.in_flight["grpc"] += 1
            request: Any = None
            bytes_out = 0
            cancelled = False
            try:
                try:
                    request = deserialize(raw)
                except Exception:
                    log.exception("Cannot deserialize a %s request", method)
                    await context.abort(
                        grpc.StatusCode.INTERNAL, "Exception deserializing request!"
                    )
                payload = serialize(await behavior(request, context))
                bytes_out = len(payload)
                return payload
            except asyncio.CancelledError:
                cancelled = True
                raise
            finally:
                request_scope.current.reset(token)
                if metrics is not None:
                    metrics.requests.in_flight["grpc"] -= 1
                self._finished(
                    method, api, request, scope, context, cancelled,
                    time.perf_counter() - start, len(raw), bytes_out,
                )  # fmt: skip

        return observed

    def _finished(
        self, method: str, api: str, request: Any, scope: request_scope.RequestScope,
        context: grpc.aio.ServicerContext, cancelled: bool, seconds: float,
        bytes_in: int, bytes_out: int,
    ) -> None:  # fmt: skip
        code = "CANCELLED" if cancelled else _code_name(context.code())
        model, version = _requested(request)
        if self.metrics is not None:
            label = self.metrics.model_label(scope.model, model)
            self.metrics.requests.add("grpc", api, label, code, seconds, bytes_in, bytes_out)
        if self.access_log:
            access_log.log_grpc(
                rpc=method, model=scope.model or model,
                version=scope.version if scope.version is not None else version,
                code=code, seconds=seconds, bytes_in=bytes_in, bytes_out=bytes_out,
                peer=context.peer() or "",
                error=(context.details() or None) if code != "OK" else None,
            )  # fmt: skip


def _code_name(code: Any) -> str:
    if code is None:
        return "OK"
    if isinstance(code, grpc.StatusCode):
        return code.name
    for status in grpc.StatusCode:
        if status.value[0] == code:
            return status.name
    return "UNKNOWN"


def _requested(request: Any) -> tuple[str, int | None]:
    """The model name and version a TF Serving request names (empty if none)."""
    spec = getattr(request, "model_spec", None)
    if spec is None:
        tasks = getattr(request, "tasks", None)
        spec = tasks[0].model_spec if tasks else None
    if spec is None:
        return "", None
    version = spec.version.value if spec.WhichOneof("version_choice") == "version" else None
    return spec.name, version
