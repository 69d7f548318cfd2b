"""A dynamic batcher: single requests queue up, run as one batch, and are answered one by one.

The two knobs are Triton's. A batch starts with the oldest waiting request and
takes more until it holds ``max_batch_size`` of them or ``max_queue_delay_ms`` has
passed since that first one arrived; then the whole batch runs as one call of
``fn`` on a single model thread, and each caller gets its own row back. While a
batch runs, new requests wait, so under load the next batch is full at once and
costs no delay at all. ``max_batch_size = 1`` is the unbatched server, through
the same code path.

* **Bounded.** At most ``max_queue_size`` requests wait; one more is refused at
  once with :class:`QueueFull` (the REST front answers 503 + ``Retry-After``,
  gRPC ``RESOURCE_EXHAUSTED``), never left hanging.
* **Per-request timeout.** A request not answered within ``timeout_s`` raises
  :class:`TimeoutError`; its slot is skipped if it had not run yet.
* **Cancellation.** A caller that goes away (its task is cancelled: gRPC does
  this when the client cancels) is dropped from the batch before it runs; the
  others in the batch are answered as usual.
* **Failure.** If ``fn`` raises, every request of that batch gets the exception;
  the batcher goes on with the next batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class QueueFull(Exception):
    """The queue holds ``max_queue_size`` requests: come back after ``retry_after_s``."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"the queue is full; retry after {retry_after_s:g} s")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class BatchingOptions:
    """Triton's two knobs, the queue bound and the per-request timeout."""

    max_batch_size: int = 32
    max_queue_delay_ms: float = 5.0
    max_queue_size: int = 256
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if self.max_batch_size < 1 or self.max_queue_size < 1:
            raise ValueError("max_batch_size and max_queue_size must be at least 1")
        if self.max_queue_delay_ms < 0 or self.timeout_s <= 0:
            raise ValueError("max_queue_delay_ms must be >= 0 and timeout_s > 0")


@dataclass
class BatchStats:
    """What the batcher did: batches run, rows in them, requests refused, timed out, dropped."""

    batches: int = 0
    rows: int = 0
    refused: int = 0
    timed_out: int = 0
    dropped: int = 0  # cancelled or timed out before their batch ran
    sizes: dict[int, int] = field(default_factory=dict)  # batch size -> how many batches

    @property
    def mean_batch_size(self) -> float:
        return self.rows / self.batches if self.batches else 0.0


@dataclass
class _Pending:
    x: np.ndarray
    future: asyncio.Future[np.ndarray]
    arrived: float


class DynamicBatcher:
    """Queue single inputs, run them through ``fn`` in batches, answer each caller.

    ``fn`` takes a stacked array (batch first) and returns one row per input; it runs
    on ``executor`` (default: one dedicated thread), so the event loop keeps accepting
    requests meanwhile. Start with :meth:`start` inside a running loop, stop with
    :meth:`stop`.
    """

    def __init__(
        self,
        fn: Callable[[np.ndarray], np.ndarray],
        options: BatchingOptions,
        on_batch: Callable[[int], None] | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.fn = fn
        self.options = options
        self.on_batch = on_batch  # called with each batch's size (a metrics histogram)
        self.stats = BatchStats()
        self._waiting: deque[_Pending] = deque()
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._owned = executor is None
        self._executor = executor or ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")
        self._busy_since: float | None = None
        self._last_batch_s = 0.0

    @property
    def depth(self) -> int:
        """Requests waiting (not yet in a running batch)."""
        return len(self._waiting)

    def start(self) -> None:
        self._wakeup = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for pending in self._waiting:
            if not pending.future.done():
                pending.future.set_exception(RuntimeError("the server is shutting down"))
        self._waiting.clear()
        if self._owned:
            self._executor.shutdown(wait=True)

    def retry_after_s(self) -> float:
        """About how long the waiting requests take: batches ahead × the last batch's time."""
        batches_ahead = -(-len(self._waiting) // self.options.max_batch_size)
        return max(1.0, round(batches_ahead * self._last_batch_s + 0.5))

    async def submit(self, x: np.ndarray) -> np.ndarray:
        """The row ``fn`` gives for ``x``; :class:`QueueFull` or :class:`TimeoutError` if not."""
        if self._wakeup is None:
            raise RuntimeError("the batcher was not started")
        if len(self._waiting) >= self.options.max_queue_size:
            self.stats.refused += 1
            raise QueueFull(self.retry_after_s())
        loop = asyncio.get_running_loop()
        pending = _Pending(x, loop.create_future(), time.perf_counter())
        self._waiting.append(pending)
        self._wakeup.set()
        try:
            return await asyncio.wait_for(asyncio.shield(pending.future), self.options.timeout_s)
        except TimeoutError:
            self.stats.timed_out += 1
            pending.future.cancel()  # skipped if its batch has not run yet
            raise
        except asyncio.CancelledError:
            pending.future.cancel()  # the caller went away: drop it from its batch
            raise

    async def _next_batch(self) -> list[_Pending]:
        """Wait for a first request, then fill the batch until full or its delay has passed."""
        assert self._wakeup is not None
        while not self._waiting:
            self._wakeup.clear()
            await self._wakeup.wait()
        deadline = self._waiting[0].arrived + self.options.max_queue_delay_ms / 1000.0
        while len(self._waiting) < self.options.max_batch_size:
            left = deadline - time.perf_counter()
            if left <= 0:
                break
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), left)
            except TimeoutError:
                break
        batch = []
        while self._waiting and len(batch) < self.options.max_batch_size:
            pending = self._waiting.popleft()
            if pending.future.done():  # cancelled or timed out while it waited
                self.stats.dropped += 1
                continue
            batch.append(pending)
        return batch

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._next_batch()
            if not batch:
                continue
            started = time.perf_counter()
            try:
                stacked = np.stack([p.x for p in batch])
                out = await loop.run_in_executor(self._executor, self.fn, stacked)
                if len(out) != len(batch):
                    raise RuntimeError(f"the model gave {len(out)} rows for {len(batch)} inputs")
            except Exception as exc:  # every caller of this batch hears of it; go on
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)
                continue
            finally:
                self._last_batch_s = time.perf_counter() - started
            self.stats.batches += 1
            self.stats.rows += len(batch)
            self.stats.sizes[len(batch)] = self.stats.sizes.get(len(batch), 0) + 1
            if self.on_batch is not None:
                self.on_batch(len(batch))
            for pending, row in zip(batch, out, strict=True):
                if not pending.future.done():
                    pending.future.set_result(row)


class MainThreadExecutor(Executor):
    """Runs what is submitted on the thread that calls :meth:`run_until` (the main thread).

    PyTorch's OpenMP threads serve the thread that starts them best: measured here, a
    MobileNetV2 at batch 1 with 2 intra-op threads took 5 ms called from the main
    thread and 21–25 ms from any other. The server therefore runs its event loop on a
    second thread and the model calls here.
    """

    def __init__(self) -> None:
        self._work: queue.SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]]
        self._work = queue.SimpleQueue()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        self._work.put((future, lambda: fn(*args, **kwargs), ()))
        return future

    def run_until(self, done: threading.Event) -> None:
        """Run submitted calls one at a time until ``done`` is set."""
        while not done.is_set():
            try:
                future, call, _ = self._work.get(timeout=0.05)
            except queue.Empty:
                continue
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(call())
            except BaseException as exc:  # handed to whoever awaits the future
                future.set_exception(exc)
