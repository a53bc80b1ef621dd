"""``grpc.health.v1.Health`` (``--enable_grpc_healthcheck_service``).

What it reports, by service name:

- ``"ModelService"``, ``"PredictionService"``: SERVING, as in TF Serving.
- ``""`` (the server overall): SERVING when the server is ready (every
  configured model has an AVAILABLE version), else NOT_SERVING.
- each configured model's name: SERVING while it has an AVAILABLE version,
  else NOT_SERVING (also once removed from the config).
- from the moment shutdown begins, every name: NOT_SERVING.

Statuses follow :class:`sigserve.health.Health` as versions change; ``Watch``
streams see each change. Unknown names get NOT_FOUND, as gRPC's servicer does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from grpc_health.v1 import health, health_pb2

from sigserve.health import Health

log = logging.getLogger("sigserve.grpc")

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING

# What TF Serving's health service reports SERVING once started ("" is gRPC's
# overall health, SERVING by default in C++).
TF_SERVING_SERVICES = ("", "ModelService", "PredictionService")


class GrpcHealth:
    def __init__(self) -> None:
        self.servicer = health.aio.HealthServicer()
        # The async ``set`` needs a running loop and only wakes watchers; none exist
        # yet, so seeding the status table directly is the same thing.
        for name in TF_SERVING_SERVICES:
            self.servicer._server_status[name] = SERVING
        self._reported: dict[str, int] = dict.fromkeys(TF_SERVING_SERVICES, SERVING)
        self._models: set[str] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def follow(self, health_state: Health) -> None:
        """Report ``health_state`` now and after each change, until :meth:`close`."""
        await self._apply(health_state)
        health_state.add_listener(self._wake.set)
        self._task = asyncio.create_task(self._follow(health_state))

    async def shut_down(self) -> None:
        """NOT_SERVING for every name from now on."""
        await self.servicer.enter_graceful_shutdown()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

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
        if readiness.shutting_down:
            await self.shut_down()
            return
        await self._set("", SERVING if readiness.ready else NOT_SERVING)
        for name, available in readiness.models.items():
            await self._set(name, SERVING if available else NOT_SERVING)
        for name in self._models - set(readiness.models):
            await self._set(name, NOT_SERVING)
        self._models |= set(readiness.models)

    async def _set(self, name: str, status: int) -> None:
        if self._reported.get(name) != status:
            self._reported[name] = status
            await self.servicer.set(name, status)
