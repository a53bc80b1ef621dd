"""What the benchmark ran on: CPU, cores, memory, Python, the versions of every server."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import socket
import subprocess
from pathlib import Path

PEER_PACKAGES = ("tensorflow-cpu", "tensorflow", "kserve", "fastapi", "uvicorn", "protobuf")


def describe(repo: Path, peers_python: Path | None) -> dict[str, str]:
    info = {
        "host": socket.gethostname(),
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count()),
        "memory": f"{_mem_total_gib():.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "tensorflow": _version("tensorflow"),
        "sigserve": f"{_version('sigserve')} ({_git_commit(repo)})",
        "wrk": _wrk_version(),
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    if peers_python is not None and peers_python.exists():
        info["peers"] = _peer_versions(peers_python)
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _run(command: list[str], cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (done.stdout + done.stderr).strip()


def _git_commit(repo: Path) -> str:
    commit = _run(["git", "rev-parse", "--short", "HEAD"], repo) or "unknown commit"
    dirty = _run(["git", "status", "--porcelain", "sigserve"], repo)
    return f"{commit}, sigserve/ modified" if dirty else commit


def _wrk_version() -> str:
    first = _run(["wrk", "-v"]).splitlines()
    return first[0].split(" Copyright")[0] if first else "not installed"


def _peer_versions(python: Path) -> str:
    code = (
        "import importlib.metadata as m\n"
        f"for p in {PEER_PACKAGES!r}:\n"
        "    try: print(f'{p} {m.version(p)}')\n"
        "    except m.PackageNotFoundError: pass\n"
    )
    return ", ".join(_run([str(python), "-c", code]).splitlines())
