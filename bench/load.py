"""A light load generator: visitors as coroutines on Gradio's HTTP API, one event loop, no gradio_client.

Each visitor does what the page does for one generation: POST /gradio_api/call/generate, read the event stream
until `complete`, then GET the result images the gallery shows. Async httpx keeps this process far from
saturating a core even with 32 visitors, so the app and the stand-in get the CPU.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

from bench.common import PROMPT


@dataclass(frozen=True)
class Visit:
    started: float
    finished: float
    images: int
    image_bytes: int

    @property
    def seconds(self) -> float:
        return self.finished - self.started


def generate_data(size: str = "2K", prompt: str = PROMPT) -> list[object]:
    """The /generate parameters in order: prompt, size, image, image_urls, watermark, optimize_prompt_mode,
    sequential_image_generation, max_images, api_key."""
    return [prompt, size, [], "", True, "standard", "disabled", 4, ""]


async def call_generate(http: httpx.AsyncClient, base_url: str, data: list[object]) -> tuple[str, Any]:
    """POST /gradio_api/call/generate, then read its event stream until `complete` or `error`: (event, payload)."""
    posted = await http.post(f"{base_url}gradio_api/call/generate", json={"data": data})
    event_id = posted.raise_for_status().json()["event_id"]
    event, payload = "", None
    async with http.stream("GET", f"{base_url}gradio_api/call/generate/{event_id}") as stream:
        async for line in stream.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                payload = json.loads(line[5:])
                break
    return event, payload


async def visit(http: httpx.AsyncClient, base_url: str, data: list[object], *, fetch_images: bool = True) -> Visit:
    started = time.perf_counter()
    event, payload = await call_generate(http, base_url, data)
    if event != "complete" or not isinstance(payload, list):
        raise RuntimeError(f"generation failed: {event}: {str(payload)[:300]}")
    gallery = payload[0] or []
    fetched = 0
    if fetch_images:  # what the visitor's browser does next
        for item in gallery:
            response = await http.get(item["image"]["url"])
            response.raise_for_status()
            fetched += len(response.content)
    return Visit(started, time.perf_counter(), len(gallery), fetched)


def load_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=httpx.Timeout(120.0), limits=httpx.Limits(max_connections=200))


async def crowd(base_url: str, visitors: int, data: list[object]) -> tuple[float, list[Visit]]:
    """`visitors` generations started at the same moment; returns the wall time until the last one ended."""
    async with load_client() as http:
        started = time.perf_counter()
        visits = await asyncio.gather(*(visit(http, base_url, data) for _ in range(visitors)))
        return time.perf_counter() - started, list(visits)
