"""The REST hot path's codec: sigserve's predict JSON vs a naive stdlib codec.

Decodes a request and encodes its answer for (a) one 32x224x224x3 float image
batch in columnar format and (b) a small 8-row request, with sigserve's codec
and with the obvious baseline (``json.loads`` + ``np.array``, ``tolist`` +
``json.dumps``). Prints milliseconds per round and sigserve's speed as a ratio
of the baseline's, measured in this one run.

    .venv/bin/python bench/bench_tf_json.py
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import numpy as np

from sigserve.codecs.tf_json import Format, decode_predict_request, encode_predict_response
from sigserve.types import TensorInfo


def best_of(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def main() -> None:
    rng = np.random.default_rng(0)
    cases = {
        "image batch 32x224x224x3": (rng.random((32, 224, 224, 3), np.float32), 3),
        "small request 8x4": (rng.random((8, 4), np.float32), 2000),
    }
    for name, (array, repeat) in cases.items():
        info = {"x": TensorInfo("DT_FLOAT", (-1, *array.shape[1:]))}
        body = json.dumps({"inputs": {"x": array.tolist()}}).encode()

        def ours(body: bytes = body, info: dict = info) -> object:
            request = decode_predict_request(body, lambda _: info)
            return encode_predict_response(request.inputs, Format.COLUMNAR)

        def naive(body: bytes = body) -> object:
            x = np.array(json.loads(body)["inputs"]["x"], dtype=np.float32)
            return json.dumps({"outputs": x.tolist()}).encode()

        fast, slow = best_of(ours, repeat), best_of(naive, repeat)
        print(f"{name:26s} sigserve {fast:9.3f} ms   naive {slow:9.3f} ms   "
              f"sigserve is {slow / fast:4.2f}x the naive speed")  # fmt: skip


if __name__ == "__main__":
    main()
