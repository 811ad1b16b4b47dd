"""`python bench/serve_app.py`: app.py exactly, plus profilers under signal control.

SIGUSR1 starts the all-threads CPU sampler and cProfile in the server's event-loop thread (where nearly all of
the app's CPU goes); SIGUSR2 stops both and writes the report to $BENCH_PROFILE_OUT. Used only when a benchmark
profiles the app; the figures themselves come from the real `python app.py`.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import io
import os
import pstats
import runpy
import signal
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sampler import Sampler

sampler = Sampler()
loop_profiler = cProfile.Profile()
_enabled = threading.Event()


def _server_loops() -> list[asyncio.AbstractEventLoop]:
    return [o for o in gc.get_objects() if isinstance(o, asyncio.AbstractEventLoop) and o.is_running()]


def _start(signum: int, frame: object) -> None:
    sampler.start()
    for loop in _server_loops():
        loop.call_soon_threadsafe(lambda: (loop_profiler.enable(), _enabled.set()))


def _stop(signum: int, frame: object) -> None:
    sampler.stop()
    done = threading.Event()
    for loop in _server_loops():
        loop.call_soon_threadsafe(lambda: (loop_profiler.disable(), done.set()))
    done.wait(5)
    time.sleep(0.1)
    out = io.StringIO()
    stats = pstats.Stats(loop_profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(22)
    # Paths are stripped: our modules show as ui.py, generation.py, client.py, outputs.py.
    ours = r"\b(ui|generation|client|outputs|references)\.py|blocks\.py|queueing|processing_utils|route_utils"
    stats.sort_stats("cumulative").print_stats(ours, 28)
    text = out.getvalue()
    report = sampler.report(12).split("CPU with the function on the stack")[0]
    Path(os.environ["BENCH_PROFILE_OUT"]).write_text(
        f"{report}\ncProfile of the server's event-loop thread (cProfile slows Python code; read proportions):\n"
        + "\n".join(line for line in text.splitlines() if line.strip() and not line.startswith("   List reduced"))
    )


signal.signal(signal.SIGUSR1, _start)
signal.signal(signal.SIGUSR2, _stop)
runpy.run_path(str(Path(__file__).resolve().parent.parent / "app.py"), run_name="__main__")
