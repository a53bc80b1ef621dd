"""Issue 8's targets computed from a run's results (made-up numbers, no servers)."""

from __future__ import annotations

import pytest

from bench.harness.ratios import Ratio, compute
from bench.harness.report import markdown
from bench.harness.results import BenchRun, InProcessRun, ServerRun
from bench.harness.wrk_load import LoadResult


def load(c: int, rps: float, p50: float, p99: float, non_2xx: int = 0) -> LoadResult:
    return LoadResult(c, int(rps * 10), 10.0, p50, p99, p99, non_2xx, 0)


def server(name: str, model: str, *loads: LoadResult, **fields: object) -> ServerRun:
    run = ServerRun(name, model, loads={x.connections: x for x in loads})
    for key, value in fields.items():
        setattr(run, key, value)
    return run


def make_run(*servers: ServerRun, model: str = "mlp") -> BenchRun:
    run = BenchRun(
        machine={"host": "box"}, mode="quick", command="scripts/bench --quick",
        concurrencies=(1, 16, 64), seconds_per_load=3.0, models={model: "a model"},
        servers=list(servers), started="2026-01-01 00:00",
    )  # fmt: skip
    run.in_process[model] = InProcessRun(
        model, calls_per_s=4000.0, p50_ms=0.2, p99_ms=0.4, cold_start_s=2.0, rss_mib=600.0
    )
    return run


def find(ratios: list[Ratio], what: str) -> Ratio:
    (ratio,) = [r for r in ratios if r.what == what]
    return ratio


MLP = (
    server("sigserve", "mlp", load(1, 2000, 0.5, 1.0), load(16, 4400, 3.0, 8.0),
           load(64, 4000, 15.0, 40.0), cold_start_s=2.4, rss_mib=720.0),
    server("fastapi", "mlp", load(16, 800, 18.0, 150.0), load(64, 700, 80, 300)),
    server("kserve", "mlp", load(16, 1000, 15.0, 30.0), load(64, 1000, 60, 90)),
)  # fmt: skip


def test_sigserve_against_the_best_baseline() -> None:
    ratios = compute(make_run(*MLP))
    mid = find(ratios, "sigserve / best baseline req/s, c=16")
    assert mid.value == pytest.approx(4.4)  # against KServe's 1,000, the faster baseline
    assert mid.met is True
    assert "(kserve)" in mid.detail
    high = find(ratios, "sigserve / best baseline req/s, c=64")
    assert high.value == pytest.approx(4.0) and high.target == ""


def test_a_higher_p99_than_the_baseline_misses_the_target() -> None:
    slow_tail = server("sigserve", "mlp", load(16, 4400, 3.0, 31.0))
    ratios = compute(make_run(slow_tail, *MLP[1:]))
    assert find(ratios, "sigserve / best baseline req/s, c=16").met is False


def test_tail_cold_start_rss_and_in_process() -> None:
    ratios = compute(make_run(*MLP))
    tail = find(ratios, "sigserve p99 / p50, c=64")
    assert (tail.value, tail.met) == (pytest.approx(40 / 15), True)
    cold = find(ratios, "sigserve / bare script cold start")
    assert (cold.value, cold.met) == (pytest.approx(1.2), True)
    rss = find(ratios, "sigserve / bare script RSS")
    assert (rss.value, rss.met) == (pytest.approx(1.2), True)
    assert find(ratios, "sigserve req/s, c=1 / in-process calls/s").value == pytest.approx(0.5)


def test_batching_ratios() -> None:
    on = server("sigserve-batching", "mlp", load(1, 400, 2.3, 3.0), load(64, 7000, 8.0, 20.0))
    ratios = compute(make_run(*MLP, on))
    assert find(ratios, "batching on / off req/s, c=64").value == pytest.approx(1.75)
    added = find(ratios, "batching on - off p50, c=1")
    assert (added.value, added.met) == (pytest.approx(1.8), True)


def test_unavailable_batching_is_not_measured_not_a_failure() -> None:
    refused = server("sigserve-batching", "mlp", status="unavailable", note="--enable_batching ...")
    run = make_run(*MLP, refused)
    ratios = compute(run)
    batching = find(ratios, "batching on / off req/s, c=64")
    assert batching.value is None and batching.met is None
    text = markdown(run, ratios)
    assert "**unavailable**: --enable_batching ..." in text
    assert "| mlp | batching on / off req/s, c=64 | n/a | ≥ 1.5x | not measured |" in text


def test_report_counts_errors_and_names_the_machine() -> None:
    failing = server("sigserve", "mlp", load(1, 100, 1.0, 2.0, non_2xx=5))
    text = markdown(make_run(failing), compute(make_run(failing)))
    assert "on box" in text
    assert "| 5 non-2xx |" in text
    assert "| mlp | model called in-process | 4,000 calls/s · 0.20 / 0.40 ms |" in text
