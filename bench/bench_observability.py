"""What counting and access logging cost per request.

1. ``micro``: the REST middleware around a do-nothing ASGI app, per request, in
   one process: bare app, metrics only, access log only, both, both with JSON
   lines (written to /dev/null), timed in alternating rounds.
2. ``wrk``: three real servers on half_plus_two (neither metrics nor access log;
   metrics; metrics and access log to a file), loaded in turn with wrk (same body,
   same connections), several rounds; the ratio of their median rates is the cost.
   The machine is shared: read the ratio, not the absolute numbers.

    .venv/bin/python bench/bench_observability.py micro
    .venv/bin/python bench/bench_observability.py wrk [--model mlp] [--seconds 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "bench" / ".work"


# ------------------------------------------------------------------ micro


async def _inner(scope, receive, send) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b'{"predictions": [2.5]}'})


async def _drive(app, n: int) -> float:
    scope = {"type": "http", "method": "POST", "path": "/v1/models/m:predict",
             "raw_path": b"/v1/models/m:predict", "headers": [], "client": ("127.0.0.1", 1)}
    message = {"type": "http.request", "body": b'{"instances": [1.0]}', "more_body": False}

    async def receive():
        return message

    async def send(_):
        return None

    start = time.perf_counter()
    for _ in range(n):
        await app(scope, receive, send)
    return (time.perf_counter() - start) / n


def micro(n: int = 20000, rounds: int = 5) -> None:
    from sigserve.observability.logs import configure_logging
    from sigserve.observability.metrics import ServerMetrics
    from sigserve.observability.rest_middleware import ObservedRestApp

    metrics = ServerMetrics()
    metrics.watch(lambda: {"m": {1: "AVAILABLE"}})

    def observed(count: bool, log: bool) -> object:
        return ObservedRestApp(
            _inner, metrics=metrics if count else None, metrics_path="/m", access_log=log
        )

    cases = [  # (name, log format, app)
        ("bare", "plain", _inner),
        ("metrics", "plain", observed(True, False)),
        ("log (plain)", "plain", observed(False, True)),
        ("metrics+log", "plain", observed(True, True)),
        ("metrics+log json", "json", observed(True, True)),
    ]
    times: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    for _ in range(rounds):  # alternating, so that a noisy moment hits every case
        for name, log_format, app in cases:
            configure_logging(log_format, "info")
            devnull = open(os.devnull, "w")  # noqa: SIM115
            for logger in (logging.getLogger(), logging.getLogger("sigserve.access")):
                for handler in logger.handlers:
                    handler.stream = devnull  # type: ignore[attr-defined]
            times[name].append(asyncio.run(_drive(app, n)))
    bare = statistics.median(times["bare"])
    for name, samples in times.items():
        t = statistics.median(samples)
        extra = f"  +{(t - bare) * 1e6:.1f} us over bare" if name != "bare" else ""
        print(f"{name:17s} {t * 1e6:7.1f} us/request{extra}")


# ------------------------------------------------------------------ wrk


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _model(name: str) -> tuple[str, str]:
    """(base path, body file) of a benchmark model (bench/.work/manifest.json)."""
    entry = json.loads((WORK / "manifest.json").read_text())[name]
    return entry["base_path"], entry["body"]


def _start(model: str, flags: list[str], log: Path) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    args = [sys.executable, "-m", "sigserve", "serve", "--model_name=m",
            f"--model_base_path={_model(model)[0]}", "--port=0",
            f"--rest_api_port={port}", "--rest_api_host=127.0.0.1", *flags]
    out = open(log, "w")  # noqa: SIM115
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=env)
    deadline = time.monotonic() + 120
    while "sigserve ready" not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(log.read_text(errors="replace"))
        time.sleep(0.2)
    return process, port


def _wrk(model: str, port: int, seconds: int, connections: int) -> float:
    env = dict(os.environ, BENCH_BODY=_model(model)[1])
    result = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(WORK / "post_body.lua"),
         f"http://127.0.0.1:{port}/v1/models/m:predict"],
        capture_output=True, text=True, env=env, check=True,
    )
    line = next(x for x in result.stdout.splitlines() if x.startswith("SIGSERVE_BENCH"))
    fields = dict(re.findall(r"(\w+)=(\d+)", line))
    if int(fields["status"]) or int(fields["timeout"]):
        raise RuntimeError(f"non-2xx or timeouts: {line}")
    return int(fields["requests"]) / (int(fields["duration_us"]) / 1e6)


def wrk(model: str, seconds: int, rounds: int, connections: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        monitoring = Path(tmp) / "monitoring.txt"
        monitoring.write_text("prometheus_config { enable: true }\n")
        servers = {
            "plain": _start(model, ["--access_log=false"], Path(tmp) / "a.log"),
            "metrics": _start(
                model, [f"--monitoring_config_file={monitoring}", "--access_log=false"],
                Path(tmp) / "b.log",
            ),
            "metrics+log": _start(
                model, [f"--monitoring_config_file={monitoring}"], Path(tmp) / "c.log"
            ),
        }
        try:
            for port in (p for _, p in servers.values()):
                _wrk(model, port, 1, connections)  # warm up
            rates: dict[str, list[float]] = {name: [] for name in servers}
            for _ in range(rounds):
                for name, (_, port) in servers.items():
                    rates[name].append(_wrk(model, port, seconds, connections))
            plain = statistics.median(rates["plain"])
            for name, samples in rates.items():
                ratio = statistics.median(samples) / plain
                print(f"{name:12s} " + " ".join(f"{r:7.0f}" for r in samples)
                      + f" req/s; median / plain: {ratio:.3f}")
            print(f"({model}: {rounds} rounds of {seconds}s each, servers in turn, "
                  f"{connections} connections)")
        finally:
            for process, _ in servers.values():
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["micro", "wrk"])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--model", default="half_plus_two", help="from bench/.work/manifest.json")
    args = parser.parse_args()
    if args.what == "micro":
        micro()
    else:
        wrk(args.model, args.seconds, args.rounds, args.connections)


if __name__ == "__main__":
    main()
