"""ServingError → gRPC status, once, for every RPC.

Messages longer than 1024 characters are cut as TF Serving's ``ToGRPCStatus``
cuts them. Anything that is not a ServingError is logged with its traceback and
answered INTERNAL without details.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc

from sigserve.errors import Code, ServingError

log = logging.getLogger("sigserve.grpc")

MESSAGE_LIMIT = 1024

Servicer = TypeVar("Servicer")
Handler = Callable[[Servicer, Any, grpc.aio.ServicerContext], Awaitable[Any]]


def grpc_code(code: Code) -> grpc.StatusCode:
    return grpc.StatusCode[code.name]


def grpc_message(message: str) -> str:
    if len(message) > MESSAGE_LIMIT:
        return message[:MESSAGE_LIMIT] + "...TRUNCATED"
    return message


def rpc(handler: Handler) -> Handler:
    """Wrap a servicer method so that every failure becomes a gRPC status."""

    @functools.wraps(handler)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await handler(self, request, context)
        except ServingError as e:
            error = e
        except Exception:
            log.exception("Internal error in %s", handler.__qualname__)
            error = ServingError(Code.INTERNAL, "Internal error")
        await context.abort(grpc_code(error.code), grpc_message(error.message))

    return wrapper
