"""Whole-app overhead: gradio_client -> python app.py -> stand-in, against our client alone -> stand-in.

Both sides generate the same request (the one the page builds for the prompt at 2K) from the same stand-in
process at zero latency, alternating. The app side is what a gradio_client user gets from one generation:
Client.predict() in a fresh session (reset_session(), so the history holds this generation only), returning
when the outputs (gallery image, zip) are downloaded. Diagnostic variants, each against
its own interleaved baseline: without downloading the files, with ssl_verify=False, and the app through
Gradio's HTTP API directly (async httpx on /gradio_api/call/generate, no gradio_client at all).
"""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gradio_client import Client

from bench.common import (
    BENCH_KEY,
    PROMPT,
    Row,
    app_process,
    cpu_seconds,
    describe,
    median,
    paired_async,
    paired_sync,
    stub_process,
)
from bench.load import generate_data, load_client, visit
from bench.sampler import Sampler
from seedream_ui.client import SeedreamClient, SyncSeedreamClient
from seedream_ui.generation import GenerationForm, build_request

TARGET_S = 0.150


def _predict(client: Client) -> object:
    client.reset_session()  # one generation in a fresh session: history of one, like a first visit
    return client.predict(
        prompt=PROMPT, size="2K", image=[], image_urls="", watermark=True, optimize_prompt_mode="standard",
        sequential_image_generation="disabled", max_images=4, api_key="", api_name="/generate",
    )  # fmt: skip


def _variant(
    label: str, ours: SyncSeedreamClient, request: object, predict: Callable[[], object], runs: int, warmup: int
) -> dict[str, object]:
    base, measured = paired_sync(lambda: ours.generate(request), predict, runs=runs, warmup=warmup)  # type: ignore[arg-type]
    return {"label": label, "baseline_s": base, "measured_s": measured, "added_s": median(measured) - median(base)}


async def _http_variant(stub_url: str, app_url: str, request: object, runs: int, warmup: int) -> dict[str, object]:
    async with SeedreamClient(api_key=BENCH_KEY, api_url=stub_url, max_retries=0) as ours, load_client() as http:
        data = generate_data("2K")
        base, measured = await paired_async(
            lambda: ours.generate(request),  # type: ignore[arg-type]
            lambda: visit(http, app_url, data),
            runs=runs,
            warmup=warmup,
        )
    label = "Gradio HTTP API directly (async httpx, result image fetched), no gradio_client"
    return {"label": label, "baseline_s": base, "measured_s": measured, "added_s": median(measured) - median(base)}


def run(quick: bool = False) -> Row:
    runs, warmup = (8, 2) if quick else (25, 4)
    vruns = max(6, runs // 2)
    row = Row(
        key="app",
        what="whole-app overhead (gradio_client -> app -> stand-in, 1 image at 2K)",
        baseline_label="the client alone (SeedreamClient -> stand-in, same request)",
        target_label=f"added time under {TARGET_S * 1000:.0f} ms",
    )
    request, _ = asyncio.run(build_request(GenerationForm(prompt=PROMPT, size="2K")))  # exactly what the app sends
    with (
        stub_process(latency=0.0) as stub,
        app_process(stub.url) as app,
        SyncSeedreamClient(api_key=BENCH_KEY, api_url=stub.url, max_retries=0) as ours,
        tempfile.TemporaryDirectory(prefix="bench-downloads-") as downloads,
    ):
        options = dict(verbose=False, analytics_enabled=False)
        default = Client(app.url, download_files=downloads, **options)
        headline = _variant("gradio_client, default options", ours, request, lambda: _predict(default), runs, warmup)
        no_files = Client(app.url, download_files=False, **options)
        no_tls = Client(app.url, download_files=downloads, ssl_verify=False, **options)
        variants = [
            _variant("gradio_client, download_files=False", ours, request, lambda: _predict(no_files), vruns, 2),
            _variant("gradio_client, ssl_verify=False", ours, request, lambda: _predict(no_tls), vruns, 2),
            asyncio.run(_http_variant(stub.url, app.url, request, vruns, 2)),
        ]
        history = _growing_history(app.url, downloads)
    added = headline["added_s"]
    row.baseline, row.measured = median(headline["baseline_s"]), median(headline["measured_s"])
    row.figure = f"+{added * 1000:.0f} ms ({row.measured / row.baseline:.2f}x)"
    row.met = added < TARGET_S
    row.raw = {"headline": headline, "variants": variants}
    row.notes.append(
        f"client alone {describe(headline['baseline_s'])}; gradio_client predict {describe(headline['measured_s'])}"
    )
    for v in variants:
        row.notes.append(
            f"{v['label']}: {describe(v['measured_s'])} vs client alone {describe(v['baseline_s'])}: "
            f"added {v['added_s'] * 1000:+.0f} ms"
        )
    row.raw["growing_history_s"] = history
    row.notes.append(
        "one gradio_client session reused for 21 calls (the session's history is kept on the page only, so a "
        f"call's cost should not grow): calls 1-3 {', '.join(f'{t * 1000:.0f}' for t in history[:3])} ms, calls 19-21 "
        f"{', '.join(f'{t * 1000:.0f}' for t in history[-3:])} ms"
    )
    row.notes.append("Stand-in and app each in their own process; the clients in the benchmark process.")
    return row


def _growing_history(app_url: str, downloads: str, calls: int = 21) -> list[float]:
    client = Client(app_url, download_files=downloads, verbose=False, analytics_enabled=False)
    client.reset_session()
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        client.predict(
            prompt=PROMPT, size="2K", image=[], image_urls="", watermark=True, optimize_prompt_mode="standard",
            sequential_image_generation="disabled", max_images=4, api_key="", api_name="/generate",
        )  # fmt: skip
        times.append(time.perf_counter() - started)
    return times


def profile(quick: bool = False) -> str:
    """CPU per generation in each process, and where it goes in the benchmark process and in the app."""
    calls = 8 if quick else 15
    out = Path(tempfile.mkdtemp(prefix="bench-profile-")) / "app.txt"
    env = {"BENCH_PROFILE_OUT": str(out)}
    with (
        stub_process(latency=0.0) as stub,
        app_process(stub.url, env=env, script="bench/serve_app.py") as app,
        tempfile.TemporaryDirectory(prefix="bench-downloads-") as downloads,
    ):
        client = Client(app.url, download_files=downloads, verbose=False, analytics_enabled=False)
        for _ in range(3):
            _predict(client)
        here = Sampler()
        os.kill(app.pid, signal.SIGUSR1)
        here.start()
        before = (cpu_seconds(), cpu_seconds(app.pid), cpu_seconds(stub.pid))
        for _ in range(calls):
            _predict(client)
        after = (cpu_seconds(), cpu_seconds(app.pid), cpu_seconds(stub.pid))
        here.stop()
        os.kill(app.pid, signal.SIGUSR2)
        time.sleep(0.5)
        app_report = out.read_text()
    per = [1000 * (b - a) / calls for a, b in zip(before, after, strict=True)]
    return (
        f"CPU per gradio_client generation: benchmark process (gradio_client) {per[0]:.0f} ms, app {per[1]:.0f} ms, "
        f"stand-in {per[2]:.0f} ms\n\n--- benchmark process (gradio_client) ---\n{here.report(15)}\n\n"
        f"--- app process ---\n{app_report}"
    )
