"""Starting the demo for tests: in-process (fast, inspectable) or as `python app.py` (as users run it)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from seedream_ui.backend import Backend
from seedream_ui.config import Settings

ROOT = Path(__file__).resolve().parent.parent
SMALL = "1920x1920"  # the fewest pixels the API allows: the cheapest image for the stand-in to draw
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


DESKTOP = {"width": 1280, "height": 900}
BROWSER_TIMEOUT_MS = 20_000


def open_page(context: Any, url: str) -> Any:
    """A new tab of `context` (a Playwright BrowserContext) on the demo, once its Generate button shows."""
    from playwright.sync_api import expect

    page = context.new_page()
    page.goto(url)
    expect(page.locator("#generate")).to_be_visible()
    return page


def screenshot(page: Any, path: Path) -> None:
    """A full-page PNG for a person to look at; animations finished first, so a message sliding in shows whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True, animations="disabled")


# The demo under test has no visitor limits unless a test sets them (tests/test_limits_*.py): with the defaults, a
# module's generations, all from 127.0.0.1 (one visitor), would soon be refused.
NO_LIMITS: dict[str, Any] = {
    "visitor_images_per_hour": 0, "visitor_images_per_day": 0, "visitor_concurrency": 0, "daily_budget": 0.0,
}  # fmt: skip
NO_LIMITS_ENV = {
    "SEEDREAM_VISITOR_IMAGES_PER_HOUR": "0", "SEEDREAM_VISITOR_IMAGES_PER_DAY": "0",
    "SEEDREAM_VISITOR_CONCURRENCY": "0", "SEEDREAM_DAILY_BUDGET": "0",
}  # fmt: skip


def generate_inputs(prompt: str = "a lighthouse at dusk", **fields: Any) -> dict[str, Any]:
    """Every parameter of the app's /generate endpoint, at cheap defaults; `fields` override them."""
    return {
        "prompt": prompt,
        "size": SMALL,
        "image": [],
        "image_urls": "",
        "watermark": True,
        "optimize_prompt_mode": "standard",
        "sequential_image_generation": "disabled",
        "max_images": 1,
        "api_key": "",
    } | fields


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, timeout: float = 60.0, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the app exited with code {process.returncode} before answering")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@dataclass
class RunningApp:
    url: str  # ends with "/"
    backend: Backend
    demo: object


@contextmanager
def running_app(settings: Settings | None = None, *, limits: bool = False) -> Iterator[RunningApp]:
    """The demo served in this process on a free 127.0.0.1 port, exactly as app.py serves it (offline preview
    unless a key is set). Without `limits` the visitor limits are off; the usage counters go to a fresh folder
    unless a data_dir is set."""
    from seedream_ui.server import serve

    settings = settings or Settings()
    settings = settings if limits else replace(settings, **NO_LIMITS)
    data_dir = None
    if settings.data_dir == Settings.data_dir:  # never the developer's ./data
        data_dir = tempfile.mkdtemp(prefix="seedream-data-")
        settings = replace(settings, data_dir=data_dir)
    port = free_port()
    served = serve(settings, host="127.0.0.1", port=port, quiet=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_up(url)
        yield RunningApp(url, served.backend, served.demo)
    finally:
        served.close()
        if data_dir is not None:
            shutil.rmtree(data_dir, ignore_errors=True)


@dataclass
class AppProcess:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def app_process(
    tmp_path: Path, env: dict[str, str] | None = None, timeout: float = 180.0, port: int | None = None
) -> Iterator[AppProcess]:
    """`python app.py` exactly as a user starts it, with its output captured to a file (visitor limits off
    unless `env` sets them; the usage counters in tmp_path/data); on `port` (to restart it at the same address)
    or a free one."""
    port = port or free_port()
    full_env = {
        k: v for k, v in os.environ.items() if not k.startswith("SEEDREAM_")
    } | {"GRADIO_SERVER_PORT": str(port), "PYTHONUNBUFFERED": "1"} | NO_LIMITS_ENV | (env or {})
    log_path = tmp_path / "app.log"
    with open(log_path, "wb") as log:
        # cwd=tmp_path: no developer's .env is picked up; app.py is found by absolute path.
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py")], cwd=tmp_path, env=full_env, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_up(url, timeout, process)
        yield AppProcess(url, process, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
