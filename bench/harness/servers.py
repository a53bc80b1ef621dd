"""The servers under test and how each is launched for one model on one loopback port."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.harness.models import BenchModel

BATCHING_PARAMETERS = """\
max_batch_size { value: 64 }
batch_timeout_micros { value: 2000 }
num_batch_threads { value: 2 }
max_enqueued_batches { value: 100 }
"""
BATCH_TIMEOUT_MS = 2.0  # batch_timeout_micros above

# What a server prints when it refuses a flag it does not implement (yet): the row is then
# "unavailable", not a failure of the run.
REFUSAL_MARKERS = ("not implement", "unrecognized arguments", "no such option")


@dataclass(frozen=True)
class Paths:
    repo: Path
    work: Path
    project_python: Path  # .venv: sigserve, the in-process run, the model builder
    peers_python: Path  # bench/.venv-peers: FastAPI, KServe

    @property
    def sigserve(self) -> Path:
        return self.project_python.parent / "sigserve"

    @property
    def batching_parameters(self) -> Path:
        path = self.work / "batching_parameters.txt"
        if not path.exists() or path.read_text() != BATCHING_PARAMETERS:
            path.write_text(BATCHING_PARAMETERS)
        return path

    def process(self, script: str) -> str:
        return str(self.repo / "bench" / "processes" / script)


@dataclass(frozen=True)
class Server:
    name: str  # for --only
    label: str  # in the tables
    peer: bool  # runs in the peers venv
    command: Callable[[Paths, BenchModel, int], list[str]]


def _sigserve(paths: Paths, model: BenchModel, port: int) -> list[str]:
    return [
        str(paths.sigserve), "serve", f"--model_name={model.name}",
        f"--model_base_path={model.base_path}", f"--rest_api_port={port}", "--port=0",
        "--rest_api_host=127.0.0.1",
        "--access_log=false",  # the peers log no line per request either
    ]  # fmt: skip


def _sigserve_batching(paths: Paths, model: BenchModel, port: int) -> list[str]:
    return [
        *_sigserve(paths, model, port),
        "--enable_batching=true",
        f"--batching_parameters_file={paths.batching_parameters}",
    ]


def _fastapi(paths: Paths, model: BenchModel, port: int) -> list[str]:
    return [
        str(paths.peers_python), paths.process("fastapi_server.py"),
        model.name, str(model.export_dir), str(port),
    ]  # fmt: skip


def _kserve(paths: Paths, model: BenchModel, port: int) -> list[str]:
    return [
        str(paths.peers_python), paths.process("kserve_server.py"),
        f"--model_name={model.name}", f"--export_dir={model.export_dir}",
        f"--http_port={port}", "--enable_grpc=false",
    ]  # fmt: skip


SERVERS = (
    Server("sigserve", "sigserve", False, _sigserve),
    Server("sigserve-batching", "sigserve, batching on", False, _sigserve_batching),
    Server("fastapi", "FastAPI + uvicorn", True, _fastapi),
    Server("kserve", "KServe ModelServer", True, _kserve),
)
BASELINES = ("fastapi", "kserve")


def predict_url(port: int, model: BenchModel) -> str:
    return f"http://127.0.0.1:{port}/v1/models/{model.name}:predict"


def refused_flag(log_tail: str) -> bool:
    text = log_tail.lower()
    return any(marker in text for marker in REFUSAL_MARKERS)
