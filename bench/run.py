"""sigserve against the servers a user would otherwise pick, on one machine, in one run.

    scripts/bench [--quick] [--only mlp,sigserve,...]   # or: .venv/bin/python -m bench.run

See bench/README.md. Builds the models, then for each model: the bare in-process script, then
each server alone on 127.0.0.1 under wrk at each concurrency; prints and writes the tables.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import signal
import socket
import sys
import time
from pathlib import Path
from types import FrameType

from bench.harness import machine, measure, processes, ratios, report
from bench.harness.models import MODEL_NAMES, build_models
from bench.harness.results import BenchRun
from bench.harness.servers import SERVERS, Paths
from bench.harness.wrk_load import wrk_path

REPO = Path(__file__).resolve().parents[1]
HALF_PLUS_TWO = REPO.parent / "shared" / "testdata" / "tf_serving" / "saved_model_half_plus_two_cpu"
SERVER_NAMES = tuple(s.name for s in SERVERS)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="3 s per point instead of 8 s")
    p.add_argument(
        "--only", default="", help="comma-separated models and/or servers to run: "
        f"{', '.join(MODEL_NAMES + SERVER_NAMES)} (default: all)",
    )  # fmt: skip
    p.add_argument("--concurrency", default="1,16,64", help="wrk connections (default 1,16,64)")
    p.add_argument("--duration", type=float, help="seconds per point (default 8, --quick 3)")
    p.add_argument("--start-timeout", type=float, default=180.0, help="seconds to first predict")
    p.add_argument("--no-peers", action="store_true", help="skip FastAPI and KServe")
    p.add_argument("--work-dir", type=Path, default=REPO / "bench" / ".work")
    p.add_argument("--results-dir", type=Path, default=REPO / "bench" / "results")
    p.add_argument("--peers-python", type=Path, default=REPO / "bench/.venv-peers/bin/python")
    args = p.parse_args(argv)
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    unknown = only - set(MODEL_NAMES) - set(SERVER_NAMES)
    if unknown:
        p.error(f"--only: unknown {', '.join(sorted(unknown))}")
    args.models = [m for m in MODEL_NAMES if m in only] or list(MODEL_NAMES)
    args.servers = [s for s in SERVERS if s.name in only] or list(SERVERS)
    if args.no_peers:
        args.servers = [s for s in args.servers if not s.peer]
    args.concurrencies = tuple(int(c) for c in args.concurrency.split(","))
    args.duration = args.duration or (3.0 if args.quick else 8.0)
    args.warmup = 1.0 if args.quick else 2.0
    args.in_process_seconds = 2.0 if args.quick else 5.0
    return args


def _interrupted(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if wrk_path() is None:
        print("wrk is not installed: apt-get install -y wrk (Debian/Ubuntu)", file=sys.stderr)
        return 2
    peers = args.peers_python if args.peers_python.exists() else None
    if peers is None and any(s.peer for s in args.servers):
        print(f"{args.peers_python} is missing: run scripts/bench (it creates the peers venv)"
              " or pass --no-peers", file=sys.stderr)  # fmt: skip
        return 2
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGHUP, _interrupted)
    work = args.work_dir.resolve()
    paths = Paths(REPO, work, Path(sys.executable), args.peers_python)
    per_server = 12 + args.warmup + len(args.concurrencies) * args.duration
    slow_extra = 3 * args.duration * (len(args.concurrencies) - 1)  # MobileNetV2's longer points
    estimate = len(args.models) * (args.in_process_seconds + 8) + len(args.servers) * (
        len(args.models) * per_server + ("mobilenet" in args.models) * slow_extra
    )
    measure.say(f"about {estimate / 60:.0f} min; logs in {work / 'logs'}")
    started, clock = datetime.datetime.now(), time.monotonic()
    try:
        models = build_models(paths.project_python, REPO, work, HALF_PLUS_TWO)
        run = BenchRun(
            machine=machine.describe(REPO, peers),
            mode="quick" if args.quick else "default",
            command=shlex.join(["scripts/bench", *argv]),
            concurrencies=args.concurrencies,
            seconds_per_load=args.duration,
            models={m: models[m].description for m in args.models},
            started=started.strftime("%Y-%m-%d %H:%M"),
        )
        for name in args.models:
            model = models[name]
            bare, reference = measure.in_process(
                paths, model, args.in_process_seconds, args.start_timeout
            )
            run.in_process[name] = bare
            for spec in args.servers:
                run.servers.append(
                    measure.server(
                        paths,
                        spec,
                        model,
                        reference,
                        args.concurrencies,
                        args.duration,
                        args.warmup,
                        args.start_timeout,
                    )
                )
    except KeyboardInterrupt:
        measure.say("interrupted: servers stopped, nothing written")
        return 130
    finally:
        processes.stop_all()
    run.elapsed_s = time.monotonic() - clock
    run.machine["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    computed = ratios.compute(run)
    text = report.markdown(run, computed)
    print(text)
    write(args.results_dir, started, text, run)
    statuses = [r.status for r in run.servers] + [r.status for r in run.in_process.values()]
    return 0 if all(status in ("ok", "unavailable") for status in statuses) else 1


def write(results: Path, started: datetime.datetime, text: str, run: BenchRun) -> None:
    results.mkdir(parents=True, exist_ok=True)
    stem = f"{started:%Y-%m-%d-%H%M}-{socket.gethostname()}"
    for name in (f"{stem}.md", "latest.md"):
        (results / name).write_text(text)
    (results / "latest.json").write_text(json.dumps(run.to_json(), indent=1) + "\n")
    measure.say(f"wrote {results / (stem + '.md')} and latest.md, latest.json")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
