"""History that survives a reload and a restart, on the real page (headless Chromium): the visitor's
generations come back with working images, an entry restores its results and its recipe, the browser keeps
nothing secret, entries are no shared pages, an entry can be shared, and a recipe file dropped on the page
fills the form. Screenshots go to test-artifacts/history/.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from seedream_ui.config import Settings
from seedream_ui.shares.page import GONE_TITLE
from seedream_ui.stub_api import StubServer
from seedream_ui.ui_history import SECRET_FILE
from tests.history_support import browser_state_secret, saved_entries, stored_value
from tests.shares_fixtures import data, reference  # noqa: F401  (fixtures of this module only)
from tests.support import ARTIFACTS, RunningApp, app_process, free_port, open_page, running_app, screenshot
from tests.test_browser import PHONE, SMALL_PRESET, generate, open_accordion, pick_size, type_prompt, upload
from tests.test_share_browser import CLOSED_PORT_API, fresh, sha, share

pytestmark = pytest.mark.browser

SHOTS = ARTIFACTS / "history"
FIRST = "first: a snowy birch forest at dawn"
SECOND = "second: a paper boat on a puddle, watercolour"
TYPED_KEY = "sk-typed-by-the-visitor-0123456789"
DRAFT = "a draft the visitor is still writing"


@pytest.fixture(scope="module")
def app(data: Path, stub_server: StubServer) -> Iterator[RunningApp]:
    # No server key (offline preview): without a key the in-process stand-in answers; a key typed in the page
    # goes to the session's stand-in (the "real" API here), so that a visitor's key can be used and looked for.
    with running_app(Settings(data_dir=str(data), api_url=stub_server.url, max_retries=0)) as running:
        yield running


def shot(page: Page, name: str) -> None:
    screenshot(page, SHOTS / f"{name}.png")


def fetch_all(page: Page, sources: list[str]) -> list[str]:
    hashes = []
    for src in sources:
        response = page.request.get(src)
        assert response.ok, src
        hashes.append(sha(response.body()))
    return hashes


def make_two(page: Page, reference: Path, *, key: str = "") -> tuple[list[str], list[str]]:
    """A plain generation, then a sequence of 2 from one upload with the watermark off (and `key` typed):
    returns the SHA-256 of each one's results as the page served them."""
    pick_size(page, SMALL_PRESET)
    type_prompt(page, FIRST)
    first = fetch_all(page, generate(page))
    type_prompt(page, SECOND)
    upload(page, [reference])
    expect(page.locator("#references .thumbnail-item")).to_have_count(1)
    open_accordion(page, "Advanced settings")
    page.get_by_label("Add Seedream's 'AI generated' watermark").uncheck()
    page.get_by_label("Image sequence (model decides)").check()
    page.locator("#max-images input[type=number]").fill("2")
    page.locator("#max-images input[type=number]").press("Tab")
    if key:
        page.locator("#api-key input").fill(key)
    second = fetch_all(page, generate(page, count=2))
    return first, second


def history_entries(page: Page, count: int) -> Locator:
    if not page.locator("#history").is_visible():
        open_accordion(page, "History")
    entries = page.locator("#history .thumbnail-item")
    expect(entries).to_have_count(count)
    return entries


def shown_results(page: Page, count: int) -> list[str]:
    page.wait_for_function(
        "n => new Set([...document.querySelectorAll('#results img')].map(i => i.src)"
        ".filter(s => s.includes('/file='))).size === n", arg=count)  # fmt: skip
    sources = page.locator("#results img").evaluate_all("imgs => imgs.map(i => i.src)")
    return fetch_all(page, list(dict.fromkeys(s for s in sources if "/file=" in s)))


def zipped_images(page: Page) -> list[str]:
    """The SHA-256 of each image in the zip that "Download all" hands over."""
    with page.expect_download() as download:
        page.locator("#download-all").click()
    with zipfile.ZipFile(download.value.path()) as archive:
        return [sha(archive.read(name)) for name in archive.namelist() if name != "request.json"]


def expect_first_in_the_form(page: Page) -> None:
    expect(page.locator("#prompt textarea")).to_have_value(FIRST)
    expect(page.locator("#size-preset input")).to_have_value(SMALL_PRESET)
    expect(page.locator("#size textarea, #size input").first).to_have_value("2560x1440")
    expect(page.locator("#references .thumbnail-item")).to_have_count(0)
    expect(page.get_by_label("Add Seedream's 'AI generated' watermark")).to_be_checked()
    expect(page.get_by_label("Single image")).to_be_checked()


