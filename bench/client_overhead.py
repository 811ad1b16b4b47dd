"""Client overhead per generation: SeedreamClient.generate() against a bare httpx POST of the same bytes.

The stand-in runs in its own process at zero latency; both sides ask it for one 2K image, so its drawing time
(tens of milliseconds) is in both. Two response shapes: Base64 inline (the client decodes and checks the image;
the bare side only reads the bytes) and URL (both sides also GET the image; the client checks it too).
"""

from __future__ import annotations

import json

import httpx

from bench.common import (
    BENCH_KEY,
    PROMPT,
    Row,
    cprofile_text,
    describe,
    median,
    paired_async,
    run_async,
    stub_process,
)
from seedream_ui.client import SeedreamClient
from seedream_ui.request import GenerateRequest

TARGET = 1.10


async def _pair(url: str, response_format: str, runs: int, warmup: int) -> tuple[list[float], list[float]]:
    request = GenerateRequest(prompt=PROMPT, size="2K").validated()
    body = json.dumps(request.to_payload(), ensure_ascii=False).encode()  # the bytes the client sends
    stub_headers = {"X-Stub-Response-Format": response_format}
    headers = {"Authorization": f"Bearer {BENCH_KEY}", "Content-Type": "application/json", **stub_headers}
    async with (
        SeedreamClient(api_key=BENCH_KEY, api_url=url, max_retries=0) as client,
        httpx.AsyncClient(timeout=60) as bare,
    ):

        async def baseline() -> None:
            response = await bare.post(url, content=body, headers=headers)
            response.raise_for_status()
            if response_format == "url":  # the image is not in the answer: fetching it is part of reading it
                for image_url in response.json()["images"]:
                    (await bare.get(image_url)).raise_for_status()

        async def ours() -> None:
            result = await client.generate(request, headers=stub_headers)
            assert len(result.images) == 1 and result.images[0].width == 2048

        return await paired_async(baseline, ours, runs=runs, warmup=warmup)


def run(quick: bool = False) -> Row:
    runs, warmup = (12, 3) if quick else (40, 5)
    row = Row(
        key="client",
        what="client overhead per generation (stand-in at zero latency, 1 image at 2K)",
        baseline_label="bare httpx POST of the same payload + reading the response",
        target_label=f"<= {TARGET:.2f}x",
    )
    ratios = {}
    with stub_process(latency=0.0) as stub:
        for response_format in ("b64", "url"):
            base, ours = run_async(_pair(stub.url, response_format, runs, warmup))
            ratio = median(ours) / median(base)
            ratios[response_format] = ratio
            row.raw[response_format] = {"baseline_s": base, "measured_s": ours, "ratio": ratio}
            row.notes.append(
                f"{response_format} answer: baseline {describe(base)}; client {describe(ours)}; "
                f"ratio {ratio:.3f}x; added {1000 * (median(ours) - median(base)):+.1f} ms"
            )
    worst = max(ratios, key=ratios.get)  # the headline is the worse of the two shapes
    row.baseline = median(row.raw[worst]["baseline_s"])
    row.measured = median(row.raw[worst]["measured_s"])
    row.figure = f"{ratios[worst]:.3f}x ({worst} answer; " + ", ".join(f"{k} {v:.3f}x" for k, v in ratios.items()) + ")"
    row.met = all(r <= TARGET for r in ratios.values())
    row.notes.append("Stand-in in a separate process (python -m seedream_ui.stub_api).")
    return row


def profile(quick: bool = False) -> str:
    """Where the client's own time goes (cProfile of 30 generations, b64 answers, stand-in in its own process)."""

    async def generations(url: str) -> None:
        request = GenerateRequest(prompt=PROMPT, size="2K").validated()
        async with SeedreamClient(api_key=BENCH_KEY, api_url=url, max_retries=0) as client:
            for _ in range(30):
                await client.generate(request, headers={"X-Stub-Response-Format": "b64"})

    with stub_process(latency=0.0) as stub:
        run_async(generations(stub.url))  # warm-up
        return cprofile_text(lambda: run_async(generations(stub.url)))
