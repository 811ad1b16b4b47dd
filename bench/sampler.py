"""A small on-CPU profiler for every thread of a process (cProfile sees one thread; Gradio uses many).

Every `interval` seconds it reads each thread's CPU clock (pthread_getcpuclockid) and its Python stack
(sys._current_frames()), and charges the CPU time the thread used since the last sample to that stack. Threads
that are waiting (select, sleep, locks, sockets) use no CPU and so cost nothing in the report, which shows where
CPU time goes, per thread and per function (inclusive and self).
"""

from __future__ import annotations

import collections
import os
import sys
import threading
import time
from types import FrameType


def _where(frame: FrameType) -> str:
    code = frame.f_code
    path = code.co_filename
    for marker in ("site-packages/", "python3.11/", "/work/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{path}:{code.co_name}"


# CPU an event loop thread used between two samples is charged to where it stands at the second one, which is
# most often waiting in select(): that bucket is "callbacks that ran and finished between samples".
_RENAME = {"selectors.py:select": "selectors.py:select (event-loop callbacks finished between samples)"}


def _thread_cpu(ident: int) -> float | None:
    try:
        return time.clock_gettime(time.pthread_getcpuclockid(ident))
    except (OSError, OverflowError):
        return None  # the thread ended between listing and reading


class Sampler:
    def __init__(self, interval: float = 0.003) -> None:
        self.interval = interval
        self._running = threading.Event()
        self._thread: threading.Thread | None = None
        self.reset()

    def reset(self) -> None:
        self.samples = 0
        self.cpu_by_thread: collections.Counter[str] = collections.Counter()
        self.inclusive: collections.Counter[str] = collections.Counter()
        self.self_time: collections.Counter[str] = collections.Counter()
        self.stacks: collections.Counter[str] = collections.Counter()
        self._last: dict[int, float] = {}
        self.started = time.perf_counter()
        self.process_cpu_start = time.process_time()

    def start(self) -> None:
        self.reset()
        self._running.set()
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="bench-sampler", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._running.clear()
        self.elapsed = time.perf_counter() - self.started
        self.process_cpu = time.process_time() - self.process_cpu_start

    def _loop(self) -> None:
        me = threading.get_ident()
        while True:
            if not self._running.is_set():
                time.sleep(0.05)
                continue
            names = {t.ident: t.name for t in threading.enumerate()}
            self.samples += 1
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                now = _thread_cpu(ident)
                if now is None:
                    continue
                used = now - self._last.get(ident, now)
                self._last[ident] = now
                if used <= 0:
                    continue
                name = names.get(ident, str(ident))
                self.cpu_by_thread[name.rsplit("_", 1)[0] if "ThreadPool" in name else name] += used
                seen: set[str] = set()
                chain: list[str] = []
                f: FrameType | None = frame
                while f is not None:
                    where = _where(f)
                    if where not in seen:
                        self.inclusive[where] += used
                        seen.add(where)
                    chain.append(where)
                    f = f.f_back
                self.self_time[chain[0]] += used
                self.stacks[" <- ".join(chain[:7])] += used
            time.sleep(self.interval)

    def report(self, top: int = 25) -> str:
        elapsed = getattr(self, "elapsed", time.perf_counter() - self.started)
        total = sum(self.cpu_by_thread.values()) or 1e-9
        lines = [
            f"pid {os.getpid()}: {elapsed:.2f} s wall, {getattr(self, 'process_cpu', 0.0):.2f} s CPU for the "
            f"process, {total:.2f} s of it attributed to sampled Python stacks ({self.samples} samples)",
            "CPU per thread:",
        ]
        lines += [f"  {1000 * s:8.0f} ms  {name}" for name, s in self.cpu_by_thread.most_common(8)]
        lines.append("CPU with the function on the stack (inclusive):")
        lines += [f"  {100 * s / total:5.1f}%  {where}" for where, s in self.inclusive.most_common(top)]
        lines.append("CPU with the function on top of the Python stack (self, includes the C code it called):")
        lines += [f"  {100 * s / total:5.1f}%  {_RENAME.get(w, w)}" for w, s in self.self_time.most_common(top)]
        lines.append("hottest stacks (innermost first):")
        lines += [f"  {100 * s / total:5.1f}%  {stack}" for stack, s in self.stacks.most_common(12)]
        return "\n".join(lines)