def expect_second_in_the_form(page: Page) -> None:
    expect(page.locator("#prompt textarea")).to_have_value(SECOND)
    expect(page.locator("#size-preset input")).to_have_value(SMALL_PRESET)
    expect(page.locator("#size textarea, #size input").first).to_have_value("2560x1440")
    expect(page.locator("#references .thumbnail-item")).to_have_count(1)
    expect(page.get_by_label("Add Seedream's 'AI generated' watermark")).not_to_be_checked()
    expect(page.get_by_label("Image sequence (model decides)")).to_be_checked()
    expect(page.locator("#max-images input[type=number]")).to_have_value("2")
    expect(page.locator("#optimize-mode").get_by_label("standard")).to_be_checked()
    expect(page.locator("#reference-urls textarea")).to_have_value("")


def test_history_comes_back_after_a_reload_and_an_entry_restores_results_and_recipe(
    context: BrowserContext, app: RunningApp, reference: Path, data: Path
) -> None:
    page = open_page(context, app.url)
    first, second = make_two(page, reference)
    secret = browser_state_secret(app.url)
    saved_entries(page, secret, 2)

    page.reload()
    expect(page.locator("#generate")).to_be_visible()
    type_prompt(page, DRAFT)  # the visitor starts typing while the history is restored
    # The newest generation is on screen again, as clicking its entry shows it; the form stays the visitor's.
    assert sorted(shown_results(page, 2)) == sorted(second)
    expect(page.locator("#status")).to_contain_text("from your history")
    expect(page.locator("#prompt textarea")).to_have_value(DRAFT)
    expect(page.locator("#references .thumbnail-item")).to_have_count(0)
    shot(page, "00-results-after-reload-1280")
    assert sorted(zipped_images(page)) == sorted(second)  # its zip is that generation's
    entries = history_entries(page, 2)
    expect(entries.nth(0)).to_contain_text(SECOND[:40])  # newest first
    expect(entries.nth(1)).to_contain_text(FIRST[:40])
    thumbs = page.locator("#history img").evaluate_all("imgs => imgs.map(i => i.src)")
    assert fetch_all(page, list(dict.fromkeys(thumbs))) == [second[0], first[0]]  # working images, same bytes
    shot(page, "01-history-after-reload-1280")
    page.set_viewport_size(PHONE)
    shot(page, "02-history-after-reload-375")
    page.set_viewport_size({"width": 1280, "height": 900})

    entries.nth(1).click()
    assert shown_results(page, 1) == first
    open_accordion(page, "Advanced settings")
    expect_first_in_the_form(page)
    entries.nth(0).click()
    assert sorted(shown_results(page, 2)) == sorted(second)
    expect_second_in_the_form(page)
    expect(page.locator("#status")).to_contain_text("from your history")
    shot(page, "03-entry-restored-1280")

    # The zip of a restored entry is that generation's.
    with page.expect_download() as download:
        page.locator("#download-all").click()
    assert Path(download.value.path()).stat().st_size > 0


def test_the_browser_keeps_only_ids_and_captions_and_entries_are_no_shared_pages(
    context: BrowserContext, app: RunningApp, reference: Path, data: Path
) -> None:
    page = open_page(context, app.url)
    make_two(page, reference, key=TYPED_KEY)
    secret = browser_state_secret(app.url)
    entries = saved_entries(page, secret, 2)

    raw = stored_value(page) or ""
    everything = json.dumps(page.evaluate("() => ({...localStorage})"))
    assert TYPED_KEY not in everything and TYPED_KEY not in raw
    assert TYPED_KEY not in json.dumps(entries) and "127.0.0.1" not in json.dumps(entries)
    assert [set(entry) for entry in entries] == [{"id", "made", "caption"}] * 2
    assert SECOND[:20] in entries[0]["caption"] and FIRST[:20] in entries[1]["caption"]  # newest first

    # The secret is stable (kept in the data dir, readable by the app's user only) and is the one handed out.
    path = data / SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == secret

    root = app.url.rstrip("/")
    for entry in entries:
        assert len(base64.urlsafe_b64decode(entry["id"] + "==")) == 16  # 128 random bits
        for url in (f"{root}/s/{entry['id']}", f"{root}/s/{entry['id']}/image/1", f"{root}/s/{entry['id']}/zip",
                    f"{root}/s/{entry['id']}/recipe.json"):  # fmt: skip
            response = httpx.get(url)
            assert response.status_code == 404, url
        assert GONE_TITLE in httpx.get(f"{root}/s/{entry['id']}").text
    # ?recipe=<history id> does not open it in the editor either.
    other = open_page(context, f"{root}/?recipe={entries[0]['id']}")
    expect(other.locator("[data-testid=toast-body]")).to_contain_text("not found or is no longer shared")


