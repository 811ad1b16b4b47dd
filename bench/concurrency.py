"""32 visitors at once against one visitor alone, stand-in latency 2 s, 1 image at 2K each.

The stand-in and the app each run in their own process; the load generator (bench/load.py: coroutines on
Gradio's HTTP API, fetching the result images as the page would) runs in this one. Measured twice: with the
app's default settings, and with SEEDREAM_CONCURRENCY=32 (the default lets 16 generations run at once). The CPU
time of each process during a round is recorded: on 2 cores, the stand-in's own drawing competes with the app.
"""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
import time
from pathlib import Path

from bench.common import Row, app_process, cpu_seconds, describe, median, stub_process
from bench.load import crowd, generate_data

TARGET = 1.3
VISITORS = 32
LATENCY_S = 2.0
CORES = 2


async def _measure(app_url: str, app_pid: int, stub_pid: int, singles: int, rounds: int) -> dict[str, object]:
    data = generate_data("2K")
    await crowd(app_url, 1, data)  # warm-up: first event, imports, connection pools
    await crowd(app_url, 8, data)
    alone: list[float] = []
    walls: list[float] = []
    spans: list[list[float]] = []
    cpu: list[dict[str, float]] = []
    for i in range(max(singles, rounds)):
        if i < singles:
            wall, _ = await crowd(app_url, 1, data)
            alone.append(wall)
        if i < rounds:
            before = {"app": cpu_seconds(app_pid), "stand-in": cpu_seconds(stub_pid), "load generator": cpu_seconds()}
            wall, visits = await crowd(app_url, VISITORS, data)
            after = {"app": cpu_seconds(app_pid), "stand-in": cpu_seconds(stub_pid), "load generator": cpu_seconds()}
            walls.append(wall)
            spans.append(sorted(v.seconds for v in visits))
            cpu.append({name: after[name] - before[name] for name in before})
    return {"alone_s": alone, "crowd_s": walls, "visits_s": spans, "cpu_s": cpu}


def run(quick: bool = False) -> Row:
    singles, rounds = (2, 2) if quick else (5, 3)
    row = Row(
        key="concurrency",
        what=f"{VISITORS} visitors at once, stand-in latency {LATENCY_S:.0f} s (1 image at 2K each)",
        baseline_label="one visitor alone",
        target_label=f"wall time <= {TARGET}x",
    )
    configs = {
        "default settings": ({}, False),
        "SEEDREAM_CONCURRENCY=32": ({"SEEDREAM_CONCURRENCY": "32"}, False),
        "SEEDREAM_CONCURRENCY=32, stand-in drawing cached": ({"SEEDREAM_CONCURRENCY": "32"}, True),
    }
    ratios = {}
    for label, (env, cached) in configs.items():
        with stub_process(latency=LATENCY_S, cached=cached) as stub, app_process(stub.url, env=env) as app:
            result = asyncio.run(_measure(app.url, app.pid, stub.pid, singles, rounds))
        alone, walls = result["alone_s"], result["crowd_s"]
        ratio = median(walls) / median(alone)
        ratios[label] = ratio
        cpu_per_round = {
            name: median([c[name] for c in result["cpu_s"]]) for name in result["cpu_s"][0]
        }
        floor = LATENCY_S + sum(cpu_per_round.values()) / CORES
        row.raw[label] = {**result, "ratio": ratio, "cpu_per_round_s": cpu_per_round, "cpu_floor_s": floor}
        last = result["visits_s"][-1]
        row.notes.append(
            f"{label}: alone {describe(alone, 's')}; {VISITORS} at once {describe(walls, 's')}; "
            f"ratio {ratio:.2f}x; one round's visitors took {last[0]:.2f}-{last[-1]:.2f} s"
        )
        row.notes.append(
            f"{label}: CPU per round of {VISITORS}: "
            + ", ".join(f"{name} {s:.2f} s" for name, s in cpu_per_round.items())
            + f" -> on {CORES} cores no round can end before {LATENCY_S:.0f} s + CPU/{CORES} = {floor:.2f} s "
            f"({floor / median(alone):.2f}x one visitor)"
        )
    headline = "default settings"
    row.baseline = median(row.raw[headline]["alone_s"])
    row.measured = median(row.raw[headline]["crowd_s"])
    row.figure = ", ".join(f"{ratios[k]:.2f}x ({k})" for k in configs)
    row.met = ratios[headline] <= TARGET
    row.notes.append("Stand-in (python -m seedream_ui.stub_api --latency 2) and app in separate processes.")
    return row


def profile(quick: bool = False) -> str:
    """Where the app's CPU goes during rounds of 32 (stand-in drawing cached, so the app is what is busy)."""
    out = Path(tempfile.mkdtemp(prefix="bench-profile-")) / "app.txt"
    env = {"SEEDREAM_CONCURRENCY": "32", "BENCH_PROFILE_OUT": str(out)}
    with (
        stub_process(latency=LATENCY_S, cached=True) as stub,
        app_process(stub.url, env=env, script="bench/serve_app.py") as app,
    ):

        async def rounds() -> float:
            data = generate_data("2K")
            await crowd(app.url, 8, data)
            os.kill(app.pid, signal.SIGUSR1)
            before = cpu_seconds(app.pid)
            for _ in range(1 if quick else 2):
                await crowd(app.url, VISITORS, data)
            used = cpu_seconds(app.pid) - before
            os.kill(app.pid, signal.SIGUSR2)
            return used

        used = asyncio.run(rounds())
        time.sleep(0.5)
        report = out.read_text()
    per = 1000 * used / (VISITORS * (1 if quick else 2))
    return f"app CPU per generation under load: {per:.0f} ms\n{report}"
