"""Whether the server is ready for traffic, for load balancers and Kubernetes probes.

Ready means: every configured model has an AVAILABLE version, and shutdown has
not begun. The answer is computed from the manager's tables when asked (a lock
and a loop over the models: no model is touched, no thread pool is used).
Transports read it (REST ``/readyz``, the gRPC health service) and may listen
for changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("sigserve.health")

Availability = Callable[[], dict[str, bool]]  # configured model -> has an AVAILABLE version


@dataclass(frozen=True)
class Readiness:
    models: dict[str, bool]
    shutting_down: bool

    @property
    def ready(self) -> bool:
        return not self.shutting_down and all(self.models.values())

    @property
    def reason(self) -> str:
        """Why the server is not ready ("" when it is)."""
        if self.shutting_down:
            return "shutting down"
        waiting = sorted(name for name, available in self.models.items() if not available)
        if waiting:
            return "no version of these models is available yet: " + ", ".join(waiting)
        return ""


class Health:
    def __init__(self, availability: Availability) -> None:
        self._availability = availability
        self._shutting_down = False
        self._listeners: list[Callable[[], None]] = []

    def readiness(self) -> Readiness:
        return Readiness(self._availability(), self._shutting_down)

    def begin_shutdown(self) -> None:
        """Not ready from now on, whatever the models do."""
        self._shutting_down = True
        self.changed()

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` (on the event loop) whenever readiness may have changed."""
        self._listeners.append(listener)

    def changed(self) -> None:
        for listener in self._listeners:
            try:
                listener()
            except Exception:  # a listener must never break the caller
                log.exception("A health listener failed")