def test_an_earlier_history_entry_can_be_shared_from_the_same_files(
    browser: Browser, context: BrowserContext, app: RunningApp, reference: Path, data: Path
) -> None:
    page = open_page(context, app.url)
    first, _ = make_two(page, reference)
    entries = saved_entries(page, browser_state_secret(app.url), 2)
    page.reload()
    history_entries(page, 2).nth(1).click()
    assert shown_results(page, 1) == first
    link, _ = share(page)

    stranger = fresh(browser)
    shared = stranger.new_page()
    shared.goto(link)
    assert shared.locator("#prompt").inner_text() == FIRST
    images = shared.locator(".grid img")
    expect(images).to_have_count(1)
    assert [sha(shared.request.get(src).body()) for src in images.evaluate_all("i => i.map(x => x.src)")] == first
    stranger.close()

    # The share's image is the entry's file, linked rather than written a second time.
    with sqlite3.connect(data / "shares" / "shares.sqlite3") as index:
        rows = dict(index.execute("SELECT id, folder FROM shares WHERE id IN (?, ?)",
                                  (entries[1]["id"], link.rsplit("/", 1)[1])).fetchall())  # fmt: skip
    entry_file, = (data / "shares" / "files" / rows[entries[1]["id"]]).glob("seedream-*")
    share_file, = (data / "shares" / "files" / rows[link.rsplit("/", 1)[1]]).glob("seedream-*")
    assert os.stat(entry_file).st_ino == os.stat(share_file).st_ino


def test_a_recipe_dropped_on_the_page_fills_the_form_and_images_still_go_to_the_references(
    context: BrowserContext, app: RunningApp, reference: Path
) -> None:
    page = open_page(context, app.url)
    type_prompt(page, "a draft")  # once the page answers its own events, it is ready for a drop too
    expect(page.locator("#prompt-hint")).to_contain_text("2 / 600 words")
    recipe = {
        "kind": "seedream-recipe", "version": 1, "prompt": SECOND, "size": "2560x1440", "references": [],
        "watermark": False, "optimize_prompt_mode": "standard", "sequential_image_generation": "auto",
        "max_images": 2,
    }  # fmt: skip
    drop(page, "body", "recipe.json", "application/json", json.dumps(recipe).encode())
    expect(page.locator("#prompt textarea")).to_have_value(SECOND)
    open_accordion(page, "Advanced settings")
    expect(page.get_by_label("Add Seedream's 'AI generated' watermark")).not_to_be_checked()
    expect(page.get_by_label("Image sequence (model decides)")).to_be_checked()
    expect(page.locator("#max-images input[type=number]")).to_have_value("2")
    expect(page.locator("#size-preset input")).to_have_value(SMALL_PRESET)

    # The zip's request.json works too, dropped onto the references' drop zone.
    request = {"prompt": FIRST, "size": "2048x2048", "watermark": True, "sequential_image_generation": "disabled"}
    drop(page, "#references .upload-container", "request.json", "application/json", json.dumps(request).encode())
    expect(page.locator("#prompt textarea")).to_have_value(FIRST)
    expect(page.get_by_label("Add Seedream's 'AI generated' watermark")).to_be_checked()

    # An image dropped on the references is a reference, and the form is left as it was.
    drop(page, "#references .upload-container", "teapot.png", "image/png", reference.read_bytes())
    expect(page.locator("#references .thumbnail-item")).to_have_count(1)
    expect(page.locator("#prompt textarea")).to_have_value(FIRST)

    # A hostile recipe dropped is refused with a message, nothing changes.
    drop(page, "body", "evil.json", "application/json", b'{"kind": "seedream-recipe", "version": 1, "api_key": "x"}')
    expect(page.locator("[data-testid=toast-body].error")).to_contain_text("api_key")
    expect(page.locator("#prompt textarea")).to_have_value(FIRST)
    shot(page, "04-recipe-dropped")


