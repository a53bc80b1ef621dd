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

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from sigserve import protos
from sigserve.config import ServerConfig
from sigserve.grpc.channel_args import server_options
from sigserve.grpc.model_service import ModelService
from sigserve.grpc.prediction_service import PredictionService
from sigserve.listen import host_port
from sigserve.service import Service

# What TF Serving's health service reports SERVING once started ("" is gRPC's
# overall health, SERVING by default in C++).
HEALTHY_SERVICES = ("", "ModelService", "PredictionService")


def build_grpc_server(
    service: Service,
    config: ServerConfig,
    *,
    observers: Sequence[grpc.aio.ServerInterceptor] = (),
) -> grpc.aio.Server:
    """``observers``: interceptors for metrics and logs (outermost)."""
    # SO_REUSEPORT off: a second server on a port in use fails instead of sharing it.
    options = dict(server_options(config.grpc_channel_arguments))
    options.setdefault("grpc.so_reuseport", 0)
    server = grpc.aio.server(
        options=list(options.items()),
        maximum_concurrent_rpcs=config.grpc_max_threads or None,
        interceptors=list(observers),
    )
    tensor_content = config.enable_serialization_as_tensor_content
    protos.prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        PredictionService(service, tensor_content=tensor_content), server
    )
    protos.model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(service), server)
    if config.enable_grpc_healthcheck_service:
        health_pb2_grpc.add_HealthServicer_to_server(_health_servicer(), server)
    if config.port:
        address = host_port(config.grpc_host, config.port)
        try:
            bound = server.add_insecure_port(address)
        except RuntimeError:  # gRPC >= 1.5x raises; older versions return 0
            bound = 0
        if not bound:
            raise OSError(errno.EADDRINUSE, f"gRPC could not bind {address}")
    if config.grpc_socket_path:
        server.add_insecure_port(f"unix:{config.grpc_socket_path}")
    return server


def _health_servicer() -> health.aio.HealthServicer:
    servicer = health.aio.HealthServicer()
    # The async ``set`` needs a running loop and only wakes watchers; none exist yet,
    # so seeding the status table directly is the same thing.
    for name in HEALTHY_SERVICES:
        servicer._server_status[name] = health_pb2.HealthCheckResponse.SERVING
    return servicer
