"""The dynamic batcher on a plain NumPy function: batch sizes, delays, the queue bound, timeouts,
cancellation and failures, each observed through what the callers get back."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from ai_roadmap.serving.deep.batcher import BatchingOptions, DynamicBatcher, QueueFull


class Recorder:
    """fn(x) = 2x + 1 per row, remembering each batch's size; optionally slow or failing."""

    def __init__(self, sleep_s: float = 0.0, fail_on: int | None = None) -> None:
        self.sizes: list[int] = []
        self.sleep_s, self.fail_on = sleep_s, fail_on
        self.release = threading.Event()
        self.release.set()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.release.wait(5)
        time.sleep(self.sleep_s)
        self.sizes.append(len(x))
        if self.fail_on is not None and len(self.sizes) == self.fail_on:
            raise ValueError("the model broke on this batch")
        return 2 * x + 1


def run(coro_fn: Callable[[], Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro_fn(), 20))


def test_every_caller_gets_its_own_row_in_full_batches() -> None:
    fn = Recorder()
    fn.release.clear()  # hold the first batch so that the rest queue up behind it

    async def go() -> list[np.ndarray]:
        b = DynamicBatcher(fn, BatchingOptions(max_batch_size=4, max_queue_delay_ms=50))
        b.start()
        tasks = [asyncio.create_task(b.submit(np.full(3, float(i)))) for i in range(9)]
        await asyncio.sleep(0.2)
        fn.release.set()
        out = await asyncio.gather(*tasks)
        assert b.stats.rows == 9 and b.stats.batches == len(fn.sizes)
        await b.stop()
        return out

    out = run(go)
    for i, row in enumerate(out):
        np.testing.assert_array_equal(row, np.full(3, 2.0 * i + 1))
    assert fn.sizes == [4, 4, 1]  # the first batch was full, so the rest waited behind it


def test_a_lone_request_waits_the_delay_then_runs_alone() -> None:
    fn = Recorder()

    async def go() -> float:
        b = DynamicBatcher(fn, BatchingOptions(max_batch_size=8, max_queue_delay_ms=150))
        b.start()
        started = time.perf_counter()
        await b.submit(np.zeros(2))
        took = time.perf_counter() - started
        await b.stop()
        return took

    took = run(go)
    assert fn.sizes == [1] and 0.14 <= took < 1.0


def test_max_batch_size_one_never_batches() -> None:
    fn = Recorder(sleep_s=0.01)

    async def go() -> None:
        b = DynamicBatcher(fn, BatchingOptions(max_batch_size=1, max_queue_delay_ms=0))
        b.start()
        await asyncio.gather(*(b.submit(np.zeros(1)) for _ in range(6)))
        await b.stop()

    run(go)
    assert fn.sizes == [1] * 6


def test_a_full_queue_refuses_at_once_with_a_retry_hint() -> None:
    fn = Recorder()
    fn.release.clear()

    async def go() -> tuple[int, list[Any]]:
        options = BatchingOptions(max_batch_size=2, max_queue_delay_ms=0, max_queue_size=3)
        b = DynamicBatcher(fn, options)
        b.start()
        first = asyncio.create_task(b.submit(np.zeros(1)))  # taken into the held batch
        await asyncio.sleep(0.05)
        waiting = [asyncio.create_task(b.submit(np.zeros(1))) for _ in range(3)]
        await asyncio.sleep(0.05)
        started = time.perf_counter()
        with pytest.raises(QueueFull) as refused:
            await b.submit(np.zeros(1))
        assert time.perf_counter() - started < 0.05 and refused.value.retry_after_s >= 1
        fn.release.set()
        done = await asyncio.gather(first, *waiting)
        await b.stop()
        return b.stats.refused, done

    refused, done = run(go)
    assert refused == 1 and len(done) == 4


def test_a_timed_out_request_is_skipped_when_its_batch_runs() -> None:
    fn = Recorder()

    async def go() -> None:
        options = BatchingOptions(max_batch_size=8, max_queue_delay_ms=400, timeout_s=0.1)
        b = DynamicBatcher(fn, options)
        b.start()
        with pytest.raises(TimeoutError):
            await b.submit(np.zeros(1))
        await asyncio.sleep(0.5)  # its batch would have run by now
        assert b.stats.timed_out == 1 and b.stats.dropped == 1
        await b.stop()

    run(go)
    assert fn.sizes == []  # the only request had gone: no model call at all


def test_a_cancelled_caller_does_not_poison_the_batch() -> None:
    fn = Recorder()

    async def go() -> list[np.ndarray]:
        b = DynamicBatcher(fn, BatchingOptions(max_batch_size=8, max_queue_delay_ms=200))
        b.start()
        tasks = [asyncio.create_task(b.submit(np.full(2, float(i)))) for i in range(4)]
        await asyncio.sleep(0.05)
        tasks[1].cancel()
        kept = await asyncio.gather(tasks[0], tasks[2], tasks[3])
        assert b.stats.dropped == 1
        await b.stop()
        return kept

    kept = run(go)
    assert fn.sizes == [3]
    for i, row in zip((0, 2, 3), kept, strict=True):
        np.testing.assert_array_equal(row, np.full(2, 2.0 * i + 1))


def test_a_failing_batch_fails_its_callers_and_the_next_batch_runs() -> None:
    fn = Recorder(fail_on=1)

    async def go() -> np.ndarray:
        b = DynamicBatcher(fn, BatchingOptions(max_batch_size=4, max_queue_delay_ms=20))
        b.start()
        results = await asyncio.gather(
            *(b.submit(np.zeros(1)) for _ in range(2)), return_exceptions=True
        )
        assert all(isinstance(r, ValueError) for r in results)
        after = await b.submit(np.ones(1))
        await b.stop()
        return after

    np.testing.assert_array_equal(run(go), [3.0])


def test_a_model_that_loses_rows_is_an_error_not_a_wrong_answer() -> None:
    async def go() -> None:
        b = DynamicBatcher(
            lambda x: x[:1], BatchingOptions(max_batch_size=4, max_queue_delay_ms=50)
        )
        b.start()
        results = await asyncio.gather(
            *(b.submit(np.zeros(1)) for _ in range(3)), return_exceptions=True
        )
        assert all(isinstance(r, RuntimeError) and "1 rows for 3" in str(r) for r in results)
        await b.stop()

    run(go)


@pytest.mark.parametrize(
    "bad",
    [
        {"max_batch_size": 0},
        {"max_queue_size": 0},
        {"max_queue_delay_ms": -1},
        {"timeout_s": 0},
    ],
)
def test_impossible_options_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        BatchingOptions(**bad)  # type: ignore[arg-type]
