"""The one configuration object of a sigserve server.

Field names are TensorFlow Serving's flag names, spelled the same way; the CLI
(``sigserve.cli.flags``) fills this object from the command line and nothing
else reads flags.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


def _default_threads() -> int:
    # TF Serving: 4.0 * port::NumSchedulableCPUs()
    return 4 * (os.cpu_count() or 1)


@dataclass
class ServerConfig:
    # gRPC
    port: int = 8500
    grpc_host: str = "0.0.0.0"  # not a TF Serving flag (it always binds 0.0.0.0)
    grpc_socket_path: str = ""
    grpc_max_threads: int = 0  # gRPC calls in progress; 0: no bound (pool: 4 x CPUs)
    grpc_channel_arguments: str = ""
    enable_grpc_healthcheck_service: bool = False
    enable_serialization_as_tensor_content: bool = False
    ssl_config_file: str = ""  # TF Serving's SSLConfig: TLS (and client certificates)
    # REST
    rest_api_port: int = 8501
    rest_api_host: str = "0.0.0.0"  # not a TF Serving flag (it always binds 0.0.0.0)
    rest_api_num_threads: int = 0  # model pool: max(this, grpc_max_threads); 0: 4 x CPUs
    rest_api_timeout_in_ms: int = 30000
    rest_api_enable_cors_support: bool = False
    rest_api_ssl_cert_file: str = ""  # not TF Serving flags: HTTPS on the REST port
    rest_api_ssl_key_file: str = ""
    rest_api_ssl_ca_file: str = ""  # clients must present a certificate this CA signed
    # both transports
    auth_token_file: str = ""  # not a TF Serving flag: bearer tokens, one per line
    # models
    model_name: str = "default"
    model_base_path: str = ""
    model_config_file: str = ""
    model_config_file_poll_wait_seconds: int = 0
    saved_model_tags: str = "serve"
    file_system_poll_wait_seconds: int = 1
    max_num_load_retries: int = 5
    load_retry_interval_micros: int = 60_000_000
    num_load_threads: int = 0
    num_unload_threads: int = 0
    allow_version_labels_for_unavailable_models: bool = False
    enable_model_warmup: bool = True
    num_request_iterations_for_warmup: int = 0
    probe_new_versions: bool = False  # not a TF Serving flag
    enable_signature_method_name_check: bool = False
    # batching
    enable_batching: bool = False
    batching_parameters_file: str = ""
    enable_per_model_batching_parameters: bool = False
    # TensorFlow runtime
    tensorflow_intra_op_parallelism: int = 0
    tensorflow_inter_op_parallelism: int = 0
    tensorflow_session_parallelism: int = 0
    # monitoring and logs
    monitoring_config_file: str = ""
    access_log: bool = True  # not a TF Serving flag
    log_format: str = "plain"  # not a TF Serving flag: plain or json
    log_level: str = "info"  # not a TF Serving flag
    # limits and shutdown (not TF Serving flags)
    rest_api_max_body_bytes: int = 256 * 1024 * 1024
    max_requests_in_progress: int = 1000  # REST and gRPC together; 0: no bound
    shutdown_drain_seconds: float = 0.0
    shutdown_grace_seconds: float = 20.0

    @property
    def tags(self) -> frozenset[str]:
        """``--saved_model_tags`` as a set (comma-separated, as TF Serving)."""
        return frozenset(t.strip() for t in self.saved_model_tags.split(",") if t.strip())

    @property
    def rest_threads(self) -> int:
        return self.rest_api_num_threads or _default_threads()

    @property
    def grpc_threads(self) -> int:
        return self.grpc_max_threads or _default_threads()
