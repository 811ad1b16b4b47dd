"""The page in a real browser (headless Debian Chromium driven by Playwright), as a visitor uses it.

One offline-preview app and one browser for the module; every test gets a fresh browser context (so a fresh
Gradio session: its own history) and a stand-in with no recorded requests. Screenshots of the main states go
to test-artifacts/browser/ (git-ignored), to look at after a run.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect

from seedream_ui.config import Settings
from seedream_ui.stub_api import StubServer, read_marker
from tests.support import (
    ARTIFACTS,
    BROWSER_TIMEOUT_MS,
    RunningApp,
    open_page,
    running_app,
    screenshot,
)

pytestmark = pytest.mark.browser

SHOTS = ARTIFACTS / "browser"
PHONE = {"width": 375, "height": 812}
SMALL_PRESET = "16:9 · 2K (2560x1440)"  # the preset with the fewest pixels: quick for the stand-in


# ---- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app() -> Iterator[RunningApp]:
    # No key: the offline preview, whose in-process stand-in (app.backend.stub) answers every generation.
    # The "real" URL points at a closed local port so that nothing here can reach the internet.
    with running_app(Settings(api_url="http://127.0.0.1:9/v3/seedream-4.5", max_retries=0)) as running:
        yield running


@pytest.fixture(autouse=True)
def stand_in(app: RunningApp) -> StubServer:
    """The app's in-process stand-in, with no recorded requests and no queued faults."""
    assert app.backend.stub is not None
    app.backend.stub.reset()
    return app.backend.stub


