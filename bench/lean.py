"""`python -m bench.lean [--quick]`: this app against the lean anchor (bench/anchor_app.py), side by side.

Both front ends run at once, each in its own process, against one cheap fixed-latency stand-in
(bench/fixed_stub.py); the visitors are coroutines on Gradio's HTTP API (bench/lean_load.py). Every figure takes
anchor and app in the same run, alternating, so the shared machine's noise hits both alike. Rows (issue 9):

- cpu:     server CPU per generation (2K, URL answer), K sequential generations, minus the process's idle CPU;
- burst64: 64 visitors at once, 2 s API latency: wall of the burst / wall of one visitor;
- burst200: 200 visitors at once, 5 s API latency, default settings: all served? ratio; memory per generation;
- gradio_client: one predict() per call (information only: most of its cost is the client library's own).

`--profile` samples the app (and the anchor) with py-spy during the cpu row and ranks where the app's extra CPU
goes (bench/lean_profile.py). Writes the section between the lean markers of docs/benchmarks.md unless --no-doc.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import lean_profile
from bench.common import (
    RESULTS,
    ROOT,
    Child,
    app_process,
    child_process,
    clean_env,
    cpu_seconds,
    free_port,
    median,
    peak_rss_mb,
    reset_peak,
    rss_mb,
    temp_log,
)
from bench.lean_load import APP_ENV, crowd, generate_data, set_latency, visitor_headers
from bench.lean_report import render, write_doc
from bench.run import load_average, machine

SIDES = ("anchor", "app")


@contextmanager
def stand_in() -> Iterator[Child]:
    port = free_port()
    command = [sys.executable, "-m", "bench.fixed_stub", "--port", str(port)]
    with child_process(command, f"http://127.0.0.1:{port}/", env=clean_env(), log_path=temp_log("lean")) as child:
        yield child


@contextmanager
def anchor(api_url: str) -> Iterator[Child]:
    port = free_port()
    env = clean_env(SEEDREAM_API_URL=api_url, SEEDREAM_API_KEY="bench-key")
    command = [sys.executable, str(ROOT / "bench" / "anchor_app.py"), str(port)]
    with child_process(command, f"http://127.0.0.1:{port}/", env=env, log_path=temp_log("lean")) as child:
        yield child


# ---------------------------------------------------------------------------------------------------- rows


def _idle_rate(pid: int, seconds: float = 2.0) -> float:
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / seconds


async def cpu_row(sides: dict[str, Child], stub: str, k: int, block: int) -> dict[str, Any]:
    """CPU seconds of each server per generation over K sequential generations (with the visitor's image GET)."""
    await set_latency(stub, 0.0)
    data = generate_data()
    for child in sides.values():  # warm-up: first events, imports, pools, Gradio's caches
        await crowd(child.url, 1, data)
        await crowd(child.url, 4, data)
    idle = {name: _idle_rate(child.pid) for name, child in sides.items()}
    per_gen: dict[str, list[float]] = {name: [] for name in sides}
    for i in range(k // block):
        order = SIDES if i % 2 == 0 else SIDES[::-1]
        for name in order:
            child = sides[name]
            before, started = cpu_seconds(child.pid), time.perf_counter()
            for _ in range(block):
                _, visits = await crowd(child.url, 1, data)
                assert not visits[0].error, visits[0].error
            wall = time.perf_counter() - started
            used = cpu_seconds(child.pid) - before - idle[name] * wall
            per_gen[name].append(used / block)
    return {"per_generation_s": per_gen, "idle_cpu_per_s": idle, "k": k, "block": block}


async def burst_row(
    sides: dict[str, Child], stub: Child, visitors: int, latency: float, rounds: int
) -> dict[str, Any]:
    """Wall time of `visitors` at once / wall time of one visitor alone; errors; memory per generation."""
    await set_latency(stub.url, latency)
    data = generate_data()
    fields = ("alone_s", "burst_s", "failed", "served", "mb_per_gen", "cpu_per_gen_s", "others_cpu_s")
    out: dict[str, Any] = {n: {f: [] for f in fields} for n in sides}
    for child in sides.values():  # warm-up: a first burst grows pools and caches once
        await crowd(child.url, min(visitors, 16), data)
    for i in range(rounds):
        order = SIDES if i % 2 == 0 else SIDES[::-1]
        for name in order:
            child, into = sides[name], out[name]
            wall, _ = await crowd(child.url, 1, data)
            into["alone_s"].append(wall)
            rss_before = rss_mb(child.pid)
            reset_peak(child.pid)
            cpu_before = [cpu_seconds(child.pid), cpu_seconds(stub.pid), cpu_seconds()]
            wall, visits = await crowd(child.url, visitors, data)
            cpu = [after - before for after, before in zip([cpu_seconds(child.pid), cpu_seconds(stub.pid),
                                                           cpu_seconds()], cpu_before, strict=True)]  # fmt: skip
            peak = peak_rss_mb(child.pid)
            into["cpu_per_gen_s"].append(cpu[0] / visitors)
            into["others_cpu_s"].append({"stand-in": cpu[1], "visitors": cpu[2]})
            failed = [v.error for v in visits if v.error]
            into["burst_s"].append(wall)
            into["served"].append(visitors - len(failed))
            into["failed"].extend(failed[:3])
            # Generations in flight at once: the queue runs up to 64 (both sides' default); the rest wait.
            into["mb_per_gen"].append((peak - rss_before) / min(visitors, 64))
    for into in out.values():
        into["ratio"] = median(into["burst_s"]) / median(into["alone_s"])
    # Each round's app ratio over the anchor's ratio in the same round (the two ran back to back): the spread
    # of these says how far the load moved the figure.
    a, b = out["anchor"], out["app"]
    out["paired"] = [(bb / ba) / (ab / aa) for aa, ab, ba, bb in zip(a["alone_s"], a["burst_s"], b["alone_s"],
                                                                      b["burst_s"], strict=True)]  # fmt: skip
    return out


def gradio_client_row(sides: dict[str, Child], calls: int) -> dict[str, Any]:
    """Caller CPU and wall per predict() with one Client per side (information only)."""
    from gradio_client import Client

    data = generate_data()
    out: dict[str, Any] = {}
    clients = {name: Client(child.url, verbose=False, headers=visitor_headers()) for name, child in sides.items()}
    for name in SIDES:
        clients[name].predict(*data, api_name="/generate")
    samples: dict[str, dict[str, list[float]]] = {n: {"wall_s": [], "caller_cpu_s": [], "server_cpu_s": []} for n in sides}
    for i in range(calls):
        for name in SIDES if i % 2 == 0 else SIDES[::-1]:
            pid = sides[name].pid
            server, cpu, wall = cpu_seconds(pid), time.process_time(), time.perf_counter()
            clients[name].predict(*data, api_name="/generate")
            samples[name]["wall_s"].append(time.perf_counter() - wall)
            samples[name]["caller_cpu_s"].append(time.process_time() - cpu)
            samples[name]["server_cpu_s"].append(cpu_seconds(pid) - server)
    for name, client in clients.items():
        client.close()
        out[name] = {key: median(values) for key, values in samples[name].items()} | {"raw": samples[name]}
    return out


# ------------------------------------------------------------------------------------------------------ main


async def _run(args: argparse.Namespace, sides: dict[str, Child], stub: Child, results: dict[str, Any]) -> None:
    quick = args.quick
    only = set(args.only.split(",")) if args.only else {"cpu", "burst64", "burst200", "gradio_client"}
    loads = results.setdefault("loads", {})

    async def step(key: str, coro: Any) -> None:
        before = load_average()
        print(f"[{time.strftime('%H:%M:%S')}] {key} (load {before})", flush=True)
        results[key] = await coro
        loads[key] = (before, load_average())

    if "cpu" in only:
        k, block = (10, 5) if quick else (40, 5)
        await step("cpu", cpu_row(sides, stub.url, k, block))
    if args.profile:
        before = load_average()
        results["profile"] = await lean_profile.profile(sides, stub.url, seconds=10 if quick else 25)
        results["profile_text"] = lean_profile.report(results["profile"], results.get("cpu"))
        print(results["profile_text"], flush=True)
        # The same during bursts of 64 (2 s API), where the figures are CPU per generation during the profile.
        burst = await lean_profile.profile(sides, stub.url, 12 if quick else 30, visitors=64, latency=2.0,
                                           tag="-burst64")  # fmt: skip
        results["profile_burst_text"] = lean_profile.report(burst)
        loads["profile"] = (before, load_average())
        print(results["profile_burst_text"], flush=True)
    if "burst64" in only:
        await step("burst64", burst_row(sides, stub, 64, 2.0, 1 if quick else 4))
    if "burst200" in only:
        await step("burst200", burst_row(sides, stub, 200, 5.0, 1 if quick else 2))
    if "gradio_client" in only:
        await set_latency(stub.url, 0.0)
        before = load_average()
        results["gradio_client"] = await asyncio.to_thread(gradio_client_row, sides, 4 if quick else 10)
        loads["gradio_client"] = (before, load_average())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="This app against the lean anchor, side by side (issue 9).")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions: a few minutes")
    parser.add_argument("--only", default="", help="comma-separated: cpu,burst64,burst200,gradio_client")
    parser.add_argument("--profile", action="store_true", help="py-spy the app and the anchor during the cpu row")
    parser.add_argument("--app-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for app.py, to measure a variant (implies --no-doc)")
    parser.add_argument("--no-doc", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    info = machine()
    results: dict[str, Any] = {}
    started = time.perf_counter()
    with stand_in() as stub:
        stub_api = f"{stub.url}v3/seedream-4.5"
        extra = APP_ENV | dict(item.split("=", 1) for item in args.app_env)
        with anchor(stub_api) as anchor_child, app_process(stub_api, env=extra) as app_child:
            sides = {"anchor": anchor_child, "app": app_child}
            asyncio.run(_run(args, sides, stub, results))
    results["seconds"] = time.perf_counter() - started
    section = render(results, info, args.quick)
    print(section)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "lean.json").write_text(json.dumps({"machine": info, **results}, indent=1, default=str))
    if not (args.no_doc or args.app_env):
        write_doc(section)
    print(f"done in {results['seconds']:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
