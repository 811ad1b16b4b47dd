"""Sharing on the real page (headless Chromium): Share gives a link anyone can open with the same bytes, the
link survives a restart and stops working once unshared, "Open in the editor" and a recipe file fill the form.

The shared pages themselves (escaping, headers, root paths) are tested in test_shares_*.py; this is the wiring.
Screenshots go to test-artifacts/share/.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from seedream_ui.config import Settings
from seedream_ui.shares.page import GONE_TITLE
from tests.shares_fixtures import data, reference  # noqa: F401  (fixtures of this module only)
from tests.support import (
    ARTIFACTS,
    BROWSER_TIMEOUT_MS,
    DESKTOP,
    RunningApp,
    app_process,
    open_page,
    running_app,
    screenshot,
)
from tests.test_browser import PHONE, SMALL_PRESET, generate, open_accordion, pick_size, type_prompt, upload

pytestmark = pytest.mark.browser

SHOTS = ARTIFACTS / "share"
CLOSED_PORT_API = "http://127.0.0.1:9/v3/seedream-4.5"  # nothing here can reach the internet
PROMPT = "a paper boat on a puddle, watercolour"


@pytest.fixture(scope="module")
def app(data: Path) -> Iterator[RunningApp]:
    with running_app(Settings(data_dir=str(data), api_url=CLOSED_PORT_API, max_retries=0)) as running:
        yield running


def fresh(browser: Browser, viewport: dict[str, int] = DESKTOP) -> BrowserContext:
    """Another visitor: no cookies, no session."""
    ctx = browser.new_context(viewport=viewport, accept_downloads=True)  # type: ignore[arg-type]
    ctx.set_default_timeout(BROWSER_TIMEOUT_MS)
    return ctx


def shot(page: Page, name: str) -> None:
    screenshot(page, SHOTS / f"{name}.png")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def share(page: Page) -> tuple[str, str]:
    """Click Share; returns (the link, the secret delete link) as the page shows them."""
    page.locator("#share").click()
    link = page.locator("#share-link textarea, #share-link input").first
    expect(link).to_have_value(re.compile(r"/s/[A-Za-z0-9_-]{22}$"))
    delete = page.locator("#share-notice a").first.get_attribute("href") or ""
    assert "/unshare#" in delete
    return link.input_value(), delete


def make_and_share(page: Page, reference: Path) -> tuple[str, str, list[str]]:
    """A sequence of 2 from one upload, watermark off: every control that can be away from its default."""
    type_prompt(page, PROMPT)
    pick_size(page, SMALL_PRESET)
    upload(page, [reference])
    expect(page.locator("#references .thumbnail-item")).to_have_count(1)
    open_accordion(page, "Advanced settings")
    page.get_by_label("Add Seedream's 'AI generated' watermark").uncheck()
    page.get_by_label("Image sequence (model decides)").check()
    page.locator("#max-images input[type=number]").fill("2")
    page.locator("#max-images input[type=number]").press("Tab")
    results = generate(page, count=2)
    link, delete = share(page)
    return link, delete, results


def expect_the_recipe_in_the_form(page: Page, references: int) -> None:
    expect(page.locator("#prompt textarea")).to_have_value(PROMPT)
    expect(page.locator("#size textarea, #size input").first).to_have_value("2560x1440")
    expect(page.locator("#size-preset input")).to_have_value(SMALL_PRESET)
    expect(page.locator("#references .thumbnail-item")).to_have_count(references)
    open_accordion(page, "Advanced settings")
    expect(page.get_by_label("Add Seedream's 'AI generated' watermark")).not_to_be_checked()
    expect(page.get_by_label("Image sequence (model decides)")).to_be_checked()
    expect(page.locator("#max-images input[type=number]")).to_have_value("2")


def test_a_shared_link_shows_the_same_images_to_anyone_and_opens_in_the_editor(
    browser: Browser, context: BrowserContext, app: RunningApp, reference: Path, data: Path
) -> None:
    page = open_page(context, app.url)
    link, _, results = make_and_share(page, reference)
    assert link.startswith(app.url.rstrip("/") + "/s/")
    mine = sorted(sha(page.request.get(src).body()) for src in results)
    shot(page, "01-shared-1280")
    with sqlite3.connect(data / "shares" / "shares.sqlite3") as index:
        (visitor,) = index.execute("SELECT visitor FROM shares WHERE id = ?", (link.rsplit("/", 1)[1],)).fetchone()
    assert visitor.startswith("addr-") and "127.0.0.1" not in visitor  # the quotas' salted id, never the address

    stranger = fresh(browser)
    shared = stranger.new_page()
    shared.goto(link)
    assert shared.locator("#prompt").inner_text() == PROMPT
    images = shared.locator(".grid img")
    expect(images).to_have_count(2)
    theirs = sorted(sha(shared.request.get(src).body()) for src in images.evaluate_all("i => i.map(x => x.src)"))
    assert theirs == mine  # the originals, byte for byte
    shot(shared, "02-shared-page")

    shared.locator("#open-in-editor").click()
    expect(shared.locator("#generate")).to_be_visible()
    expect_the_recipe_in_the_form(shared, references=1)
    shot(shared, "03-open-in-editor")
    stranger.close()


def test_unshared_and_forged_links_get_the_same_clear_page(
    browser: Browser, context: BrowserContext, app: RunningApp, reference: Path
) -> None:
    page = open_page(context, app.url)
    link, delete, _ = make_and_share(page, reference)
    stranger = fresh(browser)
    visitor = stranger.new_page()
    visitor.goto(delete)
    visitor.get_by_role("button", name="Stop sharing").click()
    visitor.get_by_role("heading", name="No longer shared").wait_for()

    root = app.url.rstrip("/")
    forged = [link, f"{root}/s/{'A' * 22}", f"{root}/s/..%2F..%2Fetc%2Fpasswd", f"{root}/s/{'x' * 5000}",
              f"{root}/s/ünïcødé-id"]  # fmt: skip
    for url in forged:
        response = visitor.goto(url)
        assert response is not None and response.status == 404, url
        assert visitor.locator("h1").inner_text() == GONE_TITLE
        assert "Traceback" not in visitor.content()

    # ?recipe= with an unshared id leaves the form as it is and says why.
    editor = open_page(stranger, f"{root}/?recipe={link.rsplit('/', 1)[1]}")
    expect(editor.locator("[data-testid=toast-body]")).to_contain_text("not found or is no longer shared")
    expect(editor.locator("#prompt textarea")).to_have_value("")
    stranger.close()


def test_a_recipe_file_restores_the_form_and_a_hostile_one_changes_nothing(
    context: BrowserContext, app: RunningApp, tmp_path: Path
) -> None:
    page = open_page(context, app.url)
    page.locator("#copy-recipe").click()  # nothing shown yet: a message, nothing else
    expect(page.locator("[data-testid=toast-body]").first).to_contain_text("Generate an image first")

    good = tmp_path / "recipe.json"
    good.write_text(json.dumps({
        "kind": "seedream-recipe", "version": 1, "prompt": PROMPT, "size": "2560x1440",
        "references": [{"upload": "teapot.png", "file": "reference-1.png"}], "watermark": False,
        "optimize_prompt_mode": "standard", "sequential_image_generation": "auto", "max_images": 2,
    }))  # fmt: skip
    page.locator("#load-recipe input[type=file], input[type=file][accept*='.json']").first.set_input_files(str(good))
    # The upload is named, not carried: the form asks for it again.
    expect(page.locator("[data-testid=toast-body]", has_text="Add these reference files again: teapot.png")).to_be_visible()
    expect_the_recipe_in_the_form(page, references=0)

    hostile = tmp_path / "hostile.json"
    hostile.write_text(json.dumps({"kind": "seedream-recipe", "version": 1, "prompt": "x", "api_key": "sk-1"}))
    page.locator("#load-recipe input[type=file], input[type=file][accept*='.json']").first.set_input_files(
        str(hostile))  # fmt: skip
    expect(page.locator("[data-testid=toast-body].error")).to_contain_text("api_key")
    expect(page.locator("#prompt textarea")).to_have_value(PROMPT)  # nothing lost
    shot(page, "04-recipe-refused")


def test_at_phone_width_the_share_link_fits(browser: Browser, app: RunningApp, reference: Path) -> None:
    ctx = fresh(browser, {"width": PHONE["width"], "height": PHONE["height"]})
    page = open_page(ctx, app.url)
    make_and_share(page, reference)
    link = page.locator("#share-link")
    box = link.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 1
    shot(page, "05-shared-375")
    ctx.close()


def test_a_link_survives_a_restart_with_the_same_data_dir(browser: Browser, tmp_path: Path, reference: Path) -> None:
    env = {"SEEDREAM_DATA_DIR": str(tmp_path / "data"), "SEEDREAM_API_URL": CLOSED_PORT_API}
    ctx = fresh(browser)
    with app_process(tmp_path, env) as first:
        link, _, results = make_and_share(open_page(ctx, first.url), reference)
        first_bytes = httpx.get(link + "/image/1").content
    ctx.close()
    with app_process(tmp_path, env) as second:
        link = link.replace(first.url.rstrip("/"), second.url.rstrip("/"))  # a new port, the same data
        page = httpx.get(link)
        assert page.status_code == 200 and PROMPT in page.text
        assert httpx.get(link + "/image/1").content == first_bytes
    assert results


def test_sharing_off_hides_the_button_and_serves_no_shares(tmp_path: Path) -> None:
    with running_app(Settings(data_dir=str(tmp_path), share_days=0, api_url=CLOSED_PORT_API, max_retries=0)) as off:
        config = httpx.get(off.url + "config").json()
        share = [c for c in config["components"] if c.get("props", {}).get("elem_id") == "share"]
        assert share and share[0]["props"]["visible"] is False
        assert httpx.get(off.url + "s/" + "A" * 22).status_code == 404
    assert not (tmp_path / "shares").exists()