def drop(page: Page, selector: str, name: str, mime: str, data: bytes) -> None:
    """Drag a file from the desktop and drop it on `selector`, as a browser delivers it (dragenter, dragover,
    drop with the file in the DataTransfer)."""
    page.evaluate(
        """([selector, name, mime, b64]) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: mime }));
            const target = document.querySelector(selector);
            for (const type of ["dragenter", "dragover", "drop"]) {
                target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: transfer }));
            }
        }""",
        [selector, name, mime, base64.b64encode(data).decode()],
    )


def test_history_comes_back_after_the_app_restarts_with_the_same_data_dir(
    browser: Browser, tmp_path: Path, reference: Path
) -> None:
    # The same port: the browser keeps localStorage per origin, and a restarted demo is reached at the same address.
    env, port = {"SEEDREAM_DATA_DIR": str(tmp_path / "data"), "SEEDREAM_API_URL": CLOSED_PORT_API}, free_port()
    ctx = fresh(browser)
    with app_process(tmp_path, env, port=port) as first_run:
        page = open_page(ctx, first_run.url)
        first, second = make_two(page, reference)
        saved_entries(page, browser_state_secret(first_run.url), 2)
        page.close()
        first_log = first_run.log()
    with app_process(tmp_path, env, port=port) as second_run:
        assert second_run.url == first_run.url
        page = open_page(ctx, second_run.url)
        entries = history_entries(page, 2)
        thumbs = page.locator("#history img").evaluate_all("imgs => imgs.map(i => i.src)")
        assert fetch_all(page, list(dict.fromkeys(thumbs))) == [second[0], first[0]]
        entries.nth(0).click()
        assert sorted(shown_results(page, 2)) == sorted(second)
        expect(page.locator("#prompt textarea")).to_have_value(SECOND)
        secret = (tmp_path / "data" / SECRET_FILE).read_text().strip()
        assert secret not in second_run.log() and secret not in first_log  # never logged
    ctx.close()


def test_forget_my_history_empties_it_for_good_and_deletes_its_files_but_shared_links_stay(
    browser: Browser, context: BrowserContext, app: RunningApp
) -> None:
    page = open_page(context, app.url)
    pick_size(page, SMALL_PRESET)
    type_prompt(page, FIRST)
    first_made = generate(page)  # served from the folder this tab wrote
    type_prompt(page, SECOND)
    generate(page)
    link, _ = share(page)
    secret = browser_state_secret(app.url)
    saved_entries(page, secret, 2)

    page.reload()
    entries = history_entries(page, 2)
    first_kept = page.locator("#history img").nth(1).get_attribute("src") or ""  # the restored copy
    entries.nth(0).click()  # the second generation is on screen again ...
    shown = shown_results(page, 1)
    type_prompt(page, "a draft the visitor is still writing")  # ... and the form is being edited
    shot(page, "05-before-forget-1280")
    for url in (first_kept, *first_made):
        assert page.request.get(url).ok, url  # served until forgotten

    page.get_by_role("button", name="Forget my history").click()
    note = page.locator("#forget-note")
    expect(note).to_have_text("Forgot 2 generations from this browser and the server; links you shared still work.")
    expect(page.locator("#history .thumbnail-item")).to_have_count(0)
    assert saved_entries(page, secret, 0) == []
    # What is on screen stays: the results shown (and their files) and the form.
    assert shown_results(page, 1) == shown
    expect(page.locator("#prompt textarea")).to_have_value("a draft the visitor is still writing")
    shot(page, "06-forgotten-1280")
    page.set_viewport_size(PHONE)
    shot(page, "07-forgotten-375")
    page.set_viewport_size({"width": 1280, "height": 900})

    # The forgotten files are no longer served (Gradio refuses a file its cache does not hold): the copy a reload
    # made, and the results as first made.
    for url in (first_kept, *first_made):
        assert page.request.get(url).status in (403, 404), url

    page.reload()
    history_entries(page, 0)
    assert saved_entries(page, secret, 0) == []
    page.get_by_role("button", name="Forget my history").click()  # nothing left: said so, no error
    expect(page.locator("#forget-note")).to_have_text("Your history is already empty: there was nothing to forget.")
    expect(page.locator("[data-testid=toast-body].error")).to_have_count(0)

    # The generation shared before still opens, with its image, for anyone.
    stranger = fresh(browser)
    shared = stranger.new_page()
    shared.goto(link)
    expect(shared.locator("#prompt")).to_have_text(SECOND)
    images = shared.locator(".grid img")
    expect(images).to_have_count(1)
    assert shared.request.get(images.first.evaluate("i => i.src")).ok
    stranger.close()
