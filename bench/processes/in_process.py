"""The bare script: import TensorFlow, load the model, call its signature in a loop.

    .venv/bin/python bench/processes/in_process.py EXPORT_DIR BODY_JSON SECONDS

Prints JSON lines on stdout: ``{"event": "ready"}`` once the first call on the request's
inputs succeeded (the harness times process launch to this line: the bare cold start), then
``{"event": "result", ...}`` with the call rate and latency of the signature called on the same
inputs for SECONDS, its predictions (the reference every server's answer is checked against)
and VmRSS after that loop.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tf_model


def vm_rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, math.ceil(q / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def main(export_dir: str, body_path: str, seconds: float) -> None:
    signature = tf_model.ServingSignature(export_dir)
    with open(body_path, "rb") as body:
        instances = json.load(body)["instances"]
    inputs = signature.inputs(instances)
    first = tf_model.predictions(signature(inputs))
    print(json.dumps({"event": "ready"}), flush=True)

    latencies: list[float] = []
    start = time.perf_counter()
    deadline = start + seconds
    now = start
    while now < deadline:
        signature(inputs)
        after = time.perf_counter()
        latencies.append(after - now)
        now = after
    elapsed = now - start
    latencies.sort()
    result = {
        "event": "result",
        "calls": len(latencies),
        "seconds": elapsed,
        "calls_per_s": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 50) * 1e3,
        "p99_ms": percentile(latencies, 99) * 1e3,
        "rss_kib": vm_rss_kib(),
        "predictions": first,
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
