"""``--monitoring_config_file``: TF Serving's text MonitoringConfig."""

from __future__ import annotations

from pathlib import Path

import pytest

from sigserve.cli.flags import parse_serve_flags
from sigserve.errors import Code, ServingError
from sigserve.observability.monitoring_config import (
    DEFAULT_PATH,
    PrometheusOptions,
    read_monitoring_config,
)


def test_tf_serving_test_file(testdata: Path) -> None:
    options = read_monitoring_config(str(testdata / "monitoring_config.txt"))
    assert options == PrometheusOptions(enable=True, path="/monitoring/prometheus/metrics")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", PrometheusOptions(enable=False, path=DEFAULT_PATH)),
        ("prometheus_config { enable: true }", PrometheusOptions(True, DEFAULT_PATH)),
        ('prometheus_config { enable: true path: "/m" }', PrometheusOptions(True, "/m")),
        ('prometheus_config { path: "/m" }', PrometheusOptions(False, "/m")),
    ],
)
def test_fields_and_defaults(tmp_path: Path, text: str, expected: PrometheusOptions) -> None:
    path = tmp_path / "monitoring.txt"
    path.write_text(text)
    assert read_monitoring_config(str(path)) == expected


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("prometheus_config { enabled: true }", "Error parsing text-format "
         "tensorflow.serving.MonitoringConfig"),
        ('prometheus_config { enable: true path: "metrics" }', "absolute URL path"),
    ],
)  # fmt: skip
def test_bad_files_are_invalid_argument(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "monitoring.txt"
    path.write_text(text)
    with pytest.raises(ServingError) as caught:
        read_monitoring_config(str(path))
    assert caught.value.code == Code.INVALID_ARGUMENT
    assert needle in caught.value.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ServingError, match="cannot read"):
        read_monitoring_config(str(tmp_path / "absent.txt"))


def test_flags_are_supported(tmp_path: Path) -> None:
    config = parse_serve_flags([
        "--model_base_path=/m", f"--monitoring_config_file={tmp_path}/x.txt",
        "--log_format=json", "--access_log=false", "--log_level=warning",
    ])  # fmt: skip
    assert config.monitoring_config_file == f"{tmp_path}/x.txt"
    assert (config.log_format, config.access_log, config.log_level) == ("json", False, "warning")


@pytest.mark.parametrize("flag", ["--log_format=xml", "--log_level=loud"])
def test_bad_log_flags_are_usage_errors(flag: str) -> None:
    with pytest.raises(SystemExit) as caught:
        parse_serve_flags(["--model_base_path=/m", flag])
    assert caught.value.code == 2
