"""Process-wide limits on reference work: a few worker threads and a budget of decode memory.

Every request shares them, whatever event loop or thread it comes from, so that no number of visitors can
decode more at once than the machine holds, and the event loop never waits on a decoder.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import os
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from seedream_ui.references.limits import DECODE_BUDGET_BYTES

T = TypeVar("T")


@dataclass
class _Waiter:
    amount: int
    wake: Callable[[], None]
    granted: bool = field(default=False)


class DecodeBudget:
    """A counting budget of bytes, granted first come, first served (a large request is never overtaken).

    `acquire` waits asynchronously (no thread is held while waiting); `acquire_blocking` waits in the calling
    thread; `release` may be called from any thread. `high_water` is the largest amount ever in use, for tests
    and benchmarks.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.in_use = 0
        self.high_water = 0
        self._lock = threading.Lock()
        self._waiters: deque[_Waiter] = deque()

    def fits(self, amount: int) -> bool:
        return amount <= self.capacity

    async def acquire(self, amount: int) -> None:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()

        def set_ready() -> None:
            if not ready.done():
                ready.set_result(None)

        def wake() -> None:
            loop.call_soon_threadsafe(set_ready)

        waiter = self._enqueue(amount, wake)
        if waiter is None:
            return
        try:
            await ready
        except BaseException:  # cancelled while waiting: give back what may have been granted meanwhile
            self._withdraw(waiter)
            raise

    def acquire_blocking(self, amount: int) -> None:
        event = threading.Event()
        waiter = self._enqueue(amount, event.set)
        if waiter is not None:
            event.wait()

    def release(self, amount: int) -> None:
        with self._lock:
            self.in_use -= amount
            self._grant()
            idle = self.in_use == 0
        if idle:
            _trim_heap()

    def _enqueue(self, amount: int, wake: Callable[[], None]) -> _Waiter | None:
        """Take `amount` now (None) or queue a waiter woken once it is granted."""
        if amount > self.capacity:
            raise ValueError(f"{amount} bytes can never fit a budget of {self.capacity}")
        with self._lock:
            if not self._waiters and self.in_use + amount <= self.capacity:
                self._take(amount)
                return None
            waiter = _Waiter(amount, wake)
            self._waiters.append(waiter)
            return waiter

    def _withdraw(self, waiter: _Waiter) -> None:
        with self._lock:
            if waiter.granted:
                self.in_use -= waiter.amount
            else:
                self._waiters.remove(waiter)
            self._grant()

    def _grant(self) -> None:
        """Wake waiters in order while the first one fits (called with the lock held)."""
        while self._waiters and self.in_use + self._waiters[0].amount <= self.capacity:
            waiter = self._waiters.popleft()
            waiter.granted = True
            self._take(waiter.amount)
            waiter.wake()

    def _take(self, amount: int) -> None:
        self.in_use += amount
        self.high_water = max(self.high_water, self.in_use)


def _worker_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


# About one thread per core: decoding, resampling and encoding release the GIL, so more threads would only
# compete for the same cores (and hold more decoded images at once).
WORKERS = _worker_count()
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_budget = DecodeBudget(DECODE_BUDGET_BYTES)


def decode_budget() -> DecodeBudget:
    """The process-wide decode memory budget."""
    return _budget


def set_decode_budget(capacity: int) -> DecodeBudget:
    """Replace the process-wide budget (at start-up, or in tests); work already admitted keeps the old one."""
    global _budget
    _budget = DecodeBudget(capacity)
    return _budget


def submit(function: Callable[[], T]) -> Future[T]:
    """Run `function` on the shared reference pool."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="reference")
        return _pool.submit(function)


def _load_libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


_libc = _load_libc()
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
_MMAP_THRESHOLD = 4 * 1024 * 1024


def _tune_allocator() -> None:
    """Serve every allocation of 4 MB or more (decoded images, Base64 text) straight from the system.

    By default glibc raises this threshold to 32 MB after the first large free, and then keeps freed image
    blocks (Pillow allocates images in 16 MB blocks) in the freeing thread's heap: the next image, decoded on the
    other worker, takes fresh memory (a 1157 MB peak where the budget admits 580), and a new image from a reused
    block must be zero-filled while holding the GIL (event loop stalls of 2-3 s, measured). From the system,
    freed memory goes back at once and new pages come zeroed.
    """
    if _libc is not None:
        _libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)


def _trim_heap() -> None:
    """Return what small allocations left free in glibc's heaps; called when no decoding is running."""
    if _libc is not None:
        _libc.malloc_trim(0)


_tune_allocator()
