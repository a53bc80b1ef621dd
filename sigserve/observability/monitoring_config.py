"""TF Serving's ``--monitoring_config_file``: a text ``MonitoringConfig`` proto.

    prometheus_config { enable: true path: "/monitoring/prometheus/metrics" }

The messages (``tensorflow_serving/config/monitoring_config.proto``) are declared
here from their field list, because the ``tensorflow-serving-api`` package does
not ship them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sigserve.errors import invalid_argument
from sigserve.protos import declare_messages, parse_text

DEFAULT_PATH = "/monitoring/prometheus/metrics"  # TF Serving's PrometheusExporter::kPrometheusPath


MonitoringConfigProto = declare_messages(
    "sigserve/monitoring_config.proto",
    {
        "PrometheusConfig": [("enable", 1, "bool", False), ("path", 2, "string", False)],
        "MonitoringConfig": [
            ("prometheus_config", 1, ".tensorflow.serving.PrometheusConfig", False)
        ],
    },
)["MonitoringConfig"]


@dataclass(frozen=True)
class PrometheusOptions:
    enable: bool = False
    path: str = DEFAULT_PATH


def read_monitoring_config(path: str) -> PrometheusOptions:
    """The Prometheus settings of a monitoring config file (TF Serving's parse errors)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise invalid_argument(
            f"--monitoring_config_file: cannot read {path}: {e.strerror or e}"
        ) from None
    except UnicodeDecodeError:
        raise invalid_argument(f"--monitoring_config_file: {path} is not UTF-8 text") from None
    return monitoring_options(parse_text(text, MonitoringConfigProto(), path))


def monitoring_options(message: Any) -> PrometheusOptions:
    config = message.prometheus_config
    path = config.path or DEFAULT_PATH
    if config.enable and not path.startswith("/"):
        raise invalid_argument(
            f"prometheus_config.path must be an absolute URL path, got {path!r}"
        )
    return PrometheusOptions(enable=config.enable, path=path)
