"""One measurement at a time: the bare in-process script, or one server under wrk."""

from __future__ import annotations

import contextlib
import http.client
import json
import selectors
import socket
import sys
import time
from typing import Any

from bench.harness import processes
from bench.harness.answers import same_predictions
from bench.harness.http_probe import ServerExited, post_json, wait_for_first_predict
from bench.harness.models import BenchModel
from bench.harness.results import InProcessRun, ServerRun
from bench.harness.servers import Paths, Server, predict_url, refused_flag
from bench.harness.wrk_load import WrkOutputError, point_seconds, run_wrk


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _json_line(launched: processes.Launched, timeout_s: float) -> dict[str, Any]:
    """The next JSON line the child prints, waiting at most ``timeout_s``."""
    stdout = launched.process.stdout
    assert stdout is not None
    deadline = time.monotonic() + timeout_s
    with selectors.DefaultSelector() as selector:
        selector.register(stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(timeout=min(1.0, deadline - time.monotonic())):
                continue
            line = stdout.readline()
            if not line:
                raise ServerExited(launched.process.wait(), launched.log_tail())
            if line.startswith(b"{"):
                return json.loads(line)
    raise TimeoutError(f"no answer within {timeout_s:.0f} s")


def in_process(
    paths: Paths, model: BenchModel, seconds: float, start_timeout_s: float
) -> tuple[InProcessRun, Any]:
    """The bare script's cold start, call rate and RSS, and its predictions (the reference)."""
    command = [
        str(paths.project_python), paths.process("in_process.py"),
        str(model.export_dir), str(model.body), str(seconds),
    ]  # fmt: skip
    log = paths.work / "logs" / f"in_process-{model.name}.log"
    launched = processes.launch(command, log, paths.repo, stdout_pipe=True)
    run = InProcessRun(model.name)
    try:
        _json_line(launched, start_timeout_s)
        run.cold_start_s = time.monotonic() - launched.started
        result = _json_line(launched, seconds + 60)
    except (ServerExited, TimeoutError) as e:
        run.status, run.note = "failed", _one_line(str(e))
        return run, None
    finally:
        processes.stop(launched)
    run.calls_per_s, run.p50_ms, run.p99_ms = (
        result[k] for k in ("calls_per_s", "p50_ms", "p99_ms")
    )
    run.rss_mib = result["rss_kib"] / 1024
    say(
        f"[{model.name}] in-process: cold start {run.cold_start_s:.2f} s, "
        f"{run.calls_per_s:,.1f} calls/s, p50 {run.p50_ms:.2f} ms, p99 {run.p99_ms:.2f} ms, "
        f"RSS {run.rss_mib:,.0f} MiB"
    )
    return run, result["predictions"]


def server(
    paths: Paths,
    spec: Server,
    model: BenchModel,
    reference: Any,
    concurrencies: tuple[int, ...],
    seconds: float,
    warmup_s: float,
    start_timeout_s: float,
) -> ServerRun:
    """Launch ``spec`` for ``model``, time its cold start, check its answer, load it with wrk."""
    run = ServerRun(spec.name, model.name)
    port = free_port()
    url = predict_url(port, model)
    log = paths.work / "logs" / f"{spec.name}-{model.name}.log"
    lua = paths.work / "post_body.lua"
    launched = processes.launch(spec.command(paths, model, port), log, paths.repo)
    try:
        try:
            cold, answer = wait_for_first_predict(
                launched, url, model.body.read_bytes(), start_timeout_s
            )
        except ServerExited as e:
            run.status = "unavailable" if refused_flag(e.log_tail) else "failed"
            run.note = _one_line(e.log_tail.splitlines()[-1] if e.log_tail else str(e))
            say(f"[{model.name}] {spec.name}: {run.status}: {run.note}")
            return run
        except TimeoutError as e:
            run.status, run.note = "failed", _one_line(str(e))
            say(f"[{model.name}] {spec.name}: failed: {run.note}")
            return run
        run.cold_start_s = cold
        predictions = json.loads(answer).get("predictions")
        if reference is not None and not same_predictions(predictions, reference):
            run.status = "wrong answer"
            run.note = _one_line(f"predictions {str(predictions)[:120]}")
            say(f"[{model.name}] {spec.name}: wrong answer: {run.note}")
            return run
        say(f"[{model.name}] {spec.name}: cold start {cold:.2f} s, answer checked")
        try:
            rate = run_wrk(url, model.body, 16, warmup_s, lua, log).rps
            for c in concurrencies:
                settle(url, model, launched.pid)
                load = run_wrk(url, model.body, c, point_seconds(seconds, c, rate), lua, log)
                run.loads[c] = load
                rate = max(rate, load.rps)
                say(
                    f"[{model.name}] {spec.name}: c={c}: {load.rps:,.1f} req/s, p50 "
                    f"{load.p50_ms:.2f} ms, p99 {load.p99_ms:.2f} ms, {load.errors} errors "
                    f"({load.requests} requests in {load.seconds:.1f} s)"
                )
        except (WrkOutputError, OSError) as e:
            run.status, run.note = "failed", _one_line(str(e))
        if launched.exited():
            run.status, run.note = "failed", _one_line(f"server died: {launched.log_tail(1)}")
        else:
            run.rss_mib = processes.group_rss_mib(launched.pid)
        return run
    finally:
        processes.stop(launched)


def settle(url: str, model: BenchModel, pgid: int, timeout_s: float = 60.0) -> None:
    """Wait until the server has worked off what the last load left queued (wrk stops sending,
    the server still answers what it read): one more answered request, then until its
    processes use under 5% of a core for 0.2 s."""
    with contextlib.suppress(OSError, http.client.HTTPException):
        post_json(url, model.body.read_bytes(), timeout_s=timeout_s)
    deadline = time.monotonic() + timeout_s
    used = processes.group_cpu_s(pgid)
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = processes.group_cpu_s(pgid)
        if now - used < 0.01:
            return
        used = now


def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(text.split()).replace("|", "/")
    return text if len(text) <= limit else text[: limit - 1] + "…"
