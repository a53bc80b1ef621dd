"""The ``grpc.aio`` server TF Serving's ``--port`` flags describe.

It listens on ``{grpc_host}:{port}`` (``0.0.0.0`` as TF Serving; when ``port`` is not 0) and on
``unix:{grpc_socket_path}`` (when set), with gRPC's message size limits lifted
as TF Serving lifts them, then ``--grpc_channel_arguments`` applied. The caller
awaits ``server.start()`` and ``server.stop(grace)``.

``--grpc_max_threads``: a ``grpc.aio`` server holds no thread per call (the
service runs models on its own thread pool), so an explicit value bounds the
calls in progress, and a call beyond it gets RESOURCE_EXHAUSTED as from TF
Serving's exhausted gRPC thread pool. The default (0) sets no bound.
"""

from __future__ import annotations

import errno
from collections.abc import Sequence
from typing import Any

import grpc
from grpc_health.v1 import health_pb2_grpc

from sigserve import protos
from sigserve.config import ServerConfig
from sigserve.grpc.channel_args import server_options
from sigserve.grpc.health import GrpcHealth
from sigserve.grpc.limits import RefuseBeyondLimit
from sigserve.grpc.model_service import ModelService
from sigserve.grpc.prediction_service import PredictionService
from sigserve.limits import RequestSlots
from sigserve.listen import host_port
from sigserve.service import Service


def build_grpc_server(
    service: Service,
    config: ServerConfig,
    *,
    health: GrpcHealth | None = None,
    slots: RequestSlots | None = None,
    observers: Sequence[grpc.aio.ServerInterceptor] = (),
    auth: grpc.aio.ServerInterceptor | None = None,
    credentials: grpc.ServerCredentials | None = None,
) -> grpc.aio.Server:
    """``observers``: interceptors for metrics and logs (outermost). ``health``: the health
    service to add with ``--enable_grpc_healthcheck_service`` (by default one reporting
    TF Serving's names SERVING). ``slots``: the bound on calls in progress
    (``--max_requests_in_progress``), shared with REST. ``auth``: the bearer-token check
    (``--auth_token_file``), before the bound. ``credentials``: TLS from
    ``--ssl_config_file`` (:mod:`sigserve.grpc.tls`) for both addresses; None: insecure."""
    interceptors: list[grpc.aio.ServerInterceptor] = [*observers]  # metrics, logs: outermost
    if auth is not None:
        interceptors.append(auth)
    if slots is not None:
        interceptors.append(RefuseBeyondLimit(slots))
    # SO_REUSEPORT off: a second server on a port in use fails instead of sharing it.
    options = dict(server_options(config.grpc_channel_arguments))
    options.setdefault("grpc.so_reuseport", 0)
    server = grpc.aio.server(
        options=list(options.items()),
        maximum_concurrent_rpcs=config.grpc_max_threads or None,
        interceptors=interceptors,
    )
    tensor_content = config.enable_serialization_as_tensor_content
    protos.prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        PredictionService(service, tensor_content=tensor_content), server
    )
    protos.model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(service), server)
    if config.enable_grpc_healthcheck_service:
        servicer = (health or GrpcHealth()).servicer
        health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    if config.port:
        address = host_port(config.grpc_host, config.port)
        try:
            bound = _add_port(server, address, credentials)
        except RuntimeError:  # gRPC >= 1.5x raises; older versions return 0
            bound = 0
        if not bound:
            raise OSError(errno.EADDRINUSE, f"gRPC could not bind {address}")
    if config.grpc_socket_path:
        _add_port(server, f"unix:{config.grpc_socket_path}", credentials)
    return server


def _add_port(server: grpc.aio.Server, address: str, credentials: Any) -> int:
    if credentials is None:
        return server.add_insecure_port(address)
    return server.add_secure_port(address, credentials)
