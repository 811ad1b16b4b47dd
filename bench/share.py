"""Sharing (issue 11): publishing a share of 4 results at 4K, and opening a shared page, each under 300 ms.

    python -m bench.share [--runs N]

- publish: `ShareStore.publish` of four 4096x4096 JPEGs (~3 MB each, detailed like a generated picture) with a recipe and one
  uploaded reference, into a fresh SEEDREAM_DATA_DIR: what the Share button waits for after reading the files;
- open: GET /s/<id> (the page) and GET /s/<id> plus its 4 full-resolution images, through the real router
  (FastAPI, in-process over httpx's ASGI transport: no socket, so this is the server's own time).
Each figure is the median of N runs after one warm-up; the machine's other load is not controlled.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import tempfile
import time

import httpx
from fastapi import FastAPI
from PIL import Image

from seedream_ui.shares import ShareImage, ShareStore, UploadReference, share_router
from seedream_ui.shares.recipe import Recipe

TARGET_MS = 300.0
SIDE = 4096


def _jpeg(seed: int) -> bytes:
    # Noise drawn at 512 px and scaled up: detail like a generated picture (~3 MB at 4K, as the API's JPEGs);
    # full-resolution noise would be ~12 MB, which no result is.
    small = Image.merge("RGB", [Image.effect_noise((512, 512), 40 + 10 * seed + c) for c in range(3)])
    out = io.BytesIO()
    small.resize((SIDE, SIDE), Image.Resampling.BICUBIC).save(out, "JPEG", quality=85)
    return out.getvalue()


def _png_reference() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1024, 768), (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


async def _open(store: ShareStore, share_id: str, runs: int) -> tuple[list[float], list[float]]:
    app = FastAPI()
    app.include_router(share_router(store))
    page_ms, all_ms = [], []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        for i in range(runs + 1):
            started = time.perf_counter()
            page = await client.get(f"/s/{share_id}")
            assert page.status_code == 200
            middle = time.perf_counter()
            for n in range(1, 5):
                assert (await client.get(f"/s/{share_id}/image/{n}")).status_code == 200
            done = time.perf_counter()
            if i:  # the first is the warm-up
                page_ms.append((middle - started) * 1000)
                all_ms.append((done - started) * 1000)
    return page_ms, all_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    images = [ShareImage(_jpeg(i), "jpeg", SIDE, SIDE) for i in range(4)]
    recipe = Recipe(prompt="a lighthouse at dusk", size="4096x4096", references=(UploadReference("ref.png"),))
    reference = [("ref.png", _png_reference())]
    mb = sum(len(i.data) for i in images) / 1e6
    with tempfile.TemporaryDirectory() as data:
        store = ShareStore(data)
        publish_ms = []
        share_id = ""
        for i in range(runs + 1):
            started = time.perf_counter()
            share_id = store.publish(images, recipe, reference, "addr-bench").id
            if i:
                publish_ms.append((time.perf_counter() - started) * 1000)
        page_ms, all_ms = asyncio.run(_open(store, share_id, runs))
        store.close()
    rows = [
        (f"publish 4 results at 4K ({mb:.1f} MB) + 1 reference", publish_ms),
        ("open a shared page (HTML)", page_ms),
        ("open a shared page + its 4 images", all_ms),
    ]
    for what, times in rows:
        median = statistics.median(times)
        verdict = "ok" if median < TARGET_MS else "OVER"
        print(f"{what:<48} median {median:7.1f} ms  max {max(times):7.1f} ms  (target < {TARGET_MS:.0f} ms: {verdict})")


if __name__ == "__main__":
    main()
