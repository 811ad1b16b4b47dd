"""Shared fixtures. Other test modules add their own; keep this one small."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from gradio_client import Client

from seedream_ui.stub_api import StubConfig, StubServer
from tests.support import (
    BROWSER_TIMEOUT_MS,
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    open_page,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page


@pytest.fixture(scope="session")
def stub_server() -> Iterator[StubServer]:
    """One stand-in API for the whole session (starting uvicorn per test would cost ~0.2 s each)."""
    with StubServer(StubConfig()) as server:
        yield server


@pytest.fixture
def stub(stub_server: StubServer) -> StubServer:
    """The session's stand-in with no recorded requests and an empty fault queue."""
    stub_server.reset()
    return stub_server


@pytest.fixture(scope="module")
def module_client(app: object) -> Iterator[Client]:
    """One gradio_client Client for a module's `app` fixture (any object with a `.url`): start-up paid once."""
    session = Client(app.url, verbose=False, download_files=False)  # type: ignore[attr-defined]
    yield session
    session.close()


@pytest.fixture
def client(module_client: Client) -> Client:
    """A fresh session (its own history) for each test, on the module's shared Client."""
    module_client.reset_session()
    return module_client


@pytest.fixture
def browser() -> Iterator[Browser]:
    """A headless Debian Chromium for one test (Playwright imported only by the tests that need it).

    Per test, not per session: Playwright's sync API keeps an event loop running in the main thread while it is
    open, and every async test after it would fail with "Runner.run() cannot be called from a running event loop".
    """
    from playwright.sync_api import expect, sync_playwright

    # `expect` has its own 5 s default, not the context's: a shared 2-core machine can take longer to render.
    expect.set_options(timeout=BROWSER_TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser context per test: its own cookies and storage, so its own Gradio session."""
    ctx = browser.new_context(viewport=DESKTOP, accept_downloads=True)  # type: ignore[arg-type]  # a ViewportSize dict
    ctx.set_default_timeout(BROWSER_TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext, app: object) -> Page:
    """The module's `app` (any object with a `.url`) open in a fresh context, once the page is ready."""
    return open_page(context, app.url)  # type: ignore[attr-defined]
