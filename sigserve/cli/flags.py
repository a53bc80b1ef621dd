"""``sigserve serve`` flags, spelled as TensorFlow Serving spells them.

One table: each TF Serving flag is either supported (it fills the field of the
same name in :class:`~sigserve.config.ServerConfig`) or not implemented yet
(refused, with a message, when given a value other than TF Serving's default).
``--flag=value`` and ``--flag value`` both work; booleans take
``true/false/1/0``, and a bare ``--flag`` means true.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence

from sigserve.config import ServerConfig
from sigserve.observability.logs import FORMATS as LOG_FORMATS
from sigserve.observability.logs import LEVELS as LOG_LEVELS

SUPPORTED: dict[str, str] = {
    "port": "TCP port for the gRPC API (0 disables it).",
    "grpc_host": "Address the gRPC API binds to, e.g. 127.0.0.1 for this machine only "
    "(sigserve's; TF Serving always binds 0.0.0.0).",
    "grpc_socket_path": "Also serve the gRPC API on this UNIX socket path.",
    "grpc_max_threads": "Max gRPC calls in progress; one more gets RESOURCE_EXHAUSTED "
    "(0: no bound). Also sizes the pool that runs models (see --rest_api_num_threads).",
    "grpc_channel_arguments": "Comma-separated key=value gRPC server channel arguments.",
    "enable_grpc_healthcheck_service": "Enable the standard gRPC health checking service.",
    "enable_serialization_as_tensor_content": "Answer gRPC Predict with tensor_content "
    "instead of typed fields.",
    "rest_api_port": "Port for the HTTP/REST API (0 disables it).",
    "rest_api_host": "Address the HTTP/REST API binds to, e.g. 127.0.0.1 for this machine "
    "only (sigserve's; TF Serving always binds 0.0.0.0).",
    "rest_api_num_threads": "Threads that run models for requests: the pool has "
    "max(this, --grpc_max_threads) threads, each counted as 4 x CPUs when 0.",
    "rest_api_timeout_in_ms": "Timeout for HTTP/REST API calls.",
    "rest_api_enable_cors_support": "Add CORS headers to REST responses.",
    "ssl_config_file": "A text SSLConfig proto (server_key, server_cert, custom_ca: PEM text; "
    "client_verify) turning on TLS for gRPC, as TF Serving.",
    "rest_api_ssl_cert_file": "PEM certificate (chain) file: serve REST over HTTPS "
    "(sigserve's; with --rest_api_ssl_key_file).",
    "rest_api_ssl_key_file": "PEM private key file of --rest_api_ssl_cert_file (sigserve's).",
    "rest_api_ssl_ca_file": "PEM CA file: HTTPS clients must present a certificate it signed "
    "(sigserve's).",
    "auth_token_file": "File of bearer tokens, one per line: REST and gRPC requests must send "
    "'Authorization: Bearer <token>' (sigserve's; health and metrics stay open).",
    "model_name": "Name of the model (ignored if --model_config_file is set).",
    "model_base_path": "Path to the model's versions (ignored if --model_config_file is set).",
    "model_config_file": "A text ModelServerConfig proto naming the models to serve.",
    "model_config_file_poll_wait_seconds": "Seconds between re-reads of --model_config_file "
    "(0: read once).",
    "saved_model_tags": "Comma-separated tags of the MetaGraphDef to load.",
    "file_system_poll_wait_seconds": "Seconds between polls of the model base paths for new "
    "versions (0: look once).",
    "max_num_load_retries": "Retries after a version fails to load.",
    "load_retry_interval_micros": "Microseconds between load retries.",
    "num_load_threads": "Threads that load versions (0: TF Serving's default).",
    "num_unload_threads": "Threads that unload versions (0: TF Serving's default).",
    "allow_version_labels_for_unavailable_models": "Allow labels to point at versions not yet "
    "available.",
    "enable_model_warmup": "Replay assets.extra/tf_serving_warmup_requests before serving a "
    "version.",
    "num_request_iterations_for_warmup": "Times each warmup request is replayed.",
    "probe_new_versions": "Not in TF Serving: a new version must answer every signature "
    "(its warmup requests, else synthetic inputs) before it serves; one that fails ends with "
    "the error and the old version keeps serving.",
    "enable_signature_method_name_check": "Check that a signature's method name fits the API "
    "called.",
    "enable_batching": "Batch concurrent Predict requests to a model into one call.",
    "batching_parameters_file": "A text BatchingParameters proto (max_batch_size, "
    "batch_timeout_micros, ...) used instead of the defaults.",
    "enable_per_model_batching_parameters": "Read each version's batching_params.pbtxt "
    "instead (a version without one is not batched).",
    "tensorflow_intra_op_parallelism": "Threads that parallelise one op (0: TensorFlow decides).",
    "tensorflow_inter_op_parallelism": "Ops run at once (0: TensorFlow decides).",
    "tensorflow_session_parallelism": "Threads for both pools above when neither is set "
    "(0: TensorFlow decides), as TF Serving.",
    "monitoring_config_file": "A text MonitoringConfig proto; with prometheus_config { enable: "
    "true } Prometheus metrics are served on the REST port at its path (default "
    "/monitoring/prometheus/metrics). See docs/operations.md.",
    "access_log": "Not in TF Serving: log one line per REST or gRPC request to the "
    "sigserve.access logger.",
    "log_format": "Not in TF Serving: plain (text lines) or json (one JSON object per line).",
    "log_level": "Not in TF Serving: the lowest level logged: debug, info, warning or error "
    "(access lines are info, or warning for answers with a 5xx status).",
    "rest_api_max_body_bytes": "Not in TF Serving: the largest REST request body accepted; "
    "a larger one gets 413 before it is read (0: no limit).",
    "max_requests_in_progress": "Not in TF Serving: REST and gRPC requests in progress at "
    "once; one more gets 503 / UNAVAILABLE at once (0: no bound). Health checks do not count.",
    "shutdown_drain_seconds": "Not in TF Serving: after SIGTERM/SIGINT, seconds the server "
    "reports not ready but keeps answering (for load balancers to notice) before it stops "
    "accepting.",
    "shutdown_grace_seconds": "Not in TF Serving: then, seconds requests already received "
    "have to finish before they are cancelled.",
}

# TF Serving flags sigserve does not implement yet, with TF Serving's defaults.
NOT_IMPLEMENTED: dict[str, str] = {
    "platform_config_file": "",
    "use_alts_credentials": "false",
    "tensorflow_session_config_file": "",
    "per_process_gpu_memory_fraction": "0",
    "flush_filesystem_caches": "true",
    "remove_unused_fields_from_bundle_metagraph": "true",
    "prefer_tflite_model": "false",
    "num_tflite_pools": "",
    "num_tflite_interpreters_per_pool": "1",
    "xla_cpu_compilation_enabled": "false",
    "xla_gpu_compilation_enabled": "false",
    "enable_profiler": "true",
    "thread_pool_factory_config_file": "",
    "mixed_precision": "",
    "skip_initialize_tpu": "false",
    "force_allow_any_version_labels_for_unavailable_models": "false",
}

_NOT_NEGATIVE = (
    "rest_api_max_body_bytes",
    "max_requests_in_progress",
    "shutdown_drain_seconds",
    "shutdown_grace_seconds",
)

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def add_serve_flags(parser: argparse.ArgumentParser) -> None:
    """Add every TF Serving flag to ``parser``."""
    defaults = ServerConfig()
    for field in dataclasses.fields(ServerConfig):
        default = getattr(defaults, field.name)
        help_text = f"{SUPPORTED[field.name]} (default: {_show(default)})"
        if isinstance(default, bool):
            parser.add_argument(
                f"--{field.name}",
                type=parse_bool,
                nargs="?",
                const=True,
                default=default,
                metavar="BOOL",
                help=help_text,
            )
        else:
            parser.add_argument(
                f"--{field.name}", type=type(default), default=default, help=help_text
            )
    group = parser.add_argument_group("TF Serving flags not implemented yet")
    for name, tf_default in NOT_IMPLEMENTED.items():
        group.add_argument(
            f"--{name}",
            nargs="?",
            const="true",
            default=None,
            help=f"not implemented yet (TF Serving default: {tf_default or 'empty'})",
        )
    parser.add_argument("--version", action="store_true", help="Print the version and exit.")


def config_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> ServerConfig:
    """The ServerConfig the parsed flags describe; refuses unimplemented flags."""
    for name, tf_default in NOT_IMPLEMENTED.items():
        value = getattr(args, name)
        if value is not None and not _same(value, tf_default):
            parser.error(
                f"--{name} is a TensorFlow Serving flag that sigserve does not implement yet; "
                "see docs/flags.md"
            )
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(ServerConfig)}
    config = ServerConfig(**values)
    for name in ("port", "rest_api_port"):
        if not 0 <= getattr(config, name) <= 65535:
            parser.error(f"--{name} must be a port number from 0 to 65535 (0: off)")
    for name in _NOT_NEGATIVE:
        if getattr(config, name) < 0:
            parser.error(f"--{name} cannot be negative")
    if config.log_format not in LOG_FORMATS:
        parser.error(f"--log_format must be one of {', '.join(LOG_FORMATS)}")
    if config.log_level not in LOG_LEVELS:
        parser.error(f"--log_level must be one of {', '.join(LOG_LEVELS)}")
    if config.rest_api_port and config.rest_api_port == config.port:
        parser.error("--rest_api_port cannot be the same as --port")
    if bool(config.rest_api_ssl_cert_file) != bool(config.rest_api_ssl_key_file):
        parser.error("--rest_api_ssl_cert_file and --rest_api_ssl_key_file go together")
    if config.rest_api_ssl_ca_file and not config.rest_api_ssl_cert_file:
        parser.error("--rest_api_ssl_ca_file needs --rest_api_ssl_cert_file and "
                     "--rest_api_ssl_key_file")  # fmt: skip
    if config.grpc_channel_arguments:
        from sigserve.grpc.channel_args import server_options

        try:
            server_options(config.grpc_channel_arguments)
        except ValueError as e:
            parser.error(str(e))
    if not config.model_config_file and not config.model_base_path:
        parser.error("Both --model_base_path and --model_config_file are empty!")
    return config


def parse_serve_flags(argv: Sequence[str]) -> ServerConfig:
    parser = argparse.ArgumentParser(prog="sigserve serve", allow_abbrev=False)
    add_serve_flags(parser)
    return config_from_args(parser.parse_args(argv), parser)


def _same(value: str, tf_default: str) -> bool:
    value = value.strip().lower()
    if tf_default in ("true", "false"):
        return value in (_TRUE if tf_default == "true" else _FALSE)
    if tf_default == "0":
        try:
            return float(value) == 0
        except ValueError:
            return False
    return value == tf_default


def _show(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value) if isinstance(value, str) else str(value)


_DOC_HEADER = """# `sigserve serve` flags

