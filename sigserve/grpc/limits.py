"""gRPC side of ``--max_requests_in_progress``: a call beyond the bound gets UNAVAILABLE.

A server interceptor wraps every unary method (all of TF Serving's are) except
the health service's: the slot is taken when the handler starts and given back
when it returns, whatever the outcome.
"""

from __future__ import annotations

from typing import Any

import grpc

from sigserve.grpc.status import grpc_code
from sigserve.limits import RequestSlots

EXEMPT_PREFIX = "/grpc.health.v1.Health/"


class RefuseBeyondLimit(grpc.aio.ServerInterceptor):
    def __init__(self, slots: RequestSlots) -> None:
        self.slots = slots

    async def intercept_service(self, continuation: Any, details: Any) -> Any:
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        if details.method.startswith(EXEMPT_PREFIX):
            return handler
        return grpc.unary_unary_rpc_method_handler(
            self._bounded(handler.unary_unary),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _bounded(self, behavior: Any) -> Any:
        slots = self.slots

        async def bounded(request: Any, context: grpc.aio.ServicerContext) -> Any:
            if not slots.take():
                error = slots.refusal()
                await context.abort(grpc_code(error.code), error.message)
            try:
                return await behavior(request, context)
            finally:
                slots.give_back()

        return bounded
