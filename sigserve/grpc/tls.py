"""gRPC server credentials from ``--ssl_config_file``, as TF Serving builds them
(``BuildServerCredentialsFromSSLConfigFile`` in ``server.cc``): the server key and
certificate, and with ``client_verify`` a client certificate requested, required and
verified against ``custom_ca``. Without the flag both listening addresses (TCP and
``--grpc_socket_path``) are insecure, as in TF Serving; with it, both use TLS."""

from __future__ import annotations

import grpc

from sigserve.security.ssl_config import SslSettings


def server_credentials(settings: SslSettings) -> grpc.ServerCredentials:
    return grpc.ssl_server_credentials(
        [(settings.server_key, settings.server_cert)],
        root_certificates=settings.custom_ca,
        require_client_auth=settings.client_verify,
    )
