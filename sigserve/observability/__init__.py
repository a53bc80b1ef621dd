"""Metrics and access logs, wrapped around the transports rather than woven into them.

:class:`Observability` is built from the server's config and hands the server
what to wrap: the REST app (an ASGI middleware, :mod:`.rest_middleware`), the
gRPC server (an interceptor, :mod:`.grpc_interceptor`), the model loader (load
counts and latency) and the batch scheduler's observer. Version states are read
from the manager when Prometheus scrapes. Names and labels: :mod:`.metrics`;
log lines: :mod:`.access_log` and :mod:`.logs`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sigserve.config import ServerConfig

if TYPE_CHECKING:  # loaded when a server starts, not by `import sigserve` or --help
    from sigserve.observability.monitoring_config import PrometheusOptions

log = logging.getLogger("sigserve")

T = TypeVar("T")


class Observability:
    def __init__(self, prometheus: PrometheusOptions, *, access_log: bool) -> None:
        from sigserve.observability.metrics import ServerMetrics

        self.metrics = ServerMetrics() if prometheus.enable else None
        self.metrics_path = prometheus.path if prometheus.enable else None
        self.access_log = access_log

    @classmethod
    def from_config(cls, config: ServerConfig) -> Observability:
        """``--monitoring_config_file`` (read now: a bad file fails before models load)
        and ``--access_log``."""
        from sigserve.observability.monitoring_config import (
            PrometheusOptions,
            read_monitoring_config,
        )

        prometheus = PrometheusOptions()
        if config.monitoring_config_file:
            prometheus = read_monitoring_config(config.monitoring_config_file)
        if prometheus.enable and not config.rest_api_port:
            log.warning("Prometheus metrics are served on the REST port, which is off "
                        "(--rest_api_port=0): no metrics")
            prometheus = PrometheusOptions()
        return cls(prometheus, access_log=config.access_log)

    def rest_app(self, app: Any) -> Any:
        """``app`` wrapped in the middleware, if anything is to be counted or logged."""
        if self.metrics is None and not self.access_log:
            return app
        from sigserve.observability.rest_middleware import ObservedRestApp

        return ObservedRestApp(
            app, metrics=self.metrics, metrics_path=self.metrics_path, access_log=self.access_log
        )

    def grpc_interceptors(self) -> list[Any]:
        if self.metrics is None and not self.access_log:
            return []
        from sigserve.observability.grpc_interceptor import ObservingInterceptor

        return [ObservingInterceptor(metrics=self.metrics, access_log=self.access_log)]

    def watch(self, manager: Any) -> None:
        """Report the manager's version states at each scrape; learn its model names (the
        allowed ``model_name`` labels) whenever its models change."""
        metrics = self.metrics
        if metrics is None:
            return
        metrics.watch(manager.version_states)
        manager.add_listener(lambda: metrics.known_models.update(manager.version_states()))

    def timed_loader(self, loader: Callable[[str, int], T]) -> Callable[[str, int], T]:
        """``loader`` counting its attempts and the time of its successful loads."""
        metrics = self.metrics
        if metrics is None:
            return loader

        def load(path: str, version: int) -> T:
            start = time.perf_counter()
            try:
                servable = loader(path, version)
            except BaseException:
                metrics.loads.add(path, False, time.perf_counter() - start)
                raise
            metrics.loads.add(path, True, time.perf_counter() - start)
            return servable

        return load

    def batch_observer(self) -> Callable[[Sequence[int], int, Sequence[float]], None] | None:
        """What the batch scheduler calls as each batch starts, or None."""
        return self.metrics.batches.add if self.metrics is not None else None