@pytest.fixture(scope="module")
def references(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Sixteen small, distinct PNG files to upload."""
    folder = tmp_path_factory.mktemp("references")
    paths = []
    for i in range(16):
        path = folder / f"reference-{i:02d}.png"
        Image.new("RGB", (64, 48), (15 * i, 120, 240 - 12 * i)).save(path, "PNG")
        paths.append(path)
    return paths


# ---- helpers: what a visitor does -------------------------------------------------------------------


def shot(page: Page, name: str) -> None:
    screenshot(page, SHOTS / f"{name}.png")


def type_prompt(page: Page, text: str) -> None:
    page.locator("#prompt textarea").fill(text)


def pick_size(page: Page, label: str) -> None:
    page.locator("#size-preset input").click()
    page.get_by_role("option", name=label, exact=True).click()


def size_sent(page: Page) -> str:
    return page.locator("#size textarea, #size input").first.input_value()


def upload(page: Page, paths: list[Path]) -> None:
    # Empty gallery: the drop zone's input; with images: the toolbar's upload button input. Either adds.
    page.locator("#references input[type=file]").first.set_input_files([str(p) for p in paths])


def expect_reference_count(page: Page, count: int) -> None:
    expect(page.locator("#references").get_by_text(f"Reference images ({count} / 14)")).to_be_visible()
    expect(page.locator("#references .thumbnail-item")).to_have_count(count)


def result_sources(page: Page) -> list[str]:
    """The distinct result files the gallery shows (a preview shows each image more than once)."""
    sources = page.locator("#results img").evaluate_all("imgs => imgs.map(i => i.src)")
    return list(dict.fromkeys(s for s in sources if "/file=" in s))


def generate(page: Page, count: int = 1) -> list[str]:
    """Click Generate and wait until the gallery shows `count` new results."""
    before = result_sources(page)
    page.locator("#generate").click()
    page.wait_for_function(
        """([before, count]) => {
            const srcs = [...new Set([...document.querySelectorAll('#results img')].map(i => i.src)
                                      .filter(s => s.includes('/file=')))];
            return srcs.length === count && srcs.every(s => !before.includes(s));
        }""",
        arg=[before, count],
    )
    expect(page.locator("#status")).to_contain_text("✓")
    return result_sources(page)


def toast(page: Page, kind: str) -> Any:
    return page.locator(f"[data-testid=toast-body].{kind}")


# Resolves once nothing inside `root` has changed for three animation frames (at most ~100 frames).
_SETTLED_JS = """(root) => new Promise(resolve => {
    let quiet = 0, frames = 0;
    const watch = new MutationObserver(() => { quiet = 0; });
    watch.observe(root, {subtree: true, childList: true, attributes: true, characterData: true});
    const frame = () => {
        if (++quiet >= 3 || ++frames >= 100) { watch.disconnect(); resolve(); } else requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
})"""


def open_accordion(page: Page, title: str) -> None:
    """Open a closed accordion once Gradio has finished revealing it.

    Gradio 6.31 mounts a closed accordion's children on its first opening, then, once they have loaded and a
    frame has passed, pushes their initial props to them again (core's render_previously_invisible_children).
    A value typed in between is overwritten with the initial one: a CI run lost a typed API key that way, and the
    request went out on the demo's key. For a person the window is a frame or two after the field appears;
    Playwright types within it, so the helper waits until the accordion's content has stopped changing.
    """
    header = page.locator("button.label-wrap", has_text=title)
    header.click()
    header.locator("xpath=..").evaluate(_SETTLED_JS)


def results_are_uncovered(page: Page) -> None:
    """Each result thumbnail can be seen and clicked: nothing (an error overlay, say) lies on top of it."""
    thumbnails = page.locator("#results .thumbnail-item")
    assert thumbnails.count() >= 1
    for i in range(thumbnails.count()):
        thumbnails.nth(i).click(trial=True, timeout=3000)  # Playwright's hit test: fails if covered


def fetch(page: Page, url: str) -> bytes:
    response = page.request.get(url)
    assert response.ok
    return response.body()


# ---- tests --------------------------------------------------------------------------------------------


def test_offline_preview_banner_says_how_to_add_a_key(page: Page) -> None:
    banner = page.locator("#offline-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Offline preview")
    expect(banner).to_contain_text("placeholder images")
    expect(banner).to_contain_text("Advanced settings → Your Seedream API key")
    expect(banner).to_contain_text("SEEDREAM_API_KEY")
    shot(page, "01-start")


def test_generate_with_a_reference_then_download_an_image_and_the_zip(
    page: Page, stand_in: StubServer, references: list[Path], tmp_path: Path
) -> None:
    type_prompt(page, "a lighthouse at dusk, oil painting")
    upload(page, references[:1])
    expect_reference_count(page, 1)
    pick_size(page, SMALL_PRESET)
    expect(page.locator("#size textarea, #size input").first).to_have_value("2560x1440")
    expect(page.locator("#size-hint")).to_contain_text("✓ 2560x1440")

    (source,) = generate(page)
    expect(page.locator("#status")).to_contain_text("✓ 1 image · 2560x1440")
    shot(page, "02-results")

    (sent,) = stand_in.requests()
    assert sent["body"]["prompt"] == "a lighthouse at dusk, oil painting"
    assert sent["body"]["size"] == "2560x1440"
    assert sent["body"]["image"][0].startswith("data:image/png;base64,")

    # One image, from the gallery's own download button (shown once an image is opened).
    page.locator("#results .thumbnail-item").first.click()
    with page.expect_download() as image_download:
        page.locator("#results").get_by_role("button", name="Download", exact=True).click()
    image_path = tmp_path / image_download.value.suggested_filename
    image_download.value.save_as(image_path)
    assert image_path.name.startswith("seedream-") and image_path.suffix == ".jpg"
    with Image.open(image_path) as image:
        image.load()
        assert (image.format, image.size) == ("JPEG", (2560, 1440))
    marker = read_marker(image_path.read_bytes())
    assert marker is not None and marker["prompt"] == "a lighthouse at dusk, oil painting"
    assert image_path.read_bytes() == fetch(page, source)
    shot(page, "03-image-opened")

    # Everything as a zip: the image, byte for byte, and the request that made it.
    with page.expect_download() as zip_download:
        page.locator("#download-all").click()
    zip_path = tmp_path / zip_download.value.suggested_filename
    zip_download.value.save_as(zip_path)
    with zipfile.ZipFile(zip_path) as archive:
        assert sorted(archive.namelist()) == sorted([image_path.name, "request.json"])
        assert archive.read(image_path.name) == image_path.read_bytes()
        record = json.loads(archive.read("request.json"))
    assert record["prompt"] == "a lighthouse at dusk, oil painting" and record["size"] == "2560x1440"
    assert record["image"][0].startswith("reference-00.png (image/png")


def test_an_invalid_custom_size_shows_an_error_sends_nothing_and_keeps_everything(
    page: Page, stand_in: StubServer, references: list[Path]
) -> None:
    type_prompt(page, "a quiet harbour")
    upload(page, references[:1])
    expect_reference_count(page, 1)
    pick_size(page, "Custom width × height")
    page.locator("#width input").fill("1920")
    page.locator("#height input").fill("1920")
    page.locator("#height input").press("Tab")
    expect(page.locator("#size textarea, #size input").first).to_have_value("1920x1920")
    before = generate(page)

    page.locator("#width input").fill("1000")
    page.locator("#height input").fill("1000")
    page.locator("#height input").press("Tab")
    expect(page.locator("#size textarea, #size input").first).to_have_value("1000x1000")
    expect(page.locator("#size-hint")).to_contain_text("⚠ Size 1000x1000 has 1,000,000 pixels")
    page.locator("#generate").click()

    error = toast(page, "error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("Size 1000x1000 has 1,000,000 pixels; Seedream 4.5 needs at least 3,686,400")
    shot(page, "04-invalid-size")
    assert len(stand_in.requests()) == 1  # only the first, valid generation reached the API

    # The visitor loses nothing: prompt, upload and results are all still there and usable.
    expect(page.locator("#prompt textarea")).to_have_value("a quiet harbour")
    expect_reference_count(page, 1)
    assert result_sources(page) == before
    results_are_uncovered(page)


def test_an_api_error_keeps_the_prompt_uploads_and_results(
    page: Page, stand_in: StubServer, references: list[Path]
) -> None:
    type_prompt(page, "a storm over the sea")
    upload(page, references[:2])
    expect_reference_count(page, 2)
    pick_size(page, SMALL_PRESET)
    before = generate(page)

    stand_in.queue_faults(["503"])
    page.locator("#generate").click()
    error = toast(page, "error")
    expect(error).to_contain_text("Seedream had a server error (503)")
    shot(page, "05-api-error")

    expect(page.locator("#prompt textarea")).to_have_value("a storm over the sea")
    expect_reference_count(page, 2)
    assert result_sources(page) == before
    results_are_uncovered(page)
    assert [r["status"] for r in stand_in.requests()] == [200, 503]


def test_a_result_can_be_used_as_the_next_reference(page: Page, stand_in: StubServer) -> None:
    type_prompt(page, "a red teapot")
    pick_size(page, SMALL_PRESET)
    (source,) = generate(page)

    page.locator("#use-as-reference").click()
    expect(toast(page, "error")).to_contain_text("Click a result")  # nothing selected yet: told what to do

    page.locator("#results .thumbnail-item").first.click()
    page.locator("#use-as-reference").click()
    expect(toast(page, "info")).to_contain_text("Added result 1 as reference 1 of 14")
    expect_reference_count(page, 1)
    shot(page, "06-result-as-reference")

    type_prompt(page, "the same teapot, in blue")
    generate(page)
    first, second = stand_in.requests()
    assert "image" not in first["body"]
    assert second["body"]["image"][0].startswith("data:image/jpeg;base64,")
    result_bytes = fetch(page, source)
    marker = read_marker(result_bytes)
    assert marker is not None and marker["prompt"] == "a red teapot"
    sent_reference = read_marker(fetch(page, result_sources(page)[0]))["references"][0]
    assert sent_reference["sha256"] == hashlib.sha256(result_bytes).hexdigest()[:16]  # the result, unchanged


def test_sequential_generation_shows_max_images_and_returns_that_many(
    page: Page, stand_in: StubServer, references: list[Path]
) -> None:
    type_prompt(page, "a four-panel storyboard of a paper boat")
    pick_size(page, SMALL_PRESET)
    open_accordion(page, "Advanced settings")
    max_images = page.locator("#max-images")
    expect(max_images).to_be_hidden()  # it means nothing for a single image

    page.get_by_label("Image sequence (model decides)").check()
    expect(max_images).to_be_visible()
    expect(max_images.locator("input[type=range]")).to_have_attribute("max", "15")
    upload(page, references[:3])
    expect_reference_count(page, 3)
    expect(max_images.locator("input[type=range]")).to_have_attribute("max", "12")  # 3 references + 12 = 15

    max_images.locator("input[type=number]").fill("3")
    max_images.locator("input[type=number]").press("Tab")
    generate(page, count=3)
    expect(page.locator("#status")).to_contain_text("✓ 3 images · 2560x1440")
    shot(page, "07-sequence")
    body = stand_in.requests()[0]["body"]
    assert body["sequential_image_generation"] == "auto"
    assert body["sequential_image_generation_options"] == {"max_images": 3}

    # More references lower the limit, and a chosen value above it comes down with it.
    max_images.locator("input[type=number]").fill("12")
    max_images.locator("input[type=number]").press("Tab")
    upload(page, references[3:5])
    expect_reference_count(page, 5)
    expect(max_images.locator("input[type=range]")).to_have_attribute("max", "10")
    expect(max_images.locator("input[type=number]")).to_have_value("10")

    page.get_by_label("Single image").check()
    expect(max_images).to_be_hidden()


def test_more_than_14_references_are_refused_and_the_earlier_uploads_stay(
    page: Page, references: list[Path]
) -> None:
    upload(page, references[:2])
    expect_reference_count(page, 2)
    upload(page, references[2:15])  # 13 more: 15 in all

    warning = toast(page, "warning")
    expect(warning).to_contain_text("at most 14 reference images")
    expect(warning).to_contain_text("the 13 just added were not kept")
    expect_reference_count(page, 2)
    shown = page.locator("#references img").evaluate_all("imgs => imgs.map(i => i.src.split('/').pop())")
    assert sorted(set(shown)) == ["reference-00.png", "reference-01.png"]
    shot(page, "08-too-many-references")

    upload(page, references[2:14])  # 12 more: exactly 14, accepted
    expect_reference_count(page, 14)


def test_with_14_references_a_sequence_is_one_image(
    page: Page, stand_in: StubServer, references: list[Path]
) -> None:
    type_prompt(page, "a collage of all of these")
    pick_size(page, SMALL_PRESET)
    upload(page, references[:14])
    expect_reference_count(page, 14)
    open_accordion(page, "Advanced settings")
    page.get_by_label("Image sequence (model decides)").check()
    slider = page.locator("#max-images input[type=range]")
    expect(slider).to_have_attribute("max", "1")
    expect(slider).to_have_value("1")
    expect(slider).to_be_disabled()  # nothing to choose: references plus results are at most 15

    generate(page)
    body = stand_in.requests()[0]["body"]
    assert len(body["image"]) == 14
    assert body["sequential_image_generation_options"] == {"max_images": 1}


def test_history_shows_an_earlier_generation_again(page: Page) -> None:
    pick_size(page, SMALL_PRESET)
    type_prompt(page, "first: a snowy forest")
    first = generate(page)
    type_prompt(page, "second: a desert at noon")
    second = generate(page)
    assert first != second

    open_accordion(page, "History")
    entries = page.locator("#history .thumbnail-item")
    expect(entries).to_have_count(2)
    expect(entries.nth(0)).to_contain_text("second: a desert at noon")  # newest first
    expect(entries.nth(1)).to_contain_text("first: a snowy forest")
    entries.nth(1).click()
    page.wait_for_function("src => [...document.querySelectorAll('#results img')].some(i => i.src === src)",
                           arg=first[0])  # fmt: skip
    assert result_sources(page) == first
    shot(page, "09-history")

    with page.expect_download() as zip_download:
        page.locator("#download-all").click()
    with zipfile.ZipFile(io.BytesIO(Path(zip_download.value.path()).read_bytes())) as archive:
        assert json.loads(archive.read("request.json"))["prompt"] == "first: a snowy forest"


def test_at_phone_width_every_control_is_labelled_and_nothing_overflows(
    browser: Browser, app: RunningApp, stand_in: StubServer, references: list[Path]
) -> None:
    ctx = browser.new_context(viewport=PHONE, accept_downloads=True, is_mobile=True, has_touch=True)
    ctx.set_default_timeout(BROWSER_TIMEOUT_MS)
    try:
        page = open_page(ctx, app.url)
        # Show as many controls as the page has: results, uploads, advanced settings, max images, history.
        type_prompt(page, "a lighthouse")
        upload(page, references[:1])
        expect_reference_count(page, 1)
        open_accordion(page, "Advanced settings")
        page.get_by_label("Image sequence (model decides)").check()
        expect(page.locator("#max-images")).to_be_visible()
        page.locator("#max-images input[type=number]").fill("2")
        page.locator("#max-images input[type=number]").press("Tab")
        pick_size(page, SMALL_PRESET)
        generate(page, count=2)
        open_accordion(page, "History")
        expect(page.locator("#history .thumbnail-item")).to_have_count(1)
        shot(page, "10-phone")

        assert unnamed_controls(ctx, page) == []

        widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1] == PHONE["width"], f"the page scrolls sideways: {widths}"
        overflowing = page.evaluate(
            """(width) => [...document.querySelectorAll('.gradio-container *')]
                .filter(e => !e.closest('.table-wrap, table, .examples, [class*=example]'))
                .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
                .filter(e => { const r = e.getBoundingClientRect();
                               return r.width > 0 && (r.right > width + 1 || r.left < -1); })
                .map(e => (e.id ? '#' + e.id : e.tagName.toLowerCase() + '.' + [...e.classList].join('.')))""",
            PHONE["width"],
        )
        assert overflowing == [], f"wider than the screen: {overflowing[:10]}"
    finally:
        ctx.close()


def unnamed_controls(ctx: BrowserContext, page: Page) -> list[str]:
    """Visible input/textarea/button/select elements whose accessible name (as Chromium computes it) is empty."""
    count = page.evaluate(
        """() => {
            let n = 0;
            for (const e of document.querySelectorAll('input, textarea, button, select')) {
                const shown = e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
                if (shown && e.type !== 'hidden') e.setAttribute('data-a11y-check', String(n++));
            }
            return n;
        }"""
    )
    assert count > 20  # the check saw the page's controls, not an empty document
    cdp = ctx.new_cdp_session(page)
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    missing = []
    for node_id in cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": "[data-a11y-check]"})["nodeIds"]:
        ax = cdp.send("Accessibility.getPartialAXTree", {"nodeId": node_id, "fetchRelatives": False})["nodes"][0]
        if ax.get("ignored"):
            continue
        if not (ax.get("name", {}).get("value") or "").strip():
            html = cdp.send("DOM.getOuterHTML", {"nodeId": node_id})["outerHTML"]
            missing.append(html[:160])
    cdp.detach()
    return missing


def test_stop_ends_a_slow_generation_and_the_page_stays_usable(
    page: Page, stand_in: StubServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="seedream_ui.stub_api")  # the stand-in logs each request as it ends
    type_prompt(page, "a very slow painting")
    pick_size(page, SMALL_PRESET)
    stand_in.queue_faults(["hang"])  # the stand-in holds this answer until the client goes away
    page.locator("#generate").click()
    progress = page.locator("#results").get_by_role("progressbar")
    expect(progress).to_be_visible()
    expect(progress).to_have_attribute("aria-label", "Sending to Seedream…")
    assert stand_in.requests()[0]["body"]["prompt"] == "a very slow painting"
    shot(page, "11-waiting")
    assert not hung_requests_ended(caplog)

    page.locator("#stop").click()
    expect(progress).to_have_count(0)
    # The app hung up on the API too (a real generation would stop costing a connection), not just the page.
    deadline = time.monotonic() + 10
    while not hung_requests_ended(caplog) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert hung_requests_ended(caplog) == 1, "the request to the API kept running after Stop"

    type_prompt(page, "a quick sketch")
    generate(page)
    expect(page.locator("#status")).to_contain_text("✓ 1 image")
    assert [r["body"]["prompt"] for r in stand_in.requests()] == ["a very slow painting", "a quick sketch"]
    shot(page, "12-after-stop")


def hung_requests_ended(caplog: pytest.LogCaptureFixture) -> int:
    return sum("fault=hang" in r.getMessage() for r in caplog.records if r.name == "seedream_ui.stub_api")
