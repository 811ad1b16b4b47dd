"""Cheap visitors for bench/lean.py: coroutines on Gradio's own HTTP API with one httpx.AsyncClient.

A visit is what the page does for one generation: POST /gradio_api/call/generate with `{"data": [...]}`, read the
event stream GET /gradio_api/call/generate/{event_id} until `complete` or `error`, then GET each result image.
A failed visit is recorded (not raised), so a burst can say how many visitors were served.
"""

from __future__ import annotations

import asyncio
import itertools
import ssl
import time
from dataclasses import dataclass
from ipaddress import IPv4Address

import httpx

from bench.common import PROMPT
from bench.load import call_generate


@dataclass(frozen=True)
class Visit:
    seconds: float
    images: int
    error: str = ""


def generate_data(size: str = "2K") -> list[object]:
    """The /generate inputs in order (README's gradio_client section, tests/support.py generate_inputs): prompt,
    size, image, image_urls, watermark, optimize_prompt_mode, sequential_image_generation, max_images, api_key."""
    return [PROMPT, size, [], "", True, "standard", "disabled", 1, ""]


async def visit(http: httpx.AsyncClient, base_url: str, data: list[object]) -> Visit:
    started = time.perf_counter()
    step = "POST /call/generate, then its event stream"
    try:
        event, payload = await call_generate(http, base_url, data)
        if event != "complete" or not isinstance(payload, list):
            return Visit(time.perf_counter() - started, 0, f"{event or 'no event'}: {str(payload)[:200]}")
        gallery = payload[0] or []
        step = "GET result image"
        for item in gallery:  # what the visitor's browser does next
            (await http.get(item["image"]["url"])).raise_for_status()
        return Visit(time.perf_counter() - started, len(gallery))
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        return Visit(time.perf_counter() - started, 0, f"{step}: {type(exc).__name__}: {exc}"[:200])


# httpx builds an SSL context per client unless given one (~10 ms of CPU each): one for every visitor's client.
_SSL = ssl.create_default_context()

# Every visit comes from its own address, as on a Space (a proxy in front, X-Forwarded-For): the app counts
# visitors by address (seedream_ui/quotas), and one address for thousands of visits would hit the hourly limit
# of 15 images after 15 visits. The app trusts 127.0.0.1 as its proxy in the bench (APP_ENV); the anchor
# ignores the header. 10.0.0.0/8 holds 16 M addresses: never one twice in a run.
APP_ENV = {
    "SEEDREAM_TRUSTED_PROXIES": "127.0.0.1/32",
    # The default cap ($10 a day, 250 images at $0.04) would refuse the run's thousands of generations; the
    # budget is still checked on every generation, as with the default.
    "SEEDREAM_DAILY_BUDGET": "1000000",
}
_ADDRESSES = (str(IPv4Address("10.0.0.1") + n) for n in itertools.count())


def visitor_headers() -> dict[str, str]:
    """The header a Space's proxy adds: a visitor's own address."""
    return {"X-Forwarded-For": next(_ADDRESSES)}


async def _visitor(base_url: str, data: list[object]) -> Visit:
    """One browser: its own connections, so no visitor picks up a keep-alive connection that the server is
    closing after its idle timeout (a shared pool does, under load, and reports a ReadError nobody would see)."""
    async with httpx.AsyncClient(timeout=httpx.Timeout(300.0), verify=_SSL, headers=visitor_headers()) as http:
        return await visit(http, base_url, data)


async def crowd(base_url: str, visitors: int, data: list[object]) -> tuple[float, list[Visit]]:
    """`visitors` visits started at the same moment; returns the wall time until the last one ended."""
    started = time.perf_counter()
    visits = await asyncio.gather(*(_visitor(base_url, data) for _ in range(visitors)))
    return time.perf_counter() - started, list(visits)


async def set_latency(stub_url: str, seconds: float) -> None:
    async with httpx.AsyncClient() as http:
        (await http.post(f"{stub_url}_latency", json={"seconds": seconds})).raise_for_status()
