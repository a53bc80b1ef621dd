"""Dynamic batching (``--enable_batching``), between the service and the runtime.

The service hands :class:`Batcher` a Predict call; it decides when the model
runs: concurrent requests to the same version, signature and outputs are
merged along dimension 0, run once, and split back. Timing lives in
:mod:`.scheduler`, the pure array work in :mod:`.arrays`, the parameters in
:mod:`.params`.
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

import numpy as np

from sigserve.batching.params import (
    BatchingOptions,
    per_model_options,
    read_batching_parameters,
)
from sigserve.batching.scheduler import BatchObserver, BatchScheduler, BatchTask

__all__ = ["BatchTask", "Batcher", "BatchingOptions", "read_batching_parameters"]


class Batcher:
    """Batching for every servable, with one set of options or each version's own."""

    def __init__(
        self,
        options: BatchingOptions,
        executor: Executor,
        *,
        per_model: bool = False,
        on_batch: BatchObserver | None = None,
    ) -> None:
        self.options = options
        self.on_batch = on_batch  # see BatchScheduler
        self.per_model = per_model
        self._executor = executor
        self._scheduler: BatchScheduler | None = None
        self._own: weakref.WeakKeyDictionary[Any, BatchingOptions | None] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def prepare(self, servable: Any) -> Any:
        """Read a version's own parameters as it loads (a bad file fails the load)."""
        if self.per_model:
            own = per_model_options(servable.path, self.options)
            with self._lock:
                self._own[servable] = own
        return servable

    def submit(
        self,
        servable: Any,
        signature_name: str,
        inputs: Mapping[str, np.ndarray],
        output_filter: Sequence[str],
    ) -> BatchTask | None:
        """Queue a Predict call; None when it runs on its own (not batched)."""
        options = self._options_for(servable)
        if options is None:
            return None
        servable.check(signature_name, inputs, output_filter)  # a bad request fails alone
        if self._scheduler is None:
            self._scheduler = BatchScheduler(self._executor, self.options.threads, self.on_batch)
        outputs = tuple(sorted(output_filter))
        run = functools.partial(servable.run, signature_name, output_filter=outputs)
        return self._scheduler.submit(servable, (signature_name, outputs), options, run, inputs)

    def _options_for(self, servable: Any) -> BatchingOptions | None:
        if not self.per_model:
            return self.options
        with self._lock:
            return self._own.get(servable)
