"""``grpc.health.v1.Health`` (``--enable_grpc_healthcheck_service``).

What it reports, by service name:

- ``"ModelService"``, ``"PredictionService"``: SERVING, as in TF Serving.
- ``""`` (the server overall): SERVING when the server is ready (every
  configured model has an AVAILABLE version), else NOT_SERVING.
- each configured model's name: SERVING while it has an AVAILABLE version,
  else NOT_SERVING (also once removed from the config).
- from the moment shutdown begins, every name: NOT_SERVING.

Statuses follow :class:`sigserve.health.Health` as versions change; ``Watch``
streams see each change, and end (status OK) when the server stops accepting,
so that an open watch does not hold the shutdown for its whole grace period.
``Check`` of an unknown name is NOT_FOUND, ``Watch`` of one SERVICE_UNKNOWN, as
gRPC's own servicer answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from sigserve.health import Health

log = logging.getLogger("sigserve.grpc")

Response = health_pb2.HealthCheckResponse
SERVING = Response.SERVING
NOT_SERVING = Response.NOT_SERVING

# What TF Serving's health service reports SERVING once started ("" is gRPC's
# overall health, SERVING by default in C++).
TF_SERVING_SERVICES = ("", "ModelService", "PredictionService")


class HealthServicer(health_pb2_grpc.HealthServicer):
    """A status per service name; ``Watch`` streams follow them until :meth:`end_watches`."""

    def __init__(self, statuses: dict[str, int]) -> None:
        self.statuses = dict(statuses)
        self._changed = asyncio.Condition()
        self._watches_ended = False

    async def set(self, name: str, status: int) -> None:
        async with self._changed:
            self.statuses[name] = status
            self._changed.notify_all()

    async def end_watches(self) -> None:
        async with self._changed:
            self._watches_ended = True
            self._changed.notify_all()

    async def Check(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        status = self.statuses.get(request.service)
        if status is None:
            await context.abort(grpc.StatusCode.NOT_FOUND)
        return Response(status=status)

    async def Watch(self, request: Any, context: grpc.aio.ServicerContext) -> None:
        def status() -> int:
            return self.statuses.get(request.service, Response.SERVICE_UNKNOWN)

        sent = None
        while True:
            async with self._changed:
                await self._changed.wait_for(
                    lambda last=sent: status() != last or self._watches_ended
                )
                now, ended = status(), self._watches_ended
            if now != sent:  # written outside the lock: a slow reader holds up nobody
                await context.write(Response(status=now))
                sent = now
            if ended:
                return


class GrpcHealth:
    def __init__(self) -> None:
        self.servicer = HealthServicer(dict.fromkeys(TF_SERVING_SERVICES, SERVING))
        self._models: set[str] = set()
        self._shut_down = False
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def follow(self, health_state: Health) -> None:
        """Report ``health_state`` now and after each change, until :meth:`close`."""
        await self._apply(health_state)
        health_state.add_listener(self._wake.set)
        self._task = asyncio.create_task(self._follow(health_state))

    async def shut_down(self) -> None:
        """NOT_SERVING for every name from now on."""
        self._shut_down = True
        for name in list(self.servicer.statuses):
            await self._set(name, NOT_SERVING)

    async def close(self) -> None:
        """Stop following; end the ``Watch`` streams (the server stops accepting)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.servicer.end_watches()

    async def _follow(self, health_state: Health) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._apply(health_state)
            except Exception:  # keep following; the next change tries again
                log.exception("Updating the gRPC health service failed")

    async def _apply(self, health_state: Health) -> None:
        readiness = health_state.readiness()
        if readiness.shutting_down or self._shut_down:
            await self.shut_down()
            return
        await self._set("", SERVING if readiness.ready else NOT_SERVING)
        for name, available in readiness.models.items():
            await self._set(name, SERVING if available else NOT_SERVING)
        for name in self._models - set(readiness.models):
            await self._set(name, NOT_SERVING)
        self._models |= set(readiness.models)

    async def _set(self, name: str, status: int) -> None:
        if self.servicer.statuses.get(name) != status:
            await self.servicer.set(name, status)
