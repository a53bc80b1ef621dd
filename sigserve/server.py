"""One sigserve process: models, service, REST and gRPC, and their lifecycle.

Start-up follows TF Serving: the initial model versions are loaded first, then
the ports open (so a client that can connect can predict).

Shutdown, on SIGTERM or SIGINT (a second one exits at once, see
:mod:`sigserve.stop_signal`):

1. not ready from now: ``/readyz`` answers 503, gRPC health NOT_SERVING;
2. requests are still answered for ``--shutdown_drain_seconds`` (load balancers
   take a while to stop sending);
3. both ports stop accepting; requests already received have up to
   ``--shutdown_grace_seconds`` to finish (then they are cancelled);
4. the models are unloaded (waiting at most ``UNLOAD_WAIT_SECONDS``), and the
   process exits 0, without waiting for model calls still running past the grace
   period (TensorFlow cannot interrupt them).

A signal during the initial load stops it: loads in progress finish (TensorFlow
cannot interrupt one), nothing serves, exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sigserve import listen
from sigserve.config import ServerConfig
from sigserve.observability import Observability
from sigserve.security.settings import Security

log = logging.getLogger("sigserve")

UNLOAD_WAIT_SECONDS = 5.0


class _Uvicorn:
    """uvicorn without its own signal handling (this module owns signals), serving on a
    socket bound before the models loaded (:func:`sigserve.listen.bind`)."""

    def __init__(self, app: object, config: ServerConfig, sock: socket.socket) -> None:
        import uvicorn

        class Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self):  # type: ignore[override]
                yield

        self.server = Server(
            uvicorn.Config(
                app,
                host=config.rest_api_host,
                port=config.rest_api_port,
                log_level="warning",
                access_log=False,
                lifespan="off",
                timeout_graceful_shutdown=config.shutdown_grace_seconds,
                **_rest_tls(config),
            )
        )
        self.sock = sock

    async def start(self) -> asyncio.Task[None]:
        task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        while not self.server.started:
            if task.done():
                task.result()  # re-raise a bind failure
                raise RuntimeError("REST server stopped during start-up")
            await asyncio.sleep(0.01)
        return task

    def stop(self) -> None:
        self.server.should_exit = True


async def serve(config: ServerConfig) -> None:
    """Run a server until SIGINT or SIGTERM, then shut it down (see above)."""
    from sigserve.health import Health
    from sigserve.limits import RequestSlots
    from sigserve.manager import ModelManager
    from sigserve.service import Service
    from sigserve.stop_signal import StopSignal

    stop = StopSignal()
    model_config = _model_config(config)  # a bad config file fails before TF loads
    batching = _batching_options(config)  # so does a bad batching file
    observability = Observability.from_config(config)  # and a bad monitoring config file
    security = Security.from_config(config)  # and bad TLS or token files
    rest_socket = _bind_ports(config)  # a port in use fails before models load
    from sigserve.runtime import saved_model

    intra, inter = config.tensorflow_intra_op_parallelism, config.tensorflow_inter_op_parallelism
    if not intra and not inter:  # TF Serving: the older flag sets both
        intra = inter = config.tensorflow_session_parallelism
    saved_model.configure_threads(intra, inter)
    executor = ThreadPoolExecutor(
        max_workers=max(config.rest_threads, config.grpc_threads), thread_name_prefix="sigserve-run"
    )
    tags = config.tags
    batcher = None
    if batching is not None:
        from sigserve.batching import Batcher

        per_model = config.enable_per_model_batching_parameters
        batcher = Batcher(
            batching, executor, per_model=per_model, on_batch=observability.batch_observer()
        )
    prepare = batcher.prepare if batcher is not None else (lambda servable: servable)
    manager = ModelManager(
        model_config,
        config,
        loader=observability.timed_loader(
            lambda path, version: prepare(saved_model.load(path, tags))
        ),
    )
    observability.watch(manager)
    if not await stop.unless_first(manager.start()):
        log.info("Received %s while loading: stopping once the loads in progress end",
                 stop.name)
        if rest_socket is not None:
            rest_socket.close()
        await manager.stop(timeout=config.shutdown_grace_seconds)
        executor.shutdown(wait=False, cancel_futures=True)
        _exit_now_if_threads_still_run()
        return
    health = Health(manager.availability)
    manager.add_listener(health.changed)
    slots = RequestSlots(config.max_requests_in_progress)
    service = Service(
        manager,
        executor,
        check_method_name=config.enable_signature_method_name_check,
        batcher=batcher,
    )

    grpc_server = grpc_health = None
    if config.port or config.grpc_socket_path:
        from sigserve.grpc.health import GrpcHealth
        from sigserve.grpc.server import build_grpc_server

        if config.enable_grpc_healthcheck_service:
            grpc_health = GrpcHealth()
            await grpc_health.follow(health)
        try:
            grpc_server = build_grpc_server(
                service,
                config,
                observers=observability.grpc_interceptors(),
                health=grpc_health,
                slots=slots,
                auth=_grpc_auth(security),
                credentials=_grpc_credentials(security),
            )
        except OSError as e:  # taken since _bind_ports looked
            address = (config.grpc_host, config.port)
            raise listen.cannot_listen("gRPC", _GRPC_FLAGS, *address, e) from None
        await grpc_server.start()
        if config.port:
            log.info("Running gRPC ModelServer at %s ...", _grpc_address(config))

    rest = rest_task = None
    if rest_socket is not None:
        from sigserve.rest.app import RestApp
        from sigserve.rest.health import HealthRoutes
        from sigserve.rest.limits import RequestsInProgress

        app = RestApp(
            service,
            timeout_ms=config.rest_api_timeout_in_ms,
            cors=config.rest_api_enable_cors_support,
            max_body_bytes=config.rest_api_max_body_bytes,
        )
        # Probes first (never counted, never refused), then metrics/logs, then the token
        # check (probes and metrics stay open), then the bound.
        bounded = _rest_auth(security, RequestsInProgress(app, slots), config)
        asgi = HealthRoutes(observability.rest_app(bounded), health)
        rest = _Uvicorn(asgi, config, rest_socket)
        rest_task = await rest.start()
        log.info("Exporting HTTP/REST API at:%s ...", _rest_address(config))

    print(_ready_line(config), flush=True)
    await stop.wait()
    drain, grace = config.shutdown_drain_seconds, config.shutdown_grace_seconds
    log.info("Received %s: not ready from now; answering for %gs more, then finishing the "
             "requests in progress (up to %gs). Send it again to exit at once.",
             stop.name, drain, grace)
    health.begin_shutdown()
    if grpc_health is not None:
        await grpc_health.shut_down()
    await asyncio.sleep(drain)
    log.info("Not accepting requests any more; %d in progress", slots.in_use)

    async def stop_rest() -> None:
        if rest is not None and rest_task is not None:
            rest.stop()
            await rest_task
            app.offload.shutdown()

    async def stop_grpc() -> None:
        if grpc_health is not None:
            await grpc_health.close()  # Watch streams end: they would hold the stop
        if grpc_server is not None:
            await grpc_server.stop(grace)

    await asyncio.gather(stop_rest(), stop_grpc())
    log.info("Unloading models")
    await manager.stop(timeout=UNLOAD_WAIT_SECONDS)
    executor.shutdown(wait=False, cancel_futures=True)
    _exit_now_if_threads_still_run()
    log.info("Shut down")


# Threads that run model calls, codec work, loads and unloads: TensorFlow cannot
# interrupt them (an unload waits for the calls still running in its session).
_UNSTOPPABLE = ("sigserve-run", "sigserve-codec", "sigserve-load", "sigserve-unload")


def _exit_now_if_threads_still_run(settle: float = 0.5) -> None:
    """Exit 0 at once if a model call or load is still running once shutdown is done.

    Python's exit would wait for such a thread (a request past the grace period, a
    load nobody waits for), however long it runs; the shutdown is over, so end the
    process instead. Idle pool threads end within ``settle`` seconds.
    """
    deadline = time.monotonic() + settle
    running = []
    for thread in threading.enumerate():
        if thread.name.startswith(_UNSTOPPABLE):
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                running.append(thread.name)
    if not running:
        return
    log.warning("Shut down; exiting without waiting for %d thread(s) still running a model "
                "call or load (%s)", len(running), ", ".join(sorted(running)))
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _rest_tls(config: ServerConfig) -> dict[str, object]:
    """uvicorn's HTTPS settings (files checked by :class:`Security` before models load)."""
    if not config.rest_api_ssl_cert_file:
        return {}
    import ssl

    tls: dict[str, object] = {
        "ssl_certfile": config.rest_api_ssl_cert_file,
        "ssl_keyfile": config.rest_api_ssl_key_file,
    }
    if config.rest_api_ssl_ca_file:
        tls.update(ssl_ca_certs=config.rest_api_ssl_ca_file, ssl_cert_reqs=ssl.CERT_REQUIRED)
    return tls


