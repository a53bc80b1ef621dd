"""The timing of batching: queues, batch timeouts, batch threads (asyncio, one loop).

Modelled on TF Serving's ``SharedBatchScheduler``. Each queue (one servable,
signature, output set and input layout) has an open batch that requests join
until it is full; batches that are full wait in order behind it. A batch runs
when a batch thread is free and it is full, or the oldest request in it has
waited ``batch_timeout_micros``, so while the threads are busy the open batch
keeps growing. ``num_batch_threads`` bounds the batches running at once across
all queues; they run on the service's thread pool, never on the event loop.

A request that would overflow a queue holding ``max_enqueued_batches`` batches
fails at once with UNAVAILABLE (TF Serving's message); one larger than
``max_batch_size`` is INVALID_ARGUMENT, unless large batch splitting is on.
A request cancelled before its batch starts leaves the batch; a batch that fails
fails only the requests in it. Requests that cannot be merged (scalars, inputs
of unequal 0th dimension, zero rows) run on their own, unbatched.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import weakref
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sigserve.batching import arrays
from sigserve.batching.params import BatchingOptions
from sigserve.errors import ServingError, invalid_argument, unavailable

Outputs = dict[str, np.ndarray]

# The loop sleeps in whole milliseconds (epoll, and uvloop's clock), rounded up, so a
# timer aimed at the deadline fires up to a millisecond past it. Aiming one tick early
# (at most half the timeout) keeps a lone request's wait within batch_timeout_micros.
TIMER_TICK = 0.001


@dataclass(eq=False)
class BatchTask:
    """One request waiting for (or inside) a batch."""

    inputs: Mapping[str, np.ndarray]
    size: int
    future: asyncio.Future[Outputs]
    started: bool = False
    parts: list[BatchTask] = field(default_factory=list)  # when split over several batches
    enqueued_at: float = 0.0  # loop time

    async def result(self) -> Outputs:
        """The request's outputs. Cancelling the caller takes the request out of its batch
        if the batch has not started; a started batch runs on and its answer is dropped."""
        try:
            return await asyncio.shield(self.future)
        except asyncio.CancelledError:
            self.cancel()
            raise

    def cancel(self) -> None:
        for task in self.parts or [self]:
            if not task.started:
                task.future.cancel()

    def add_done_callback(self, callback: Callable[[Any], None]) -> None:
        """``callback`` runs once the request no longer needs its servable."""
        self.future.add_done_callback(callback)


@dataclass(eq=False)
class _Batch:
    tasks: list[BatchTask] = field(default_factory=list)
    size: int = 0
    opened_at: float = 0.0
    due: bool = False  # its timer fired: its timeout has passed, whatever the clock reads


class _Queue:
    def __init__(self, scheduler: BatchScheduler, options: BatchingOptions, run: Callable) -> None:
        self.scheduler = scheduler
        self.options = options
        self.run = run  # (merged inputs) -> outputs, blocking
        self.batches: collections.deque[_Batch] = collections.deque([_Batch()])
        self.timer: asyncio.TimerHandle | None = None

    def enqueue(self, task: BatchTask) -> None:
        open_batch = self.batches[-1]
        if open_batch.size + task.size > self.options.execution_batch_size:
            if len(self.batches) >= self.options.max_enqueued_batches:
                raise unavailable(
                    "The batch scheduling queue to which this task was submitted is full; "
                    f"currently {len(self.batches)} batches enqueued and max_enqueued_batches "
                    f"is {self.options.max_enqueued_batches}"
                )
            open_batch = self._start_new_batch()
        if not open_batch.tasks:
            open_batch.opened_at = self.scheduler.loop.time()
            self._arm_timer()
        task.enqueued_at = self.scheduler.loop.time()
        open_batch.tasks.append(task)
        open_batch.size += task.size
        self.scheduler.dispatch()

    def capacity(self) -> int:
        """Rows that can still be queued (TF Serving's ``SchedulingCapacity``)."""
        limit = self.options.execution_batch_size
        new_batches = self.options.max_enqueued_batches - len(self.batches)
        return new_batches * limit + limit - self.batches[-1].size

    def check_capacity(self, size: int) -> None:
        """With large batch splitting, a request is refused whole, before any part is queued."""
        if size > self.capacity():
            raise unavailable(
                "The batch scheduling queue to which this task was submitted is full; task size "
                f"is {size} but scheduling capacity is only {self.capacity()} "
                f"(num_enqueued_batches={len(self.batches)}, max_enqueued_batches="
                f"{self.options.max_enqueued_batches}, open_batch_size={self.batches[-1].size}, "
                f"max_execution_batch_size={self.options.execution_batch_size})"
            )

    def _start_new_batch(self) -> _Batch:
        self.batches.append(_Batch())
        return self.batches[-1]

    def _deadline(self, batch: _Batch) -> float:
        return batch.opened_at + self.options.batch_timeout_micros / 1e6

    def _arm_timer(self) -> None:
        if self.timer is None:
            batch = self.batches[-1]
            lead = min(TIMER_TICK, self.options.batch_timeout_micros / 2e6)
            when = self._deadline(batch) - lead
            self.timer = self.scheduler.loop.call_at(when, self._timeout, batch)

    def _timeout(self, batch: _Batch) -> None:
        # The batch is due now even if the loop's clock reads a hair earlier than its
        # deadline (uvloop's clock counts whole milliseconds: re-arming on the clock alone
        # spun on a 0 ms timer that never let the clock move).
        self.timer = None
        batch.due = True
        self.scheduler.dispatch()
        # This timer may have been the one of an earlier batch: the open batch needs its own
        # (while full batches wait ahead of it, ready_at() is not None, yet it has to run at
        # its own deadline once they are gone).
        open_batch = self.batches[-1]
        if open_batch.tasks and not open_batch.due:
            self._arm_timer()

    def ready_at(self) -> float | None:
        """When the head batch could start (its oldest request's time), or None."""
        head = self.batches[0]
        if len(self.batches) > 1 or head.size >= self.options.execution_batch_size:
            return head.opened_at
        if not head.tasks:
            return None
        if head.due or self.scheduler.loop.time() >= self._deadline(head):
            return head.opened_at
        return None

    def take(self) -> _Batch:
        batch = self.batches.popleft()
        if not self.batches:
            self.batches.append(_Batch())
        return batch


BatchObserver = Callable[[list[int], int, list[float]], None]


class BatchScheduler:
    """Batches requests per queue and runs them on ``executor``, ``threads`` at a time.
    ``on_batch`` (metrics) is told of each batch as it starts: its requests' sizes, its
    padded size, and how long each request waited (seconds)."""

    def __init__(
        self, executor: Executor, threads: int, on_batch: BatchObserver | None = None
    ) -> None:
        self.executor = executor
        self.on_batch = on_batch
        self.free_threads = max(threads, 1)
        self.loop = asyncio.get_running_loop()
        self._queues: weakref.WeakKeyDictionary[Any, dict[tuple, _Queue]] = (
            weakref.WeakKeyDictionary()
        )

    def submit(
        self,
        owner: Any,
        key: tuple,
        options: BatchingOptions,
        run: Callable[[Mapping[str, np.ndarray]], Outputs],
        inputs: Mapping[str, np.ndarray],
    ) -> BatchTask | None:
        """Queue ``inputs`` to be batched with others of the same ``owner`` and ``key``
        (``run`` calls the model on merged inputs); None if they cannot be merged."""
        try:
            size = arrays.request_size(inputs)
        except ServingError:
            return None
        if size == 0:
            return None
        queues = self._queues.setdefault(owner, {})
        full_key = (key, arrays.shape_key(inputs, options.pad_variable_length_inputs))
        queue = queues.get(full_key)
        if queue is None:
            queue = queues[full_key] = _Queue(self, options, run)
        task = BatchTask(inputs, size, self._future())
        limit = options.execution_batch_size
        if options.enable_large_batch_splitting and size <= options.max_batch_size:
            queue.check_capacity(size)
        if size <= limit:
            queue.enqueue(task)
            return task
        if not options.enable_large_batch_splitting or size > options.max_batch_size:
            raise invalid_argument(
                f"Task size {size} is larger than maximum input batch size "
                f"{options.max_batch_size}"
            )
        return self._split(queue, task, limit)

    def _future(self) -> asyncio.Future[Outputs]:
        future = self.loop.create_future()
        future.add_done_callback(_retrieved)  # a caller that left does not want it
        return future

    def _split(self, queue: _Queue, task: BatchTask, limit: int) -> BatchTask:
        """A large request as parts of at most ``limit`` rows; its outputs joined back."""
        room = limit - queue.batches[-1].size
        bounds = [room] if 0 < room < task.size else []
        bounds += list(range((bounds or [0])[0] + limit, task.size, limit))
        for start, stop in itertools.pairwise([0, *bounds, task.size]):
            part = BatchTask({k: v[start:stop] for k, v in task.inputs.items()},
                             stop - start, self._future())  # fmt: skip
            task.parts.append(part)
            queue.enqueue(part)  # fits: the capacity was checked first
        gathered = asyncio.gather(*(p.future for p in task.parts), return_exceptions=True)
        gathered.add_done_callback(lambda g: _join(task, g))
        return task

    def dispatch(self) -> None:
        """Start ready batches while batch threads are free, the oldest request first."""
        while self.free_threads > 0:
            ready = [
                (at, queue)
                for queues in self._queues.values()
                for queue in queues.values()
                if (at := queue.ready_at()) is not None
            ]
            if not ready:
                return
            _, queue = min(ready, key=lambda item: item[0])
            batch = queue.take()
            tasks = [t for t in batch.tasks if not t.future.done()]  # cancelled ones leave
            if not tasks:
                continue
            for task in tasks:
                task.started = True
            if self.on_batch is not None:
                sizes, now = [t.size for t in tasks], self.loop.time()
                padded = arrays.padded_size(sum(sizes), queue.options.allowed_batch_sizes)
                self.on_batch(sizes, padded, [now - t.enqueued_at for t in tasks])
            self.free_threads -= 1
            self.loop.create_task(self._run(queue, tasks))

    async def _run(self, queue: _Queue, tasks: Sequence[BatchTask]) -> None:
        try:
            work = self.loop.run_in_executor(self.executor, _run_batch, queue, tasks)
            try:
                results = await work
            except Exception as e:
                for task in tasks:
                    if not task.future.done():
                        task.future.set_exception(e)
                return
            for task, outputs in zip(tasks, results, strict=True):
                if not task.future.done():
                    task.future.set_result(outputs)
        finally:
            self.free_threads += 1
            self.dispatch()


def _run_batch(queue: _Queue, tasks: Sequence[BatchTask]) -> list[Outputs]:
    """Merge, call the model once, split (on a pool thread)."""
    options = queue.options
    sizes = [t.size for t in tasks]
    batch_size = arrays.padded_size(sum(sizes), options.allowed_batch_sizes)
    merged = arrays.merge(
        [t.inputs for t in tasks], batch_size,
        pad_variable_length=options.pad_variable_length_inputs,
    )  # fmt: skip
    return arrays.split(queue.run(merged), sizes, batch_size)


def _retrieved(future: asyncio.Future) -> None:
    if not future.cancelled():
        future.exception()


def _join(task: BatchTask, gathered: asyncio.Future) -> None:
    if task.future.done():
        return
    parts = gathered.result()
    failures = [p for p in parts if isinstance(p, BaseException)]
    if any(isinstance(p, asyncio.CancelledError) for p in failures):
        task.future.cancel()
    elif failures:
        task.future.set_exception(failures[0])
    else:
        task.future.set_result(
            {name: np.concatenate([p[name] for p in parts], axis=0) for name in parts[0]}
        )
