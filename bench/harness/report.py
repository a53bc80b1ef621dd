"""The run as Markdown: the machine, one table of servers x concurrency, the ratios."""

from __future__ import annotations

from bench.harness.numbers import ms, rate
from bench.harness.ratios import Ratio
from bench.harness.results import BenchRun, ServerRun
from bench.harness.servers import SERVERS
from bench.harness.wrk_load import LoadResult

LABELS = {server.name: server.label for server in SERVERS}
FEW = 100  # fewer requests than this at one point: p99 is the slowest of them, says the cell


def load_cell(load: LoadResult | None) -> str:
    if load is None:
        return "–"
    if load.requests == 0:
        return "0 req"
    cell = f"{rate(load.rps)} req/s · {ms(load.p50_ms)} / {ms(load.p99_ms)} ms"
    return cell if load.requests >= FEW else f"{cell} (n={load.requests})"


def errors_cell(run: ServerRun) -> str:
    non_2xx = sum(load.non_2xx for load in run.loads.values())
    socket = sum(load.socket_errors for load in run.loads.values())
    if not non_2xx and not socket:
        return "0"
    return ", ".join(
        part for part in (non_2xx and f"{non_2xx} non-2xx", socket and f"{socket} socket") if part
    )


def results_table(run: BenchRun) -> list[str]:
    cs = run.concurrencies
    lines = [
        "| model | server | " + " | ".join(f"c={c}: req/s · p50 / p99" for c in cs)
        + " | errors | cold start | RSS |",
        "|---|---|" + "---|" * len(cs) + "---|---|---|",
    ]  # fmt: skip
    for model in run.models:
        bare = run.in_process.get(model)
        if bare is not None:
            if bare.status == "ok" and bare.calls_per_s is not None:
                call = f"{rate(bare.calls_per_s)} calls/s · {ms(bare.p50_ms or 0)} / "
                call += f"{ms(bare.p99_ms or 0)} ms"
                cells = [call] + ["" for _ in cs[1:]]
                tail = f"| | {bare.cold_start_s:.2f} s | {bare.rss_mib:,.0f} MiB |"
            else:
                cells, tail = [f"{bare.status}: {bare.note}"] + ["" for _ in cs[1:]], "| | | |"
            lines.append(f"| {model} | model called in-process | " + " | ".join(cells) + f" {tail}")
        for server in run.servers:
            if server.model != model:
                continue
            label = LABELS.get(server.server, server.server)
            if server.status != "ok":
                cells = [f"**{server.status}**: {server.note}"] + ["" for _ in cs[1:]]
                lines.append(f"| {model} | {label} | " + " | ".join(cells) + " | | | |")
                continue
            cells = [load_cell(server.loads.get(c)) for c in cs]
            cold = f"{server.cold_start_s:.2f} s" if server.cold_start_s is not None else "–"
            rss = f"{server.rss_mib:,.0f} MiB" if server.rss_mib is not None else "–"
            lines.append(
                f"| {model} | {label} | " + " | ".join(cells)
                + f" | {errors_cell(server)} | {cold} | {rss} |"
            )  # fmt: skip
    return lines


def ratio_value(ratio: Ratio) -> str:
    if ratio.value is None:
        return "n/a"
    return f"{ratio.value:+.2f} ms" if ratio.unit == "ms" else f"{ratio.value:.2f}x"


def ratios_table(ratios: list[Ratio]) -> list[str]:
    lines = ["| model | ratio | value | target | met | measured |", "|---|---|---|---|---|---|"]
    for r in ratios:
        met = {True: "yes", False: "**no**", None: ""}[r.met] if r.target else ""
        if r.target and r.value is None:
            met = "not measured"
        lines.append(
            f"| {r.model} | {r.what} | {ratio_value(r)} | {r.target} | {met} | {r.detail} |"
        )
    return lines


def markdown(run: BenchRun, ratios: list[Ratio]) -> str:
    m = run.machine
    lines = [
        f"# sigserve benchmark, {run.started} on {m.get('host', '?')}",
        "",
        f"- Machine: {m.get('cpu')}, {m.get('cores')} cores, {m.get('memory')}, {m.get('os')};"
        f" load average at start {m.get('load average at start')},"
        f" at end {m.get('load average at end', '?')} (other work on the machine adds noise)",
        f"- Python {m.get('python')}, TensorFlow {m.get('tensorflow')},"
        f" sigserve {m.get('sigserve')}",
        f"- Peers (own venv): {m.get('peers', 'not run')}",
        f"- Load: {m.get('wrk')}, 1 thread, keep-alive, {run.seconds_per_load:g} s per point"
        " (longer, up to 4x, where a slow model would give each connection under 3 requests),"
        " one server at a time on 127.0.0.1; the same JSON body for every request",
        f"- Command: `{run.command}` ({run.mode}); the whole run took {run.elapsed_s / 60:.1f} min",
        "",
        "## Throughput and latency",
        "",
        "Cells: requests/s · p50 / p99 latency (n=: fewer than 100 requests at that point)."
        " Cold start: process launch to the first successful predict. RSS: VmRSS after the"
        " load (all processes of the server).",
        "",
        *results_table(run),
        "",
        "Models:",
        *(f"- `{name}`: {text}" for name, text in run.models.items()),
        "",
        "## Ratios",
        "",
        *ratios_table(ratios),
        "",
    ]  # fmt: skip
    return "\n".join(lines)
