"""The ratios a run is judged by (issue 8's targets), computed from its results alone."""

from __future__ import annotations

from dataclasses import dataclass

from bench.harness.numbers import ms, rate
from bench.harness.results import BenchRun
from bench.harness.servers import BASELINES, BATCH_TIMEOUT_MS
from bench.harness.wrk_load import LoadResult

LOW_C, MID_C, HIGH_C = 1, 16, 64


@dataclass(frozen=True)
class Ratio:
    what: str
    model: str
    value: float | None  # None: a side is missing (not run, unavailable, failed)
    unit: str  # "x" for a ratio, "ms" for a difference
    target: str = ""  # issue 8's target, where it sets one for this model
    met: bool | None = None
    detail: str = ""


def compute(run: BenchRun) -> list[Ratio]:
    ratios: list[Ratio] = []
    for model in run.models:
        ratios += [
            _vs_best_baseline(run, model, c) for c in run.concurrencies if c in (MID_C, HIGH_C)
        ]
        ratios.append(_tail(run, model))
        ratios += _batching(run, model)
        ratios.append(_vs_in_process(run, model))
        ratios += _vs_bare_script(run, model)
    return ratios


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _best_baseline(run: BenchRun, model: str, c: int) -> tuple[str, LoadResult] | None:
    loads = [(name, run.load(name, model, c)) for name in BASELINES]
    present = [(name, load) for name, load in loads if load is not None]
    return max(present, key=lambda item: item[1].rps) if present else None


def _vs_best_baseline(run: BenchRun, model: str, c: int) -> Ratio:
    what = f"sigserve / best baseline req/s, c={c}"
    ours, best = run.load("sigserve", model, c), _best_baseline(run, model, c)
    if ours is None or best is None:
        return Ratio(what, model, None, "x")
    name, theirs = best
    value = ours.rps / theirs.rps if theirs.rps else None
    detail = (
        f"{rate(ours.rps)} vs {rate(theirs.rps)} req/s ({name}); "
        f"p99 {ms(ours.p99_ms)} vs {ms(theirs.p99_ms)} ms"
    )
    if model == "mlp" and c == MID_C:
        met = value is not None and value >= 4 and ours.p99_ms < theirs.p99_ms
        return Ratio(what, model, value, "x", "≥ 4x, lower p99", met, detail)
    return Ratio(what, model, value, "x", detail=detail)


def _tail(run: BenchRun, model: str) -> Ratio:
    what = f"sigserve p99 / p50, c={HIGH_C}"
    load = run.load("sigserve", model, HIGH_C)
    if load is None:
        return Ratio(what, model, None, "x")
    value = _ratio(load.p99_ms, load.p50_ms)
    detail = f"p50 {ms(load.p50_ms)} ms, p99 {ms(load.p99_ms)} ms"
    if model == "mlp":
        return Ratio(what, model, value, "x", "≤ 3x", value is not None and value <= 3, detail)
    return Ratio(what, model, value, "x", detail=detail)


def _batching(run: BenchRun, model: str) -> list[Ratio]:
    what_rps = f"batching on / off req/s, c={HIGH_C}"
    what_p50 = f"batching on - off p50, c={LOW_C}"
    on_high, off_high = (run.load(s, model, HIGH_C) for s in ("sigserve-batching", "sigserve"))
    on_low, off_low = (run.load(s, model, LOW_C) for s in ("sigserve-batching", "sigserve"))
    rps, rps_detail = None, ""
    if on_high and off_high:
        rps, rps_detail = (
            _ratio(on_high.rps, off_high.rps),
            f"{rate(on_high.rps)} vs {rate(off_high.rps)} req/s",
        )
    added, p50_detail = None, ""
    if on_low and off_low:
        added, p50_detail = (
            on_low.p50_ms - off_low.p50_ms,
            f"p50 {ms(on_low.p50_ms)} vs {ms(off_low.p50_ms)} ms",
        )
    if model != "mlp":
        return [
            Ratio(what_rps, model, rps, "x", detail=rps_detail),
            Ratio(what_p50, model, added, "ms", detail=p50_detail),
        ]
    return [
        Ratio(what_rps, model, rps, "x", "≥ 1.5x", None if rps is None else rps >= 1.5, rps_detail),
        Ratio(
            what_p50, model, added, "ms", f"≤ {BATCH_TIMEOUT_MS:g} ms (batch_timeout_micros)",
            None if added is None else added <= BATCH_TIMEOUT_MS, p50_detail,
        ),
    ]  # fmt: skip


def _vs_in_process(run: BenchRun, model: str) -> Ratio:
    what = f"sigserve req/s, c={LOW_C} / in-process calls/s"
    load, bare = run.load("sigserve", model, LOW_C), run.in_process.get(model)
    calls = bare.calls_per_s if bare is not None else None
    value = _ratio(load and load.rps, calls)
    detail = f"{rate(load.rps)} req/s vs {rate(calls)} calls/s" if load and calls else ""
    if model == "mobilenet":
        met = None if value is None else value >= 0.6
        return Ratio(what, model, value, "x", "≥ 0.6x", met, detail)
    return Ratio(what, model, value, "x", detail=detail)


def _vs_bare_script(run: BenchRun, model: str) -> list[Ratio]:
    ours, bare = run.server_run("sigserve", model), run.in_process.get(model)
    ratios = []
    for what, attr, unit in (("cold start", "cold_start_s", "s"), ("RSS", "rss_mib", "MiB")):
        mine = getattr(ours, attr) if ours is not None and ours.status == "ok" else None
        theirs = getattr(bare, attr) if bare is not None else None
        value = _ratio(mine, theirs)
        detail = f"{mine:,.1f} vs {theirs:,.1f} {unit}" if mine and theirs else ""
        met = None if value is None else value <= 1.3
        ratios.append(
            Ratio(f"sigserve / bare script {what}", model, value, "x", "≤ 1.3x", met, detail)
        )
    return ratios
