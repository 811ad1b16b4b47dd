"""Iterating in a real browser (issue 12): only what 4.5 supports, sequences, keyboard, honest waits, failures.

Reuses test_browser.py's app, browser and helpers; the waiting tests use a second app whose stand-in answers
after 5 s (SEEDREAM_PREVIEW_LATENCY), as the real API takes its time. Screenshots of each state at 1280 and
375 px go to test-artifacts/iterate/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from seedream_ui.config import Settings
from seedream_ui.stub_api import StubServer
from tests.support import ARTIFACTS, DESKTOP, RunningApp, open_page, running_app
from tests.test_browser import (  # noqa: F401 - the fixtures are used by name
    PHONE,
    SMALL_PRESET,
    app,
    generate,
    open_accordion,
    pick_size,
    result_sources,
    stand_in,
    toast,
    type_prompt,
)

pytestmark = pytest.mark.browser

SHOTS = ARTIFACTS / "iterate"

LATENCY = 5.0


def shots(page: Page, name: str) -> None:
    """The state as a visitor sees it, at desktop and at phone width."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, viewport in (("1280", DESKTOP), ("375", PHONE)):
        page.set_viewport_size({"width": viewport["width"], "height": viewport["height"]})
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size({"width": DESKTOP["width"], "height": DESKTOP["height"]})


@pytest.fixture(scope="module")
def slow_app() -> Iterator[RunningApp]:
    settings = Settings(api_url="http://127.0.0.1:9/v3/seedream-4.5", max_retries=0, preview_latency=LATENCY)
    with running_app(settings) as running:
        yield running


@pytest.fixture
def slow_page(context: BrowserContext, slow_app: RunningApp) -> Page:
    assert slow_app.backend.stub is not None
    slow_app.backend.stub.reset()
    return open_page(context, slow_app.url)


def slow_stand_in(slow_app: RunningApp) -> StubServer:
    assert slow_app.backend.stub is not None
    return slow_app.backend.stub


# ---- only what 4.5 supports -------------------------------------------------------------------------


def test_prompt_optimisation_offers_only_standard(page: Page) -> None:
    open_accordion(page, "Advanced settings")
    control = page.locator("#optimize-mode")
    expect(control).to_contain_text("Seedream 4.5 supports only standard")
    values = control.locator("input[type=radio]").evaluate_all("inputs => inputs.map(i => i.value)")
    assert values == ["standard"]
    assert "fast" not in control.inner_text().replace("'fast' is Seedream 4.0's", "")


def test_a_sequence_says_how_to_ask_for_n_images_and_labels_its_results(page: Page, stand_in: StubServer) -> None:
    type_prompt(page, "a series of 2 images of a paper boat")
    pick_size(page, SMALL_PRESET)
    open_accordion(page, "Advanced settings")
    hint = page.locator("#sequence-hint")
    expect(hint).to_be_hidden()
    page.get_by_label("Image sequence (model decides)").check()
    expect(hint).to_contain_text("say how many in the prompt, e.g. 'a series of 4 images'")
    page.locator("#max-images input[type=number]").fill("2")
    page.locator("#max-images input[type=number]").press("Tab")
    expect(hint).to_contain_text("'a series of 2 images'")

    generate(page, count=2)
    captions = page.locator("#results .thumbnail-item")
    expect(captions.nth(0)).to_contain_text("1 of 2")
    expect(captions.nth(1)).to_contain_text("2 of 2")
    shots(page, "01-sequence-hint-and-labels")
    page.get_by_label("Single image").check()
    expect(hint).to_be_hidden()


# ---- keyboard -----------------------------------------------------------------------------------------


def test_ctrl_enter_in_the_prompt_sends_exactly_one_request_and_enter_adds_a_line(
    page: Page, stand_in: StubServer
) -> None:
    expect(page.locator("#keys-hint")).to_contain_text("Ctrl+Enter")
    expect(page.locator("#keys-hint")).to_contain_text("Esc stops waiting")
    pick_size(page, SMALL_PRESET)
    box = page.locator("#prompt textarea")
    box.fill("a harbour")
    box.press("Enter")  # a new line, not a generation
    box.press("Shift+Enter")  # Gradio's own "submit" key for a multi-line box: not wired, sends nothing
    box.type("at night")
    expect(box).to_have_value("a harbour\nat night")
    assert stand_in.requests() == []

    box.press("Control+Enter")
    expect(page.locator("#status")).to_contain_text("✓ 1 image")
    expect(page.locator("#wait .waiting")).to_have_count(0)
    assert [r["body"]["prompt"] for r in stand_in.requests()] == ["a harbour\nat night"]
    shots(page, "02-ctrl-enter")


# ---- real waits -----------------------------------------------------------------------------------------


def test_while_waiting_the_elapsed_time_and_an_estimate_show_and_stop_keeps_everything(
    slow_page: Page, slow_app: RunningApp
) -> None:
    page, api = slow_page, slow_stand_in(slow_app)
    type_prompt(page, "a slow sunrise")
    pick_size(page, SMALL_PRESET)
    page.locator("#generate").click()
    waiting = page.locator("#wait .waiting")
    expect(waiting).to_be_visible()
    expect(waiting).to_contain_text("Waiting for Seedream")
    expect(waiting.locator(".elapsed")).to_have_text(re.compile(r"^[1-9]\d* s$"))  # it counts
    expect(waiting.locator(".estimate")).to_have_text(re.compile("usually takes 20-60 s|about \\d+ s"))
    shots(page, "03-waiting")

    page.locator("#stop").click()
    expect(waiting).to_have_count(0)
    expect(page.locator("#status")).to_contain_text("Stopped waiting; nothing more was sent")
    expect(page.locator("#prompt textarea")).to_have_value("a slow sunrise")
    expect(page.locator("#size textarea, #size input").first).to_have_value("2560x1440")
    shots(page, "04-stopped")

    # The next one runs to the end; then the estimate is this demo's own.
    page.locator("#prompt textarea").press("Control+Enter")
    expect(page.locator("#status")).to_contain_text("✓ 1 image", timeout=30_000)
    page.locator("#generate").click()
    expect(waiting.locator(".estimate")).to_contain_text("here for 2560x1440 (the last generation)")
    page.keyboard.press("Escape")  # Esc stops waiting too
    expect(waiting).to_have_count(0)
    expect(page.locator("#status")).to_contain_text("Stopped waiting")
    prompts = [r["body"]["prompt"] for r in api.requests()]
    assert prompts == ["a slow sunrise"] * 3  # one request per Generate: nothing more after either Stop


# ---- after a failure -----------------------------------------------------------------------------------


def test_after_a_failure_the_earlier_results_stay_without_an_error_badge_and_the_status_says_why(
    page: Page, stand_in: StubServer
) -> None:
    type_prompt(page, "a storm over the sea")
    pick_size(page, SMALL_PRESET)
    before = generate(page)

    stand_in.queue_faults(["503"])
    page.locator("#generate").click()
    expect(toast(page, "error")).to_contain_text("Seedream had a server error (503)")
    status = page.locator("#status")
    expect(status).to_contain_text("✗ The last attempt failed: Seedream had a server error (503)")
    expect(status).to_contain_text("The results below are from an earlier generation.")
    assert result_sources(page) == before
    expect(page.locator("#results").get_by_text("Error", exact=True)).to_be_hidden()  # no badge over them
    expect(page.locator("#wait .waiting")).to_have_count(0)
    shots(page, "05-failure")
