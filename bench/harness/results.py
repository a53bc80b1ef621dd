"""What one benchmark run measured, as plain data (written as JSON next to the Markdown)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from bench.harness.wrk_load import LoadResult


@dataclass
class ServerRun:
    """One server serving one model: cold start, the load at each concurrency, RSS after."""

    server: str
    model: str
    status: str = "ok"  # ok | unavailable | failed | wrong answer
    note: str = ""
    cold_start_s: float | None = None
    rss_mib: float | None = None
    loads: dict[int, LoadResult] = field(default_factory=dict)


@dataclass
class InProcessRun:
    """The bare script: TF imported, the model loaded, its signature called in a loop."""

    model: str
    status: str = "ok"
    note: str = ""
    calls_per_s: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    cold_start_s: float | None = None
    rss_mib: float | None = None


@dataclass
class BenchRun:
    machine: dict[str, str]
    mode: str
    command: str
    concurrencies: tuple[int, ...]
    seconds_per_load: float
    models: dict[str, str]  # name -> description
    in_process: dict[str, InProcessRun] = field(default_factory=dict)
    servers: list[ServerRun] = field(default_factory=list)
    started: str = ""
    elapsed_s: float = 0.0

    def server_run(self, server: str, model: str) -> ServerRun | None:
        for run in self.servers:
            if run.server == server and run.model == model:
                return run
        return None

    def load(self, server: str, model: str, connections: int) -> LoadResult | None:
        """The load at ``connections``, if that server served that model and sent requests."""
        run = self.server_run(server, model)
        if run is None or run.status != "ok":
            return None
        result = run.loads.get(connections)
        if result is None or result.requests == 0:
            return None
        return result

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for run in data["servers"]:
            for load in run["loads"].values():
                load["rps"] = load["requests"] / load["seconds"] if load["seconds"] else 0.0
        return data
