"""Peak memory of the app during 32 concurrent 4K generations, against the idle app.

The app (`python app.py`, its own process) is warmed up with a few 4K generations, then its resident memory is
read (idle), its high-water mark reset (/proc/PID/clear_refs), 32 visitors start a 4K generation each (stand-in
latency 2 s so that they overlap, result images fetched as the page would), and VmHWM is read again. Measured
with the default settings (16 generations at once) and with SEEDREAM_CONCURRENCY=32.
"""

from __future__ import annotations

import asyncio
import time

from bench.common import Row, app_process, peak_rss_mb, reset_peak, rss_mb, stub_process
from bench.load import crowd, generate_data

VISITORS = 32


async def _measure(app_url: str, pid: int, rounds: int) -> dict[str, list[float]]:
    data = generate_data("4K")
    await crowd(app_url, 2, data)
    await crowd(app_url, 8, data)
    idle: list[float] = []
    peak: list[float] = []
    for _ in range(rounds):
        await asyncio.sleep(1.0)  # let finished work be freed
        idle.append(rss_mb(pid))
        reset_peak(pid)
        await crowd(app_url, VISITORS, data)
        peak.append(peak_rss_mb(pid))
    return {"idle_mb": idle, "peak_mb": peak}


def run(quick: bool = False) -> Row:
    rounds = 1 if quick else 2
    row = Row(
        key="memory",
        what=f"peak memory, {VISITORS} concurrent 4K generations",
        baseline_label="the idle app (resident memory after warm-up)",
        target_label="report MB per concurrent generation",
        unit="MB",
    )
    configs = {"default settings": ({}, 16), "SEEDREAM_CONCURRENCY=32": ({"SEEDREAM_CONCURRENCY": "32"}, 32)}
    figures = []
    with stub_process(latency=2.0) as stub:
        for label, (env, in_flight) in configs.items():
            with app_process(stub.url, env=env) as app:
                started = time.perf_counter()
                result = asyncio.run(_measure(app.url, app.pid, rounds))
                seconds = time.perf_counter() - started
            # The largest rise of one round over the idle memory just before it.
            rises = [p - i for i, p in zip(result["idle_mb"], result["peak_mb"], strict=True)]
            worst = max(range(len(rises)), key=rises.__getitem__)
            idle, peak = result["idle_mb"][worst], result["peak_mb"][worst]
            per = (peak - idle) / in_flight
            row.raw[label] = {**result, "in_flight": in_flight, "mb_per_generation": per}
            figures.append(f"{per:.1f} MB ({label}, {in_flight} in flight)")
            row.notes.append(
                f"{label}: idle {', '.join(f'{v:.0f}' for v in result['idle_mb'])} MB, peak during {VISITORS} "
                f"visitors {', '.join(f'{v:.0f}' for v in result['peak_mb'])} MB -> +{peak - idle:.0f} MB for "
                f"{in_flight} generations at once = {per:.1f} MB each ({seconds:.0f} s incl. warm-up)"
            )
            if label == "default settings":
                row.baseline, row.measured = idle, peak
    row.figure = "; ".join(figures)
    row.met = None
    row.notes.append("Stand-in in its own process (latency 2 s, 4096x4096 JPEGs, URL answers).")
    return row
