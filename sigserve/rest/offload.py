"""Codec work on large bodies runs off the event loop.

REST and gRPC share one event loop. Decoding a 12 MB JSON body takes seconds of
pure Python work; done on the loop it stalls every other request, gRPC ones
included, and ``--rest_api_timeout_in_ms`` cannot interrupt it. Work on more
than :data:`LARGE` bytes goes to a small thread pool of its own (not the model
pool, so it never waits behind model calls); smaller work stays inline, where a
thread hop would cost more than the work.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

LARGE = 64 * 1024  # bytes of JSON, about 6,000 numbers


class Offload:
    def __init__(self, threshold: int = LARGE, workers: int = 0) -> None:
        self.threshold = threshold
        self._pool = ThreadPoolExecutor(
            workers or os.cpu_count() or 1, thread_name_prefix="sigserve-codec"
        )

    async def __call__(self, fn: Callable[..., T], *args: Any, size: int) -> T:
        """``fn(*args)``: inline when ``size`` (bytes of JSON) is small, else on the pool."""
        if size < self.threshold:
            return fn(*args)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args))

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
