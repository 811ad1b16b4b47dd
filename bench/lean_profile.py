"""Where the app's CPU goes, next to the anchor's: py-spy (all threads, idle excluded) on both servers while
visitors alternate between them, the stacks sorted into categories, and the app's extra CPU per generation ranked.

py-spy is a sampling profiler outside the process (requirements-dev.txt); `--nonblocking` keeps it from pausing
the server, so it perturbs what it measures less than cProfile would.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import RESULTS, Child, cpu_seconds, median
from bench.lean_load import crowd, generate_data, set_latency

# First match wins: (category, substrings any of which in a sample's stack puts it there). Specific before generic.
CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("zip built at generation time (outputs.save_generation)", ("zipfile",)),
    ("result saving: folder, image files (outputs.save_generation; anchor: write_bytes)",
     ("save_generation", "write_bytes")),
    ("old results purge (outputs.purge_older_than)", ("purge_older_than",)),
    ("image check: Pillow open+verify (client._checked_image)", ("_checked_image",)),
    ("request building + validation (generation/request/references)",
     ("build_request", "validated", "prepare_references")),
    ("history + status (add_to_history, _history_items, status_line)",
     ("add_to_history", "_history_items", "status_line")),
    ("Gradio: a component returned as an update (gr.DownloadButton(...) -> SessionState._update_config)",
     ("_update_config", "updateable")),
    ("Gradio: new session state (SessionState init over every block's config; each API call is a session)",
     ("SessionState.__init__", "restore_session_state", "StateHolder")),
    ("Gradio: output files copied to its cache and hashed (move_files_to_cache, hash_file)",
     ("move_files_to_cache", "save_file_to_cache", "hash_file", "_move_to_cache", "move_resource")),
    ("Gradio: other postprocess", ("postprocess",)),
    ("Gradio: preprocess of the inputs", ("preprocess",)),
    ("Gradio: progress updates (gr.Progress)", ("progress", "Progress")),
    ("handler's HTTP to the API (httpx: POST + image GET)", ("httpx", "httpcore")),
    ("handler, other (seedream_ui / anchor_app.py)", ("seedream_ui", "anchor_app.py")),
    ("Gradio: serving result files (GET /gradio_api/file=)",
     ("file_fetch", "App.create_app.<locals>.file ", "_is_static_file", "is_allowed_file", "FileResponse")),
    ("Gradio: queue analytics summary (pandas; both sides)", ("compute_analytics_summary",)),
    ("Gradio: queue, events, SSE (queueing, blocks.process_api, routes)",
     ("queueing.py", "blocks.py", "route_utils", "server_messages", "gradio/routes.py", "gradio/utils.py")),
    ("HTTP stack (uvicorn, h11, starlette routing, Gradio middlewares)",
     ("uvicorn", "h11", "starlette", "fastapi", "brotli", "Brotli", "CORSMiddleware")),
    ("thread hand-offs (anyio worker threads, to_thread)", ("anyio", "WorkerThread", "concurrent/futures")),
    ("asyncio event loop, sockets", ("asyncio", "selectors", "socket")),
]
# Leaf frames where a thread waits: py-spy --nonblocking sometimes samples them as running.
IDLE_LEAVES = ("EpollSelector.select", "Condition.wait", "Queue.get (queue", "Blocks.block_thread",
               "<module> (app.py", "_worker (concurrent/futures/thread.py:81)", "Thread._wait_for_tstate_lock")
OTHER = "other"


MIDDLEWARE = "seedream_ui/server/"  # the app's HTTP guard wraps every request: its frames say nothing of the work
GUARD = "HTTP guard middleware (seedream_ui/server, its own frames)"


def categorize(stack: str) -> str:
    frames = stack.split(";")
    if MIDDLEWARE in frames[-1]:
        return GUARD
    stack = ";".join(f for f in frames if MIDDLEWARE not in f)
    for name, needles in CATEGORIES:
        if any(n in stack for n in needles):
            return name
    return OTHER


def _parse(raw: str) -> Counter[str]:
    """py-spy --format raw: one `frame;frame;... count` per line (outermost first); waiting samples dropped."""
    samples: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit() and not any(idle in stack.split(";")[-1] for idle in IDLE_LEAVES):
            samples[stack] += int(count)
    return samples


async def profile(
    sides: dict[str, Child], stub_url: str, seconds: float, *, visitors: int = 1, latency: float = 0.0, tag: str = ""
) -> dict[str, Any]:
    """Record both servers for `seconds` of generations alternating between them, `visitors` at a time."""
    spy = shutil.which("py-spy")
    if spy is None:
        return {"error": "py-spy is not installed (pip install -r requirements-dev.txt)"}
    await set_latency(stub_url, latency)
    data = generate_data()
    out_dir = Path(tempfile.mkdtemp(prefix="bench-spy-"))
    spies = {
        name: subprocess.Popen(  # started once, returns at once
            [spy, "record", "--pid", str(child.pid), "--rate", "200", "--nonblocking", "--format", "raw",
             "--output", str(out_dir / f"{name}.txt")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        for name, child in sides.items()
    }
    await asyncio.sleep(1.0)  # py-spy attaches
    generations = dict.fromkeys(sides, 0)
    failed: dict[str, list[str]] = {name: [] for name in sides}
    cpu_before = {name: cpu_seconds(child.pid) for name, child in sides.items()}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for name, child in sides.items():
            _, visits = await crowd(child.url, visitors, data)
            generations[name] += visitors
            failed[name] += [v.error for v in visits if v.error]  # a refused visit costs little: say so
    cpu = {name: cpu_seconds(child.pid) - cpu_before[name] for name, child in sides.items()}
    result: dict[str, Any] = {"generations": generations, "cpu_s": cpu, "samples": {}, "failed": failed}
    for process in spies.values():  # py-spy writes its samples when interrupted
        process.send_signal(signal.SIGINT)
    for name, process in spies.items():
        _, err = process.communicate(timeout=60)
        path = out_dir / f"{name}.txt"
        if not path.exists():
            result["error"] = f"py-spy on {name}: {err.decode(errors='replace')[-400:]}"
            continue
        raw = path.read_text()
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"lean-spy{tag}-{name}.txt").write_text(raw)
        result["samples"][name] = _parse(raw)
    shutil.rmtree(out_dir, ignore_errors=True)
    return result


def report(result: dict[str, Any], cpu_row: dict[str, Any] | None = None) -> str:
    """Each category's CPU per generation for both sides (the sampled share of the measured CPU per generation),
    ranked by the app's excess over the anchor."""
    if result.get("error"):
        return f"profile failed: {result['error']}"
    per_gen: dict[str, dict[str, float]] = {}
    for name, samples in result["samples"].items():
        total = sum(samples.values()) or 1
        cpu = result["cpu_s"][name] / max(1, result["generations"][name])  # during the profile (py-spy running)
        if cpu_row:
            cpu = median(cpu_row["per_generation_s"][name])  # the un-profiled figure, same run
        by_cat: Counter[str] = Counter()
        for stack, count in samples.items():
            by_cat[categorize(stack)] += count
        per_gen[name] = {cat: cpu * count / total for cat, count in by_cat.items()}
    app, anchor = per_gen.get("app", {}), per_gen.get("anchor", {})
    cats = sorted(set(app) | set(anchor), key=lambda c: app.get(c, 0) - anchor.get(c, 0), reverse=True)
    extra_total = sum(app.values()) - sum(anchor.values())
    lines = [f"{'category':96} {'anchor':>8} {'app':>8} {'extra':>8} {'share of extra':>15}"]
    for cat in cats:
        a, b = anchor.get(cat, 0.0), app.get(cat, 0.0)
        share = (b - a) / extra_total * 100 if extra_total > 0 else 0.0
        lines.append(f"{cat[:96]:96} {a * 1000:6.1f}ms {b * 1000:6.1f}ms {(b - a) * 1000:+6.1f}ms {share:14.0f}%")
    lines.append(f"{'total per generation':96} {sum(anchor.values()) * 1000:6.1f}ms {sum(app.values()) * 1000:6.1f}ms "
                 f"{extra_total * 1000:+6.1f}ms")  # fmt: skip
    lines.append(f"(samples: anchor {sum(result['samples'].get('anchor', {}).values())}, "
                 f"app {sum(result['samples'].get('app', {}).values())}; generations {result['generations']})")  # fmt: skip
    for name, errors in result.get("failed", {}).items():
        if errors:
            lines.append(f"WARNING: {len(errors)} {name} visits failed, the profile is not of generations: {errors[0]}")
    return "\n".join(lines)


def top_frames(samples: Counter[str], category: str, limit: int = 12) -> list[tuple[str, int]]:
    """The leaf frames of one category, for reading what a category holds."""
    leaves: Counter[str] = Counter()
    for stack, count in samples.items():
        if categorize(stack) == category:
            leaves[stack.split(";")[-1]] += count
    return leaves.most_common(limit)