def _rest_auth(security: Security, app: object, config: ServerConfig) -> object:
    if security.tokens is None:
        return app
    from sigserve.rest.auth import RequireBearerToken

    return RequireBearerToken(app, security.tokens, cors=config.rest_api_enable_cors_support)


def _grpc_auth(security: Security):
    if security.tokens is None:
        return None
    from sigserve.grpc.auth import RequireBearerToken

    return RequireBearerToken(security.tokens)


def _grpc_credentials(security: Security):
    if security.grpc_tls is None:
        return None
    from sigserve.grpc.tls import server_credentials

    return server_credentials(security.grpc_tls)


def _batching_options(config: ServerConfig):
    """``--enable_batching`` with ``--batching_parameters_file`` (TF Serving's rules)."""
    from sigserve.errors import invalid_argument

    if not config.enable_batching:
        if config.batching_parameters_file:
            raise invalid_argument(
                "server_options.batching_parameters_file is set without setting "
                "server_options.enable_batching to true."
            )
        return None
    from sigserve.batching import BatchingOptions, read_batching_parameters

    if config.batching_parameters_file:
        return read_batching_parameters(config.batching_parameters_file)
    return BatchingOptions()


def _model_config(config: ServerConfig):
    from sigserve.manager.config import load_model_config_file, single_model_config

    if config.model_config_file:
        return load_model_config_file(config.model_config_file)
    return single_model_config(config.model_name, config.model_base_path)


_GRPC_FLAGS = ("port", "grpc_host")
_REST_FLAGS = ("rest_api_port", "rest_api_host")


def _grpc_address(config: ServerConfig) -> str:
    return listen.host_port(config.grpc_host, config.port)


def _rest_address(config: ServerConfig) -> str:
    return listen.host_port(config.rest_api_host, config.rest_api_port)


def _bind_ports(config: ServerConfig) -> socket.socket | None:
    """Check the gRPC port is free and bind the REST one: the REST socket, if any."""
    if config.port:
        listen.check_free("gRPC", _GRPC_FLAGS, config.grpc_host, config.port)
    if not config.rest_api_port:
        return None
    return listen.bind("HTTP/REST", _REST_FLAGS, config.rest_api_host, config.rest_api_port)


def _ready_line(config: ServerConfig) -> str:
    parts = []
    if config.port:
        parts.append(f"gRPC on {_grpc_address(config)}")
    if config.grpc_socket_path:
        parts.append(f"gRPC on unix:{config.grpc_socket_path}")
    if config.rest_api_port:
        parts.append(f"REST on {_rest_address(config)}")
    return "sigserve ready: " + ", ".join(parts or ["no ports"])
