"""``--auth_token_file`` on gRPC: every call but the health service's must carry
``authorization: Bearer <token>`` metadata, else it ends with UNAUTHENTICATED before
any work on it (no model is looked up, no request slot taken)."""

from __future__ import annotations

from typing import Any

import grpc

from sigserve.errors import ServingError
from sigserve.security.tokens import BearerTokens

OPEN_PREFIX = "/grpc.health.v1.Health/"  # probes stay open (docs/operations.md)


class RequireBearerToken(grpc.aio.ServerInterceptor):
    def __init__(self, tokens: BearerTokens) -> None:
        self.tokens = tokens

    async def intercept_service(self, continuation: Any, details: Any) -> Any:
        handler = await continuation(details)
        if handler is None or details.method.startswith(OPEN_PREFIX):
            return handler
        try:
            self.tokens.check(_authorization(details.invocation_metadata))
        except ServingError as e:
            return _refusing(handler, e.message)
        return handler


def _authorization(metadata: Any) -> str | bytes | None:
    for key, value in metadata or ():
        if key == "authorization":
            return value
    return None


def _refusing(handler: Any, message: str) -> Any:
    """A handler of the same kind as ``handler`` that ends the call UNAUTHENTICATED."""

    async def refuse(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    async def refuse_stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)
        yield  # pragma: no cover - abort raises

    kinds = {
        "unary_unary": (grpc.unary_unary_rpc_method_handler, refuse),
        "unary_stream": (grpc.unary_stream_rpc_method_handler, refuse_stream),
        "stream_unary": (grpc.stream_unary_rpc_method_handler, refuse),
        "stream_stream": (grpc.stream_stream_rpc_method_handler, refuse_stream),
    }
    for kind, (make, behavior) in kinds.items():
        if getattr(handler, kind) is not None:
            return make(
                behavior,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
    return handler
