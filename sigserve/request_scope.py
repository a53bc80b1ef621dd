"""What answered the request being handled: noted on the way, read by the wrappers
around the transports (:mod:`sigserve.observability`) for access logs and metrics.

A wrapper opens a :class:`RequestScope` for each request; the service notes the
model version that answered, the REST app the error it answered with. Outside a
wrapper (tests, tools) there is no scope and noting does nothing. The scope is a
mutable object in a context variable, so a task the request spawns (a timeout's
``wait_for``) writes into the same one.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from sigserve.errors import ServingError


@dataclass
class RequestScope:
    model: str = ""  # the model whose version answered ("" until one did)
    version: int | None = None
    error: ServingError | None = None  # what the client was answered, when it failed


current: ContextVar[RequestScope | None] = ContextVar("sigserve_request_scope", default=None)


def note_version(model: str, version: int) -> None:
    scope = current.get()
    if scope is not None:
        scope.model, scope.version = model, version


def note_error(error: ServingError) -> None:
    scope = current.get()
    if scope is not None:
        scope.error = error