sigserve takes TensorFlow Serving's flags, spelled as `tensorflow_model_server` spells them.
`--flag=value` and `--flag value` both work; booleans take `true`/`false` (or `1`/`0`), and a
bare `--flag` means `true`. Flags without a subcommand mean `serve`, so
`sigserve --model_name=m --model_base_path=/models/m` works like `tensorflow_model_server`.

An unknown flag is an error that names it. A TF Serving flag that sigserve does not implement
yet is refused with a message saying so when it is given any value other than TF Serving's
default.

Defaults are those of TF Serving's Docker image for the ports (gRPC 8500, REST 8501) and of
`tensorflow_model_server` for the rest (`--model_name=default`).

This page is generated from `sigserve/cli/flags.py`: `python -m sigserve.cli.flags > docs/flags.md`.
"""


def markdown() -> str:
    """docs/flags.md, from the flag table."""
    defaults = ServerConfig()
    lines = [_DOC_HEADER, "## Supported", "", "| flag | default | meaning |", "| --- | --- | --- |"]
    for field in dataclasses.fields(ServerConfig):
        default = _show(getattr(defaults, field.name))
        lines.append(f"| `--{field.name}` | `{default}` | {SUPPORTED[field.name]} |")
    lines += ["", "## Not implemented yet (refused)", "", "| flag | TF Serving default |"]
    lines.append("| --- | --- |")
    lines += [f"| `--{name}` | `{value or 'empty'}` |" for name, value in NOT_IMPLEMENTED.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
