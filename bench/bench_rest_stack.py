"""Which HTTP stack should serve the REST API? Measured, not guessed.

Runs sigserve's REST app (the real service, manager and TF runtime, serving
TF Serving's half_plus_two) under several ASGI server configurations, one at a
time in a subprocess on 127.0.0.1, and sends the same bounded load to each:
``--requests`` small predict requests from ``--concurrency`` keep-alive
clients. Prints requests/s and latency percentiles, and each stack's
throughput as a ratio of the first one, all measured in this one run.

    .venv/bin/python bench/bench_rest_stack.py --requests 3000 --concurrency 16
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO.parent / "shared" / "testdata" / "tf_serving" / "saved_model_half_plus_two_cpu"

STACKS = {
    "uvicorn httptools+uvloop": {"http": "httptools", "loop": "uvloop"},
    "uvicorn h11+asyncio": {"http": "h11", "loop": "asyncio"},
    "uvicorn httptools+asyncio": {"http": "httptools", "loop": "asyncio"},
}

SERVER = r"""
import asyncio, sys
from concurrent.futures import ThreadPoolExecutor
import uvicorn
from sigserve.config import ServerConfig
from sigserve.manager import ModelManager
from sigserve.manager.config import single_model_config
from sigserve.rest.app import RestApp
from sigserve.runtime import saved_model
from sigserve.service import Service

port, http, loop, model = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]

async def main():
    config = ServerConfig(model_name="m", model_base_path=model, file_system_poll_wait_seconds=0)
    manager = ModelManager(single_model_config("m", model), config,
                           loader=lambda path, version: saved_model.load(path))
    await manager.start()
    app = RestApp(Service(manager, ThreadPoolExecutor(config.rest_threads)))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, http=http,
                                           log_level="warning", lifespan="off"))
    print("ready", flush=True)
    await server.serve()

if loop == "uvloop":
    import uvloop
    uvloop.run(main())
else:
    asyncio.run(main())
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def load(port: int, total: int, concurrency: int) -> list[float]:
    import httpx

    url = f"http://127.0.0.1:{port}/v1/models/m:predict"
    body = b'{"instances": [1.0, 2.0, 5.0]}'
    latencies: list[float] = []
    remaining = total

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            start = time.perf_counter()
            r = await client.post(url, content=body)
            latencies.append(time.perf_counter() - start)
            if r.status_code != 200:
                raise RuntimeError(r.text)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return latencies


def run_stack(options: dict[str, str], total: int, concurrency: int) -> tuple[float, list[float]]:
    port = free_port()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port), options["http"], options["loop"], str(MODEL)],
        stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError("server did not start")
        time.sleep(0.5)
        asyncio.run(load(port, min(200, total), concurrency))  # warm-up
        start = time.perf_counter()
        latencies = asyncio.run(load(port, total, concurrency))
        return total / (time.perf_counter() - start), sorted(latencies)
    finally:
        process.terminate()
        process.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    results = {}
    for name, options in STACKS.items():
        rps, latencies = run_stack(options, args.requests, args.concurrency)
        results[name] = rps
        p50 = latencies[len(latencies) // 2] * 1000
        p99 = latencies[int(len(latencies) * 0.99)] * 1000
        print(f"{name:28s} {rps:8.0f} req/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")
    first = next(iter(results.values()))
    for name, rps in results.items():
        print(f"{name:28s} {rps / first:5.2f}x of the first")


if __name__ == "__main__":
    main()
