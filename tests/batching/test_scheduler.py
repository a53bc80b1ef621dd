"""The timing of batching: which requests share a model call, and when it runs.

A fake model (a plain function recording the merged batches it receives) runs on a
real thread pool; each scenario runs in its own event loop.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from sigserve.batching.params import BatchingOptions
from sigserve.batching.scheduler import BatchScheduler, BatchTask
from sigserve.errors import Code, ServingError


class Owner:
    """Stands for a loaded servable (queues are kept per owner, weakly)."""


@dataclass
class FakeModel:
    """``y = 10 * x`` and ``rows``: how many rows the call saw. A row whose value is
    negative fails the whole call; ``gate`` (if set) holds every call until it opens;
    ``delay(merged)`` is slept before answering."""

    gate: threading.Event | None = None
    delay: Callable[[Mapping[str, np.ndarray]], float] = lambda merged: 0.0
    calls: list[dict[str, np.ndarray]] = field(default_factory=list)
    running: int = 0
    most_running: int = 0
    finished: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, merged: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        with self.lock:
            self.calls.append({k: np.array(v, copy=True) for k, v in merged.items()})
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        try:
            if self.gate is not None:
                assert self.gate.wait(5), "the test never opened the gate"
            time.sleep(self.delay(merged))
            x = merged["x"]
            if (x < 0).any():
                raise ServingError(Code.INTERNAL, "negative input")
            return {"y": x * 10, "rows": np.full(x.shape[0], x.shape[0])}
        finally:
            with self.lock:
                self.running -= 1
                self.finished += 1

    def rows_per_call(self) -> list[int]:
        return [call["x"].shape[0] for call in self.calls]


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=8)
    yield pool
    pool.shutdown(wait=False, cancel_futures=True)  # a failed test may leave a call held


def run(scenario: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(scenario, timeout=5))


def options(**fields: Any) -> BatchingOptions:
    fields.setdefault("batch_timeout_micros", 0)
    return BatchingOptions(**fields)


def rows(*values: float, width: int = 1) -> dict[str, np.ndarray]:
    return {"x": np.repeat(np.array(values, np.float32)[:, None], width, axis=1)}


class Harness:
    """One scheduler and one model, submitting requests of one servable and signature."""

    def __init__(
        self, executor: ThreadPoolExecutor, model: FakeModel, threads: int, **fields: Any
    ) -> None:
        self.scheduler = BatchScheduler(executor, threads)
        self.model = model
        self.options = options(**fields)
        self.owner = Owner()

    def submit(self, inputs: Mapping[str, np.ndarray], key: tuple = ("sig",)) -> BatchTask:
        task = self.scheduler.submit(self.owner, key, self.options, self.model, inputs)
        assert task is not None
        return task


async def settle(model: FakeModel, calls: int) -> None:
    """Wait until ``model`` has finished ``calls`` calls."""
    while model.finished < calls:
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.01)  # let the loop hand the answers out


def check_answer(outputs: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray]) -> None:
    assert outputs["y"].tolist() == (inputs["x"] * 10).tolist()
    assert outputs["rows"].shape == (inputs["x"].shape[0],)


def test_concurrent_requests_share_one_call_and_get_their_own_rows(
    executor: ThreadPoolExecutor,
) -> None:
    model = FakeModel()

    async def scenario() -> None:
        h = Harness(executor, model, threads=1, max_batch_size=8, batch_timeout_micros=50_000)
        requests = [rows(1), rows(2, 3, 4), rows(5, 6), rows(7, 8)]
        tasks = [h.submit(r) for r in requests]
        answers = await asyncio.gather(*(t.result() for t in tasks))
        for answer, request in zip(answers, requests, strict=True):
            check_answer(answer, request)
            assert answer["rows"].tolist() == [8] * len(request["x"])
        assert model.rows_per_call() == [8]
        assert model.calls[0]["x"][:, 0].tolist() == [1, 2, 3, 4, 5, 6, 7, 8]

    run(scenario())


def test_requests_beyond_max_batch_size_go_to_the_next_batch(
    executor: ThreadPoolExecutor,
) -> None:
    model = FakeModel()

    async def scenario() -> None:
        h = Harness(executor, model, threads=1, max_batch_size=4, batch_timeout_micros=20_000)
        requests = [rows(i) for i in range(1, 7)]
        tasks = [h.submit(r) for r in requests]
        answers = await asyncio.gather(*(t.result() for t in tasks))
        for answer, request in zip(answers, requests, strict=True):
            check_answer(answer, request)
        assert model.rows_per_call() == [4, 2]
        assert [c["x"][:, 0].tolist() for c in model.calls] == [[1, 2, 3, 4], [5, 6]]

    run(scenario())


def test_allowed_batch_sizes_pad_the_call_and_the_padding_is_dropped(
    executor: ThreadPoolExecutor,
) -> None:
    model = FakeModel()

    async def scenario() -> None:
        h = Harness(
            executor, model, threads=1, max_batch_size=8, allowed_batch_sizes=(2, 4, 8),
            batch_timeout_micros=20_000,
        )  # fmt: skip
        tasks = [h.submit(rows(1)), h.submit(rows(2, 3))]
        first, second = await asyncio.gather(*(t.result() for t in tasks))
        assert first["y"].tolist() == [[10]] and second["y"].tolist() == [[20], [30]]
        assert first["rows"].tolist() == [4]  # the model saw the padded batch
        assert model.calls[0]["x"][:, 0].tolist() == [1, 2, 3, 2]

    run(scenario())


def test_a_failing_batch_fails_only_its_own_requests(executor: ThreadPoolExecutor) -> None:
    model = FakeModel()

    async def scenario() -> None:
        h = Harness(executor, model, threads=1, max_batch_size=2, batch_timeout_micros=20_000)
        bad = [h.submit(rows(-1)), h.submit(rows(2))]
        good = [h.submit(rows(3)), h.submit(rows(4))]
        results = await asyncio.gather(*(t.result() for t in bad + good), return_exceptions=True)
        for failed in results[:2]:
            assert isinstance(failed, ServingError) and failed.message == "negative input"
        check_answer(results[2], rows(3))
        check_answer(results[3], rows(4))
        later = h.submit(rows(5))  # the queue still works after a failure
        check_answer(await later.result(), rows(5))
        assert model.rows_per_call() == [2, 2, 1]

    run(scenario())


def test_a_model_answer_of_the_wrong_size_fails_its_batch(executor: ThreadPoolExecutor) -> None:
    async def scenario() -> None:
        scheduler = BatchScheduler(executor, 1)
        opts = options(max_batch_size=4, batch_timeout_micros=10_000)

        def wrong(merged: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
            return {"y": np.zeros(1)}

        owner = Owner()
        tasks = [scheduler.submit(owner, ("s",), opts, wrong, rows(i)) for i in (1, 2)]
        for task in tasks:
            assert task is not None
            with pytest.raises(ServingError) as e:
                await task.result()
            assert e.value.code == Code.FAILED_PRECONDITION

    run(scenario())


def test_a_request_cancelled_before_its_batch_starts_is_left_out(
    executor: ThreadPoolExecutor,
) -> None:
    model = FakeModel(gate=threading.Event())

    async def scenario() -> None:
        h = Harness(executor, model, threads=1, max_batch_size=4)
        first = h.submit(rows(1, 2, 3, 4))  # runs at once, held at the gate
        waiting = [h.submit(rows(v)) for v in (5, 6, 7)]  # the next batch, not started
        callers = [asyncio.ensure_future(t.result()) for t in waiting]
        await asyncio.sleep(0.01)
        released = asyncio.Event()
        waiting[1].add_done_callback(lambda _: released.set())
        callers[1].cancel()
        await asyncio.wait_for(released.wait(), 1)  # it no longer needs the servable
        model.gate.set()
        check_answer(await first.result(), rows(1, 2, 3, 4))
        check_answer(await callers[0], rows(5))
        check_answer(await callers[2], rows(7))
        with pytest.raises(asyncio.CancelledError):
            await callers[1]
        assert [c["x"][:, 0].tolist() for c in model.calls] == [[1, 2, 3, 4], [5, 7]]

    run(scenario())


def test_a_batch_of_cancelled_requests_does_not_run(executor: ThreadPoolExecutor) -> None:
    model = FakeModel(gate=threading.Event())

    async def scenario() -> None:
        h = Harness(executor, model, threads=1, max_batch_size=1)
        first = h.submit(rows(1))
        doomed = h.submit(rows(2))
        caller = asyncio.ensure_future(doomed.result())
        await asyncio.sleep(0.01)
        caller.cancel()
        after = h.submit(rows(3))
        model.gate.set()
        check_answer(await first.result(), rows(1))
        check_answer(await after.result(), rows(3))
        assert [c["x"][:, 0].tolist() for c in model.calls] == [[1], [3]]

    run(scenario())


def test_cancelling_after_the_batch_started_does_not_break_the_others(
    executor: ThreadPoolExecutor,
) -> None:
    model = FakeModel(gate=threading.Event())

    async def scenario() -> None:
        h = Harness(executor, model, threads=1, max_batch_size=3, batch_timeout_micros=10**6)
        tasks = [h.submit(rows(v)) for v in (1, 2, 3)]  # full: starts at once
        callers = [asyncio.ensure_future(t.result()) for t in tasks]
        await asyncio.sleep(0.02)
        assert model.running == 1
        done_at: list[int] = []
        tasks[1].add_done_callback(lambda _: done_at.append(model.finished))
        callers[1].cancel()
        await asyncio.sleep(0.02)
        assert done_at == []  # the batch still uses the servable: it stays held
        model.gate.set()
        check_answer(await callers[0], rows(1))
        check_answer(await callers[2], rows(3))
        with pytest.raises(asyncio.CancelledError):
            await callers[1]
        await asyncio.sleep(0.01)
        assert done_at == [1]  # released once the batch was done, not before
        assert model.rows_per_call() == [3]

    run(scenario())


def test_done_callback_fires_only_after_the_batch_holding_the_task(
    executor: ThreadPoolExecutor,
) -> None:
    model = FakeModel(gate=threading.Event())

    async def scenario() -> None:
        h = Harness(executor, model, threads=1, max_batch_size=2, batch_timeout_micros=20_000)
        fired: list[tuple[int, int]] = []
        tasks = [h.submit(rows(v)) for v in (1, 2, 3)]  # [1, 2] runs; [3] waits for it
        for index, task in enumerate(tasks):
            task.add_done_callback(lambda _, i=index: fired.append((i, model.finished)))
        await asyncio.sleep(0.02)
        assert fired == []
        model.gate.set()
        await asyncio.gather(*(t.result() for t in tasks))
        assert sorted(fired) == [(0, 1), (1, 1), (2, 2)]

    run(scenario())


def test_a_full_queue_is_unavailable_with_tf_servings_message(
    executor: ThreadPoolExecutor,
) -> None:
    model = FakeModel(gate=threading.Event())

    async def scenario() -> None:
        h = Harness(executor, model, threads=1, max_batch_size=2, max_enqueued_batches=2)
        accepted = [h.submit(rows(1, 2))]  # runs, held at the gate
        accepted += [h.submit(rows(v)) for v in (3, 4, 5, 6)]  # two queued batches, full
        with pytest.raises(ServingError) as e:
            h.submit(rows(7))
        assert e.value.code == Code.UNAVAILABLE
        assert e.value.message == (
            "The batch scheduling queue to which this task was submitted is full; currently 2 "
            "batches enqueued and max_enqueued_batches is 2"
        )
        model.gate.set()
        answers = await asyncio.gather(*(t.result() for t in accepted))
        for answer, value in zip(answers[1:], (3, 4, 5, 6), strict=True):
            check_answer(answer, rows(value))
        assert model.rows_per_call() == [2, 2, 2]
        check_answer(await h.submit(rows(8)).result(), rows(8))  # room again

    run(scenario())


def test_a_queue_of_exactly_full_batches_is_still_bounded(executor: ThreadPoolExecutor) -> None:
    model = FakeModel(gate=threading.Event())

    async def scenario() -> None:
        h = Harness(executor, model, threads=1, max_batch_size=1, max_enqueued_batches=3)
        accepted = [h.submit(rows(v)) for v in range(4)]  # one running, three queued
        with pytest.raises(ServingError) as e:
            h.submit(rows(9))
        assert e.value.code == Code.UNAVAILABLE
        assert "currently 3 batches enqueued and max_enqueued_batches is 3" in e.value.message
        model.gate.set()
        await asyncio.gather(*(t.result() for t in accepted))

    run(scenario())


def test_a_request_larger_than_max_batch_size_is_invalid(executor: ThreadPoolExecutor) -> None:
    model = FakeModel()

    async def scenario() -> None:
        h = Harness(executor, model, threads=1, max_batch_size=4)
        with pytest.raises(ServingError) as e:
            h.submit(rows(1, 2, 3, 4, 5))
        assert e.value.code == Code.INVALID_ARGUMENT
        assert e.value.message == "Task size 5 is larger than maximum input batch size 4"
        check_answer(await h.submit(rows(1, 2, 3, 4)).result(), rows(1, 2, 3, 4))

    run(scenario())


def test_large_batch_splitting_splits_and_joins_back(executor: ThreadPoolExecutor) -> None:
    model = FakeModel()

    async def scenario() -> None:
        h = Harness(
            executor, model, threads=2, max_batch_size=8, enable_large_batch_splitting=True,
            max_execution_batch_size=3, batch_timeout_micros=20_000,
        )  # fmt: skip
        small = h.submit(rows(100))
        large = h.submit(rows(1, 2, 3, 4, 5, 6, 7))
        done: list[int] = []
        large.add_done_callback(lambda _: done.append(model.finished))
        check_answer(await large.result(), rows(1, 2, 3, 4, 5, 6, 7))
        check_answer(await small.result(), rows(100))
        assert sorted(model.rows_per_call()) == [2, 3, 3]  # [100, 1, 2] [3, 4, 5] [6, 7]
        assert [row for c in model.calls for row in c["x"][:, 0].tolist()].count(100) == 1
        merged = sorted(row for c in model.calls for row in c["x"][:, 0].tolist())
        assert merged == [1, 2, 3, 4, 5, 6, 7, 100]
        assert done == [len(model.calls)]  # held until every part had run
        with pytest.raises(ServingError) as e:
            h.submit(rows(*range(9)))
        assert e.value.message == "Task size 9 is larger than maximum input batch size 8"

    run(scenario())


def test_a_split_that_does_not_fit_the_queue_sends_nothing(executor: ThreadPoolExecutor) -> None:
    model = FakeModel(gate=threading.Event())

    async def scenario() -> None:
        h = Harness(
            executor, model, threads=1, max_batch_size=8, enable_large_batch_splitting=True,
            max_execution_batch_size=2, max_enqueued_batches=2,
        )  # fmt: skip
        running = h.submit(rows(1, 2))  # held at the gate
        with pytest.raises(ServingError) as e:
            h.submit(rows(*range(10, 17)))  # 7 rows, room for 4
        assert e.value.code == Code.UNAVAILABLE
        assert e.value.message.startswith(
            "The batch scheduling queue to which this task was submitted is full; task size is "
            "7 but scheduling capacity is only 4"
        )
        fits = h.submit(rows(3, 4, 5))  # 3 rows: 2 + 1 over two batches
        model.gate.set()
        check_answer(await running.result(), rows(1, 2))
        check_answer(await fits.result(), rows(3, 4, 5))
        assert [c["x"][:, 0].tolist() for c in model.calls] == [[1, 2], [3, 4], [5]]

    run(scenario())


def test_a_lone_request_waits_for_the_batch_timeout(executor: ThreadPoolExecutor) -> None:
    model = FakeModel()
    timeout = 0.05

    async def scenario() -> None:
        h = Harness(
            executor, model, threads=1, max_batch_size=8, batch_timeout_micros=int(timeout * 1e6)
        )
        loop = asyncio.get_running_loop()
        start = loop.time()
        task = h.submit(rows(1))
        await asyncio.sleep(timeout / 2)
        assert model.calls == []  # still waiting for company
        check_answer(await task.result(), rows(1))
        waited = loop.time() - start
        assert timeout - 0.002 <= waited <= timeout + 0.5

    run(scenario())


def test_an_open_batch_runs_at_its_timeout_even_after_an_earlier_timer_fired(
    executor: ThreadPoolExecutor,
) -> None:
    # The first batch's timer fires while a full batch waits for the busy thread; the open
    # batch behind it must still get its own timer and run, with no later request to wake it.
    model = FakeModel(delay=lambda merged: float(merged["x"][0, 0]))

    async def scenario() -> None:
        h = Harness(executor, model, threads=1, max_batch_size=2, batch_timeout_micros=200_000)
        slow = h.submit(rows(0.25, 0.25))  # runs at once for 0.25 s; its timer fires at 0.2 s
        quick = h.submit(rows(0.001, 0.001))  # full, waits for the thread until 0.25 s
        await asyncio.sleep(0.12)
        lone = h.submit(rows(0.002))  # open batch, due at 0.32 s
        await asyncio.gather(slow.result(), quick.result())
        answer = await asyncio.wait_for(lone.result(), 1)
        assert answer["y"].tolist() == [[pytest.approx(0.02)]]

    run(scenario())


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_num_batch_threads_bounds_concurrent_runs(
    executor: ThreadPoolExecutor, threads: int
) -> None:
    model = FakeModel(delay=lambda merged: 0.03)

    async def scenario() -> None:
        h = Harness(executor, model, threads=threads, max_batch_size=1)
        tasks = [h.submit(rows(v)) for v in range(8)]
        for task, value in zip(tasks, range(8), strict=True):
            check_answer(await task.result(), rows(value))
        assert model.most_running == threads
        assert model.rows_per_call() == [1] * 8

    run(scenario())


def test_batch_threads_are_shared_by_every_queue(executor: ThreadPoolExecutor) -> None:
    model = FakeModel(delay=lambda merged: 0.03)

    async def scenario() -> None:
        scheduler = BatchScheduler(executor, 2)
        opts = options(max_batch_size=1)
        owners = [Owner(), Owner(), Owner()]
        tasks = [
            scheduler.submit(owner, (sig,), opts, model, rows(1))
            for owner in owners
            for sig in ("a", "b")
        ]
        await asyncio.gather(*(t.result() for t in tasks if t is not None))
        assert model.most_running == 2
        assert len(model.calls) == 6

    run(scenario())


def test_different_non_batch_shapes_go_to_different_batches(
    executor: ThreadPoolExecutor,
) -> None:
    model = FakeModel()

    async def scenario() -> None:
        h = Harness(executor, model, threads=1, max_batch_size=8, batch_timeout_micros=20_000)
        narrow = [h.submit(rows(1, width=2)), h.submit(rows(2, width=2))]
        wide = h.submit(rows(3, width=3))
        other_signature = h.submit(rows(4, width=2), key=("other",))
        answers = await asyncio.gather(*(t.result() for t in [*narrow, wide, other_signature]))
        check_answer(answers[0], rows(1, width=2))
        check_answer(answers[2], rows(3, width=3))
        assert sorted((c["x"].shape for c in model.calls), key=str) == sorted(
            [(2, 2), (1, 3), (1, 2)], key=str
        )

    run(scenario())


def test_with_pad_variable_length_inputs_different_shapes_share_a_batch(
    executor: ThreadPoolExecutor,
) -> None:
    model = FakeModel()

    async def scenario() -> None:
        h = Harness(
            executor, model, threads=1, max_batch_size=8, batch_timeout_micros=20_000,
            pad_variable_length_inputs=True,
        )  # fmt: skip
        narrow = h.submit(rows(1, width=2))
        wide = h.submit(rows(3, width=3))
        a, b = await asyncio.gather(narrow.result(), wide.result())
        assert model.calls[0]["x"].tolist() == [[1, 1, 1], [3, 3, 3]]
        assert a["y"].tolist() == [[10, 10, 10]]  # the model's answer for the padded row
        check_answer(b, rows(3, width=3))

    run(scenario())


@pytest.mark.parametrize(
    "inputs",
    [
        {"x": np.float32(1) * np.ones(())},  # a scalar
        {"x": np.zeros((2, 1)), "z": np.zeros((3, 1))},  # unequal 0th dims
        {"x": np.zeros((0, 2))},  # no rows
        {},
    ],
)
def test_requests_that_cannot_be_merged_are_not_queued(
    executor: ThreadPoolExecutor, inputs: dict[str, np.ndarray]
) -> None:
    async def scenario() -> None:
        scheduler = BatchScheduler(executor, 1)
        assert scheduler.submit(Owner(), ("s",), options(), FakeModel(), inputs) is None

    run(scenario())


def test_a_millisecond_timeout_on_uvloop_never_stalls(executor: ThreadPoolExecutor) -> None:
    # uvloop's clock counts whole milliseconds and stands still while a 0 ms timer is re-armed:
    # a batch must run when its timer fires, not when the clock says its deadline has passed.
    uvloop = pytest.importorskip("uvloop")
    model = FakeModel()

    async def scenario() -> None:
        h = Harness(executor, model, threads=2, max_batch_size=64, batch_timeout_micros=1000)
        for value in range(100):
            answer = await asyncio.wait_for(h.submit(rows(value)).result(), 1)
            check_answer(answer, rows(value))

    uvloop.run(asyncio.wait_for(scenario(), timeout=30))
