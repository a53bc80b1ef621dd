"""Every sigserve command fails in one line on stderr, without a traceback (unless
``--debug``), and a second server on a port in use stops with one clear line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run(
        [sys.executable, "-m", "sigserve", *args],
        capture_output=True, text=True, timeout=timeout, cwd=REPO, env=env,
    )  # fmt: skip


def one_line(result: subprocess.CompletedProcess[str], status: int, *needles: str) -> str:
    """The one stderr line of a failed command, after checking its exit status."""
    assert result.returncode == status, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def model_path(testdata: Path) -> str:
    return str(testdata / "saved_model_half_plus_two_cpu")


@pytest.fixture(scope="module")
def server(start_server, model_path: str):
    return start_server(
        "--model_name=half_plus_two", f"--model_base_path={model_path}",
        "--rest_api_host=127.0.0.1", "--grpc_host=127.0.0.1",
    )  # fmt: skip


def test_log_and_ready_lines_name_the_real_address(server) -> None:
    log = server.log()
    assert f"sigserve ready: gRPC on 127.0.0.1:{server.grpc_port}, " in log
    assert f"REST on 127.0.0.1:{server.rest_port}" in log
    assert f"Exporting HTTP/REST API at:127.0.0.1:{server.rest_port} " in log
    assert f"Running gRPC ModelServer at 127.0.0.1:{server.grpc_port} " in log
    assert "localhost" not in log and "0.0.0.0" not in log


@pytest.mark.parametrize("taken", ["grpc", "rest"])
def test_a_port_in_use_is_one_clear_line(server, model_path: str, taken: str) -> None:
    if taken == "grpc":
        ports = [f"--port={server.grpc_port}", f"--rest_api_port={free_port()}"]
        needles = (f"gRPC on 0.0.0.0:{server.grpc_port}", "already in use", "--port")
    else:
        ports = [f"--port={free_port()}", f"--rest_api_port={server.rest_port}"]
        needles = (f"HTTP/REST on 0.0.0.0:{server.rest_port}", "already in use",
                   "--rest_api_port")  # fmt: skip
    result = run_cli("serve", "--model_name=m", f"--model_base_path={model_path}", *ports)
    line = one_line(result, 1, *needles)
    assert line.startswith("sigserve: cannot listen for ")
    # the first server is untouched and still the only one answering
    r = httpx.post(f"{server.rest_url}/v1/models/half_plus_two:predict",
                   json={"instances": [1.0]}, timeout=30)  # fmt: skip
    assert r.json() == {"predictions": [2.5]}


def test_a_host_not_on_this_machine_is_one_line(model_path: str) -> None:
    result = run_cli("serve", f"--model_base_path={model_path}", f"--port={free_port()}",
                     f"--rest_api_port={free_port()}", "--rest_api_host=192.0.2.1")  # fmt: skip
    one_line(result, 1, "192.0.2.1", "--rest_api_host")


@pytest.mark.parametrize(
    ("flags", "needle"),
    [
        (["--no_such_flag=1"], "--no_such_flag"),
        (["--enable_model_warmup=maybe"], "expected true or false"),
        (["--port=abc"], "--port"),
        (["--port=-5"], "from 0 to 65535"),
        (["--rest_api_port=70000"], "--rest_api_port must be"),
        (["--platform_config_file=x.conf"], "does not implement yet"),
    ],
)
def test_bad_serve_flags_are_one_line(model_path: str, flags: list[str], needle: str) -> None:
    line = one_line(run_cli("serve", f"--model_base_path={model_path}", *flags), 2, needle)
    assert line.startswith("sigserve serve: error: ") and "--help" in line


def test_serve_without_a_model_is_one_line() -> None:
    one_line(run_cli("--port=8500"), 2, "--model_base_path")


def test_predict_malformed_input() -> None:
    line = one_line(run_cli("predict", "localhost:1", "--model", "m", "--input", "x=[1.0, 2.0"),
                    2, "--input", "x=[1.0, 2.0")  # fmt: skip
    assert "quote it" in line
    one_line(run_cli("predict", "localhost:1", "--model", "m", "--input", "x=@missing.npy"),
             2, "missing.npy")  # fmt: skip
    one_line(run_cli("predict", "localhost:1", "--model", "m", "--input", "x=[[1], [2, 3]]"),
             2, "rectangular")  # fmt: skip


def test_predict_nothing_listening() -> None:
    port = free_port()
    one_line(run_cli("predict", f"http://127.0.0.1:{port}", "--model", "m", "--input", "[1.0]"),
             1, "UNAVAILABLE", f"http://127.0.0.1:{port}", "listening")  # fmt: skip
    one_line(run_cli("predict", f"127.0.0.1:{port}", "--model", "m", "--input", "[1.0]"),
             1, "UNAVAILABLE", f"127.0.0.1:{port}", "gRPC", "http://")  # fmt: skip


def test_predict_a_rest_port_given_as_grpc_says_so(server) -> None:
    target = f"127.0.0.1:{server.rest_port}"
    one_line(run_cli("predict", target, "--model", "half_plus_two", "--input", "[1.0]"),
             1, "UNAVAILABLE", "looks like a REST port", f"use http://{target}")  # fmt: skip


def test_predict_a_grpc_port_given_as_rest_says_so(server) -> None:
    target = f"127.0.0.1:{server.grpc_port}"
    one_line(run_cli("predict", f"http://{target}", "--model", "half_plus_two", "--input",
                     "[1.0]"), 1, "UNAVAILABLE", f"without http://: {target}")  # fmt: skip


@pytest.mark.parametrize("target", ["8501", "localhost", "ftp://host:1"])
def test_predict_a_target_that_names_no_transport(target: str) -> None:
    one_line(run_cli("predict", target, "--model", "m", "--input", "[1.0]"), 2, "http://")


def test_predict_model_errors_are_one_line(server) -> None:
    one_line(run_cli("predict", server.rest_url, "--model", "nope", "--input", "[1.0]"),
             1, "NOT_FOUND")  # fmt: skip
    one_line(run_cli("predict", server.grpc_address, "--model", "half_plus_two",
                     "--input", "[1.0]", "--version", "1", "--label", "x"),
             1, "INVALID_ARGUMENT", "not both")  # fmt: skip


def test_debug_shows_the_traceback() -> None:
    port = free_port()
    result = run_cli("predict", f"http://127.0.0.1:{port}", "--model", "m", "--input", "[1.0]",
                     "--debug")  # fmt: skip
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "ServingError" in result.stderr


def test_an_unexpected_failure_is_one_line(tmp_path: Path) -> None:
    """Any command: an exception nobody planned for still prints one line (no traceback)."""
    result = run_cli("export", "no_such_module_here:model", str(tmp_path / "out"))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("sigserve")
