"""Limits and cost in Chromium (issue 10): what a click can cost, what it did cost, and a refusal that changes
nothing. The demo runs on a server key against the session's stand-in, with 3 images an hour per visitor.
Screenshots go to test-artifacts/limits/ (1280 px and 375 px wide)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from seedream_ui.config import Settings
from seedream_ui.stub_api import StubConfig, StubServer
from tests.support import (
    ARTIFACTS,
    BROWSER_TIMEOUT_MS,
    DESKTOP,
    RunningApp,
    open_page,
    running_app,
    screenshot,
)
from tests.test_browser import (
    PHONE,
    SMALL_PRESET,
    generate,
    open_accordion,
    pick_size,
    result_sources,
    toast,
    type_prompt,
)

pytestmark = pytest.mark.browser

SHOTS = ARTIFACTS / "limits"


@pytest.fixture
def app(stub: StubServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    settings = Settings(
        api_key="server-key-limits-browser", api_url=stub.url, max_retries=0, price_per_image=0.04,
        visitor_images_per_hour=3, visitor_images_per_day=40, visitor_concurrency=2, daily_budget=5.0,
        data_dir=str(tmp_path_factory.mktemp("limits-data")),
    )  # fmt: skip
    with running_app(settings, limits=True) as running:
        yield running


def browser_page(browser: Browser, app: RunningApp, viewport: dict[str, int]) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    return context, open_page(context, app.url)


def shot(page: Page, name: str) -> None:
    screenshot(page, SHOTS / f"{name}.png")


def test_cost_before_and_after_then_a_refusal_that_changes_nothing(
    browser: Browser, app: RunningApp, stub: StubServer
) -> None:
    context, page = browser_page(browser, app, DESKTOP)
    try:
        cost = page.locator("#cost")
        expect(cost).to_contain_text("Cost: 1 image · about $0.04 on the demo's key")
        expect(cost).to_contain_text("limit 3 images an hour and 40 a day per visitor")

        type_prompt(page, "a storyboard of a paper boat")
        pick_size(page, SMALL_PRESET)
        open_accordion(page, "Advanced settings")
        page.get_by_label("Image sequence (model decides)").check()
        page.locator("#max-images input[type=number]").fill("2")
        page.locator("#max-images input[type=number]").press("Tab")
        expect(cost).to_contain_text("Cost: up to 2 images · about $0.08")
        shot(page, "01-estimate-desktop")

        shown = generate(page, count=2)
        status = page.locator("#status")
        expect(status).to_contain_text("cost 2 images · about $0.08 · this session: 2 images · about $0.08")
        shot(page, "02-cost-after-desktop")

        page.locator("#generate").click()  # 2 more would pass 3 an hour
        expect(toast(page, "error")).to_contain_text("Hourly limit reached")
        expect(toast(page, "error")).to_contain_text("Your own API key (Advanced settings) lifts the limit")
        shot(page, "03-refusal-desktop")
        assert result_sources(page) == shown  # the gallery and form as they were; the status says why not
        expect(status).to_contain_text("The last attempt failed: Hourly limit reached")
        expect(page.locator("#prompt textarea")).to_have_value("a storyboard of a paper boat")
        assert len(stub.requests()) == 1

        page.locator("#api-key input").fill("my-own-key")
        expect(cost).to_contain_text("Billed to your own API key")
        expect(cost).not_to_contain_text("Cost:")
    finally:
        context.close()


def test_the_cost_line_on_a_phone(browser: Browser, app: RunningApp, stub: StubServer) -> None:
    context, page = browser_page(browser, app, PHONE)
    try:
        type_prompt(page, "a lighthouse")
        pick_size(page, SMALL_PRESET)
        expect(page.locator("#cost")).to_contain_text("Cost: 1 image · about $0.04")
        shot(page, "04-estimate-phone")
        generate(page)
        expect(page.locator("#status")).to_contain_text("cost 1 image · about $0.04 · this session: 1 image")
        shot(page, "05-cost-after-phone")
    finally:
        context.close()


def test_rejected_keys_pause_the_key_box_and_the_demos_key_still_works(browser: Browser, tmp_path: Path) -> None:
    with StubServer(StubConfig(api_key="the-servers-key")) as strict:  # any other key is rejected (401)
        settings = Settings(api_key="the-servers-key", api_url=strict.url, max_retries=0, data_dir=str(tmp_path))
        with running_app(settings, limits=True) as app:
            context, page = browser_page(browser, app, DESKTOP)
            try:
                type_prompt(page, "a lighthouse")
                pick_size(page, SMALL_PRESET)
                open_accordion(page, "Advanced settings")
                key_box = page.locator("#api-key input")
                for attempt in range(1, 6):  # the fifth rejected key in ten minutes pauses the box
                    key_box.fill(f"stolen-key-{attempt}")
                    page.locator("#generate").click()
                    # This attempt's own message (the previous one was closed), so the attempt is over before
                    # the next key is typed.
                    expect(toast(page, "error")).to_contain_text("API key")
                    assert [r["api_key"] for r in strict.requests()] == [f"stolen-key-{n}" for n in range(1, attempt + 1)]
                    page.locator('[data-testid="toast-close"]').click()
                    expect(toast(page, "error")).to_have_count(0)
                expect(key_box).to_be_disabled()
                expect(key_box).to_have_value("")
                expect(key_box).to_have_attribute("placeholder", re.compile(r"Paused until \d\d:\d\d UTC"))
                expect(page.locator("#api-key")).to_contain_text("Paused after 5 rejected keys")
                shot(page, "06-key-box-paused-desktop")
                generate(page)  # the box is empty: the demo's key
                expect(page.locator("#status")).to_contain_text("cost 1 image")
            finally:
                context.close()
        assert [r["api_key"] for r in strict.requests()][-1] == "the-servers-key"
