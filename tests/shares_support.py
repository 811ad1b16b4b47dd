"""Helpers of the tests/test_shares*.py modules; their fixtures are in tests/shares_fixtures.py (imported by name).

Real images (Pillow), a store on a temporary data dir with a clock the tests move, and the share router served
by uvicorn on a free 127.0.0.1 port, optionally under a root path as behind a proxy.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import uvicorn
from fastapi import FastAPI

from seedream_ui.request import GenerateRequest
from seedream_ui.shares import (
    Published,
    Recipe,
    ShareImage,
    ShareStore,
    recipe_from_request,
    reference_files_from_request,
    share_router,
)
from tests.images import image_bytes
from tests.support import free_port

START = datetime(2026, 11, 29, 15, 30, 12, tzinfo=UTC).timestamp()
HOSTILE_PROMPT = 'a fox </div><script>alert("x")</script><img src=x onerror=alert(1)> & "quotes"'


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, *, days: float = 0, seconds: float = 0) -> None:
        self.now += days * 86400 + seconds


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def results(count: int = 2, size: tuple[int, int] = (96, 64)) -> list[ShareImage]:
    """`count` distinct results, alternating JPEG and PNG, as the client hands them over."""
    images = []
    for n in range(count):
        fmt = "JPEG" if n % 2 == 0 else "PNG"
        images.append(ShareImage(image_bytes(fmt, size, (40 * n % 256, 90, 160)), fmt.lower(), *size))
    return images


def sent_request(prompt: str = "a lighthouse at dusk") -> GenerateRequest:
    """A validated request with a URL reference then an uploaded one (a data URI), as build_request makes."""
    upload = base64.b64encode(image_bytes("PNG", (300, 200), (20, 160, 90))).decode()
    return GenerateRequest(
        prompt=prompt,
        size="2560x1440",
        images=("https://example.com/ref.jpg", f"data:image/png;base64,{upload}"),
        watermark=False,
        optimize_prompt_mode="standard",
        sequential_image_generation="auto",
        max_images=3,
    ).validated()


def publish(store: ShareStore, prompt: str = "a lighthouse at dusk", visitor: str = "addr-visitor-1",
            count: int = 2) -> Published:
    request = sent_request(prompt)
    names = ["https://example.com/ref.jpg", "cat.png"]
    recipe: Recipe = recipe_from_request(request, names, datetime.fromtimestamp(store.clock(), UTC))
    return store.publish(results(count), recipe, reference_files_from_request(request, names), visitor)


def share_app(store: ShareStore, root_path: str = "") -> FastAPI:
    """The router on an app of its own; with `root_path`, mounted under it as a proxy prefix would put it."""
    inner = FastAPI()
    inner.include_router(share_router(store))
    if not root_path:
        return inner
    outer = FastAPI()
    outer.mount(root_path, inner)
    return outer


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """`app` under uvicorn on a free 127.0.0.1 port, in a thread; yields its base URL (no trailing slash)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
