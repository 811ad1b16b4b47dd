"""Results to gallery: from the API's answer (4 images at 4K, Base64 inline) to files ready for the page.

Measured: what the app does after the answer arrives, in-process and without the network:
- `generation.generate()` with a SeedreamClient on an httpx.MockTransport that returns the prepared answer, so
  the client's JSON parsing, Base64 decoding and image checks, the clean-up and `save_generation` (4 files and a
  zip) all run as in the app;
- Gradio's postprocessing of the generate event's outputs in the real Blocks (`Blocks.postprocess_data`), which
  copies the files into Gradio's cache (a fresh cache folder per run, so every run copies, as for new images).
Baseline: decoding the 4 images with Pillow (`Image.open(...).load()`), nothing else.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image

from bench.common import BENCH_KEY, PROMPT, Row, cprofile_text, describe, median
from seedream_ui.client import SeedreamClient
from seedream_ui.stub_images import PictureSet, render_set

TARGET = 1.5
COUNT = 4


def _answer() -> tuple[list[bytes], bytes]:
    pictures = PictureSet(prompt=PROMPT, width=4096, height=4096, count=COUNT, request_id="bench", token="bench")
    images = render_set(pictures, "jpeg", None)
    body = json.dumps({"images": [base64.b64encode(data).decode("ascii") for data in images]}).encode()
    return images, body


def run(quick: bool = False) -> Row:
    runs, warmup = (5, 2) if quick else (15, 3)
    row = Row(
        key="gallery",
        what=f"results to gallery: {COUNT} results of 4K each",
        baseline_label=f"decoding the {COUNT} images with Pillow",
        target_label=f"<= {TARGET:.1f}x",
    )
    images, body = _answer()
    with tempfile.TemporaryDirectory(prefix="bench-gallery-") as folder:
        root = Path(folder)
        cache, outputs = root / "gradio-cache", root / "outputs"
        outputs.mkdir()
        previous = os.environ.get("GRADIO_TEMP_DIR")
        os.environ["GRADIO_TEMP_DIR"] = str(cache)  # read when the Blocks are built: our own cache folder
        try:
            base, ours, sizes = asyncio.run(_measure(images, body, outputs, cache, runs, warmup))
        finally:
            if previous is None:
                os.environ.pop("GRADIO_TEMP_DIR", None)
            else:
                os.environ["GRADIO_TEMP_DIR"] = previous
    ratio = median(ours) / median(base)
    row.baseline, row.measured = median(base), median(ours)
    row.figure = f"{ratio:.2f}x"
    row.met = ratio <= TARGET
    row.raw = {"baseline_s": base, "measured_s": ours, "ratio": ratio, "image_bytes": sizes}
    row.notes.append(f"Pillow decode of the 4 images {describe(base)}; answer -> gallery-ready files {describe(ours)}")
    row.notes.append(
        f"answer: {len(body) / 1e6:.1f} MB of JSON holding {COUNT} JPEGs of {sum(sizes) / COUNT / 1e6:.2f} MB on average"
    )
    return row


async def _measure(
    images: list[bytes], body: bytes, outputs: Path, cache: Path, runs: int, warmup: int
) -> tuple[list[float], list[float], list[int]]:
    from seedream_ui import generation as gen
    from seedream_ui import ui
    from seedream_ui.backend import Backend
    from seedream_ui.config import Settings

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    settings = Settings(api_key=BENCH_KEY, api_url="http://127.0.0.1:9/v3/seedream-4.5")
    client = SeedreamClient(
        api_key=BENCH_KEY, api_url=settings.api_url,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(answer)),
    )  # fmt: skip
    backend = Backend(settings, client, outputs)
    demo = ui.build_demo(settings, backend)
    event = next(f for f in demo.fns.values() if f.api_name == "generate")
    form = gen.GenerationForm(prompt=PROMPT, size="4K", sequential_image_generation="auto", max_images=COUNT)

    async def baseline() -> None:
        for data in images:
            with Image.open(io.BytesIO(data)) as image:
                image.load()

    async def ours() -> None:
        done = await gen.generate(client, form, api_key=None, output_root=outputs)
        history = gen.add_to_history([], done)
        # The generate event's outputs (the history gallery is filled by a separate step after it).
        predictions = (*ui._show(done), history, None)
        await demo.postprocess_data(event, list(predictions), None)
        assert len(done.files) == COUNT

    def fresh_cache() -> None:  # outside the timing: new images are never in Gradio's cache yet
        shutil.rmtree(cache, ignore_errors=True)

    for _ in range(warmup):
        await baseline()
        await ours()
        fresh_cache()
    base: list[float] = []
    mine: list[float] = []
    for i in range(runs):
        fresh_cache()
        order = [(baseline, base), (ours, mine)]
        for fn, into in order if i % 2 == 0 else reversed(order):
            started = time.perf_counter()
            await fn()
            into.append(time.perf_counter() - started)
    await client.aclose()
    return base, mine, [len(d) for d in images]


def profile(quick: bool = False) -> str:
    """cProfile of answer -> gallery-ready files, 5 times (this thread; Gradio's copies run on worker threads)."""
    images, body = _answer()
    with tempfile.TemporaryDirectory(prefix="bench-gallery-") as folder:
        root = Path(folder)
        outputs = root / "outputs"
        outputs.mkdir()
        os.environ["GRADIO_TEMP_DIR"] = str(root / "cache")
        try:
            return cprofile_text(lambda: asyncio.run(_measure(images, body, outputs, root / "cache", 5, 1)))
        finally:
            os.environ.pop("GRADIO_TEMP_DIR", None)
