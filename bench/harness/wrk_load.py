"""Drive one server with wrk: POST one TF Serving JSON body over keep-alive connections.

wrk's Lua ``done`` hook prints one machine-readable line (``SIGSERVE_BENCH key=value ...``) with
the exact request count, duration, latency percentiles (microseconds) and error counts, next to
wrk's own ``--latency`` report (kept in the log for people).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

MARKER = "SIGSERVE_BENCH"

LUA = """\
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.body = f:read("*a")
f:close()

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "%s requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d "
      .. "connect=%d read=%d write=%d status=%d timeout=%d\\n",
    "MARKER", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
""".replace("MARKER", MARKER)


@dataclass(frozen=True)
class LoadResult:
    """What one wrk run measured."""

    connections: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int  # answered with a status other than 2xx/3xx
    socket_errors: int  # connect, read, write errors and timeouts

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


class WrkOutputError(ValueError):
    """wrk's output had no (or a malformed) summary line."""


def parse_summary(output: str, connections: int) -> LoadResult:
    """The LoadResult in wrk's output (the line the ``done`` hook printed)."""
    for line in output.splitlines():
        if line.startswith(MARKER + " "):
            break
    else:
        raise WrkOutputError(f"no {MARKER} line in wrk's output: {output[-500:]!r}")
    try:
        fields = dict(item.split("=", 1) for item in line.split()[1:])
        values = {key: int(value) for key, value in fields.items()}
        return LoadResult(
            connections=connections,
            requests=values["requests"],
            seconds=values["duration_us"] / 1e6,
            p50_ms=values["p50_us"] / 1e3,
            p99_ms=values["p99_us"] / 1e3,
            max_ms=values["max_us"] / 1e3,
            non_2xx=values["status"],
            socket_errors=values["connect"] + values["read"] + values["write"] + values["timeout"],
        )
    except (KeyError, ValueError) as e:
        raise WrkOutputError(f"malformed {MARKER} line {line!r}: {e}") from e


def point_seconds(
    base_s: float, connections: int, rps: float | None, per_connection: int = 3, cap: float = 4
) -> float:
    """How long to load at ``connections`` so that each connection completes about
    ``per_connection`` requests at ``rps`` (the rate seen so far): ``base_s`` for fast models,
    longer for slow ones (MobileNetV2 at 64 connections), at most ``cap`` x ``base_s``."""
    if not rps:
        return base_s
    return min(cap * base_s, max(base_s, per_connection * connections / rps))


def wrk_path() -> str | None:
    return shutil.which("wrk")


def run_wrk(
    url: str,
    body: Path,
    connections: int,
    seconds: float,
    lua: Path,
    log: Path,
    timeout_s: float = 30.0,
) -> LoadResult:
    """One wrk run (one thread: the machine's other cores serve) at ``connections``."""
    lua.write_text(LUA)
    wrk = wrk_path()
    if wrk is None:
        raise FileNotFoundError("wrk is not installed (apt-get install -y wrk)")
    command = [
        wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
        f"--timeout={timeout_s:g}s", "--latency", "-s", str(lua), url,
    ]  # fmt: skip
    done = subprocess.run(
        command,
        env={"BENCH_BODY": str(body), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=seconds + timeout_s + 30,
        check=False,
    )
    with log.open("a") as out:
        out.write(f"$ {' '.join(command)}\n{done.stdout}{done.stderr}\n")
    if done.returncode != 0:
        raise WrkOutputError(f"wrk exited with {done.returncode}: {done.stderr.strip()[-300:]}")
    return parse_summary(done.stdout, connections)
