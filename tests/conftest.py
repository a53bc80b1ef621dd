"""Shared fixtures: paths to TF Serving's test models, and real server processes.

``start_server(*flags)`` starts ``python -m sigserve serve`` on free loopback
ports, waits until it answers, and stops it when the test module (or session)
that asked for it ends.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TESTDATA = REPO.parent / "shared" / "testdata" / "tf_serving"


@pytest.fixture(scope="session")
def testdata() -> Path:
    if not TESTDATA.is_dir():
        pytest.fail(f"TF Serving test data not found at {TESTDATA}")
    return TESTDATA


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def unused_port() -> Callable[[], int]:
    """A function giving a free loopback port."""
    return free_port


@dataclass
class ServerProcess:
    process: subprocess.Popen[str]
    rest_port: int
    grpc_port: int
    log_path: Path
    args: list[str] = field(default_factory=list)

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

    @property
    def grpc_address(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def launch(*flags: str, log_dir: Path, wait: bool = True, timeout: float = 90) -> ServerProcess:
    """Start a sigserve server with TF Serving flags; ports are chosen unless given.
    With ``SIGSERVE_TEST_BATCHING=1`` batching is turned on (see :func:`_batching_flags`)."""
    args = list(flags) + _batching_flags(flags, log_dir)
    rest_port = _flag_int(args, "rest_api_port")
    grpc_port = _flag_int(args, "port")
    if rest_port is None:
        rest_port = free_port()
        args.append(f"--rest_api_port={rest_port}")
    if grpc_port is None:
        grpc_port = free_port()
        args.append(f"--port={grpc_port}")
    log_path = log_dir / f"sigserve-{rest_port}-{grpc_port}.log"
    log_file = open(log_path, "w")  # noqa: SIM115 - owned by the process
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "sigserve", "serve", *args],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=REPO,
        env=env,
    )
    server = ServerProcess(process, rest_port, grpc_port, log_path, args)
    if wait:
        wait_ready(server, timeout)
    return server


BATCHING_PARAMETERS = (
    "max_batch_size { value: 64 }\n"
    "batch_timeout_micros { value: 1000 }\n"
    "num_batch_threads { value: 2 }\n"
)


def _batching_flags(flags: tuple[str, ...], log_dir: Path) -> list[str]:
    """``--enable_batching`` with a batching parameters file when the environment asks for
    it (``SIGSERVE_TEST_BATCHING=1``: the whole suite against batching), unless the test
    chose batching flags itself."""
    if os.environ.get("SIGSERVE_TEST_BATCHING") != "1":
        return []
    own = ("--enable_batching", "--batching_parameters_file", "--enable_per_model_batching")
    if any(flag.startswith(own) for flag in flags):
        return []
    path = log_dir / "batching_parameters.txt"
    path.write_text(BATCHING_PARAMETERS)
    return ["--enable_batching=true", f"--batching_parameters_file={path}"]


def wait_ready(server: ServerProcess, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"sigserve exited with {server.process.returncode}:\n{server.log()}")
        if "sigserve ready" in server.log():
            return
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"sigserve did not become ready in {timeout}s:\n{server.log()}")


def _flag_int(args: list[str], name: str) -> int | None:
    for i, arg in enumerate(args):
        if arg.startswith(f"--{name}="):
            return int(arg.split("=", 1)[1])
        if arg == f"--{name}" and i + 1 < len(args):
            return int(args[i + 1])
    return None


@pytest.fixture(scope="module")
def start_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., ServerProcess]]:
    """A factory: ``start_server("--model_name=m", "--model_base_path=...")``."""
    started: list[ServerProcess] = []
    log_dir = tmp_path_factory.mktemp("server-logs")

    def start(*flags: str, wait: bool = True) -> ServerProcess:
        server = launch(*flags, log_dir=log_dir, wait=wait)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _build_echo(base: Path) -> None:
    """Every dtype JSON can carry, echoed back; plus a ``_bytes`` output."""
    import tensorflow as tf

    specs = {
        "f16": tf.float16, "f32": tf.float32, "f64": tf.float64, "bf16": tf.bfloat16,
        "i8": tf.int8, "i16": tf.int16, "i32": tf.int32, "i64": tf.int64,
        "u8": tf.uint8, "u16": tf.uint16, "u32": tf.uint32, "u64": tf.uint64,
        "b": tf.bool, "s": tf.string,
    }  # fmt: skip

    class Echo(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], d, name=n) for n, d in specs.items()])
        def echo(self, *args: tf.Tensor) -> dict[str, tf.Tensor]:
            out = {f"{name}_out": tf.identity(arg) for name, arg in zip(specs, args, strict=True)}
            out["s_bytes"] = tf.identity(args[-1])
            return out

        @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
        def two_outputs(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
            return {"sum": tf.reduce_sum(x, axis=1), "double": x * 2.0}

        @tf.function(input_signature=[tf.TensorSpec([], tf.int32, name="n")])
        def slow(self, n: tf.Tensor) -> dict[str, tf.Tensor]:
            m = tf.ones([256, 256]) / 256.0
            result = tf.while_loop(
                lambda i, a: i < n, lambda i, a: (i + 1, tf.matmul(a, m)), (tf.constant(0), m)
            )[1]
            return {"y": tf.reduce_sum(result)}

    module = Echo()
    tf.saved_model.save(
        module,
        str(base / "1"),
        signatures={
            "serving_default": module.echo,
            "two_outputs": module.two_outputs,
            "slow": module.slow,
        },
    )


@pytest.fixture(scope="session")
def echo_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Base path of a model with one input per dtype (signature ``serving_default``),
    ``two_outputs`` and a ``slow`` signature whose run time grows with its input ``n``."""
    base = tmp_path_factory.mktemp("echo")
    _build_echo(base)
    return base
