"""The REST hot path's codec: sigserve's predict JSON vs a naive stdlib codec.

Decodes a request and encodes its answer with sigserve's codec (TF Serving's
exact text: pretty layout, ``%.6g`` floats) and with the obvious baseline
(``json.loads`` + ``np.array``, ``tolist`` + ``json.dumps``), for:

- a 64x224x224x3 float32 image batch, columnar in, row out (the answer is
  the batch itself: row format keeps it at TF Serving's one line per row);
- a 64x224x224x3 float32 batch, row in (``instances``), row out;
- 2000 small requests (8x4 floats, row format), one after another.

Prints milliseconds per round (best of a few) and sigserve's speed as a ratio
of the baseline's, both measured in this one run.

Then the decode alone, with the read-ahead of large number arrays
(``json_numeric``) off and on, rounds interleaved: one MobileNet image (numbers
of 3 decimals, and float32 values as a client's ``tolist()`` spells them), a
64x224x224x3 batch (row and columnar), row objects ``{"image": ...}``, and
2000 small 8x4 bodies (under the size threshold: they must not get slower).

    .venv/bin/python bench/bench_tf_json.py [--small]   # --small: 8x224x224x3
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from unittest import mock

import numpy as np

from sigserve.codecs import tf_json
from sigserve.codecs.tf_json import Format, decode_predict_request, encode_predict_response
from sigserve.types import TensorInfo


def best_of(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def case(array: np.ndarray, key: str, rounds: int) -> tuple[Callable[[], object], ...]:
    info = {"x": TensorInfo("DT_FLOAT", (-1, *array.shape[1:]))}
    doc = {"inputs": {"x": array.tolist()}} if key == "inputs" else {"instances": array.tolist()}
    body = json.dumps(doc).encode()

    def ours() -> object:
        for _ in range(rounds):
            request = decode_predict_request(body, lambda _: info)
            out = encode_predict_response(request.inputs, Format.ROW)
        return out

    def naive() -> object:
        for _ in range(rounds):
            parsed = json.loads(body)
            value = parsed["inputs"]["x"] if key == "inputs" else parsed["instances"]
            x = np.array(value, dtype=np.float32)
            out = json.dumps({"predictions": x.tolist()}).encode()
        return out

    return ours, naive


def main() -> None:
    rng = np.random.default_rng(0)
    batch = 8 if "--small" in sys.argv else 64
    image = rng.random((batch, 224, 224, 3), np.float32)
    cases = {
        f"{batch}x224x224x3 columnar in": (image, "inputs", 1, 3),
        f"{batch}x224x224x3 row in": (image, "instances", 1, 3),
        "2000 small requests 8x4": (rng.random((8, 4), np.float32), "instances", 2000, 3),
    }
    for name, (array, key, rounds, repeat) in cases.items():
        ours, naive = case(array, key, rounds)
        fast, slow = best_of(ours, repeat), best_of(naive, repeat)
        print(f"{name:30s} sigserve {fast:10.1f} ms   naive {slow:10.1f} ms   "
              f"sigserve is {slow / fast:4.2f}x the naive speed")  # fmt: skip
    read_ahead(rng, batch)


def read_ahead(rng: np.random.Generator, batch: int) -> None:
    """Decode time with the read-ahead of large number arrays off and on, in one run."""
    image = rng.random((1, 224, 224, 3))
    images = rng.random((batch, 224, 224, 3), np.float32)
    small = rng.random((8, 4), np.float32)
    cases = {
        "1 image, 3 decimals": ({"instances": image.round(3).tolist()}, 1, 15),
        "1 image, float32 text": ({"instances": image.astype(np.float32).tolist()}, 1, 15),
        f"{batch} images, row": ({"instances": images.tolist()}, 1, 3),
        f"{batch} images, columnar": ({"inputs": {"x": images.tolist()}}, 1, 3),
        f"{batch} row objects": ({"instances": [{"x": i.tolist()} for i in images]}, 1, 3),
        "2000 small 8x4": ({"instances": small.tolist()}, 2000, 5),
    }
    info = {"x": TensorInfo("DT_FLOAT", (-1, *image.shape[1:]))}
    print("\ndecode only: read-ahead of large number arrays off / on")
    for name, (doc, rounds, repeat) in cases.items():
        body = json.dumps(doc).encode()

        def decode(body: bytes = body, rounds: int = rounds) -> None:
            for _ in range(rounds):
                decode_predict_request(body, lambda _: info)

        def without_read_ahead() -> None:
            with mock.patch.object(tf_json, "read_with_arrays_ahead", lambda _: None):
                decode()

        on, off = [], []
        for _ in range(repeat):  # interleaved: both see the same machine
            on.append(best_of(decode, 1))
            off.append(best_of(without_read_ahead, 1))
        print(f"{name:26s} {len(body) / 1e6:7.2f} MB   off {min(off):9.2f} ms   "
              f"on {min(on):9.2f} ms   on is {min(off) / min(on):4.2f}x faster")  # fmt: skip


if __name__ == "__main__":
    main()
