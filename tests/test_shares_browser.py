"""A shared page in real Chromium, served under a root path as behind a proxy: it renders, loads only from
itself, its links resolve under the prefix, and the secret delete link unshares it."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from seedream_ui.shares import ShareLimits, ShareStore, delete_url, share_url
from seedream_ui.shares.page import GONE_TITLE
from tests.shares_support import HOSTILE_PROMPT, FakeClock, publish, serving, share_app
from tests.support import ARTIFACTS

pytestmark = pytest.mark.browser
SHOTS = ARTIFACTS / "shares"
PREFIX = "/tools/seedream"


def test_a_shared_page_in_chromium_behind_a_root_path(browser: Browser, tmp_path: Path) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    store = ShareStore(tmp_path / "data", ShareLimits(), clock=FakeClock())
    published = publish(store, HOSTILE_PROMPT, count=3)
    with serving(share_app(store, PREFIX)) as url:
        root = url + PREFIX
        context = browser.new_context(viewport={"width": 1200, "height": 900})  # no session, as a stakeholder
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("dialog", lambda d: problems.append(f"dialog: {d.message}"))

        page.goto(share_url(root, published.id))
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(SHOTS / "shared-page.png"), full_page=True)

        assert page.locator("#prompt").inner_text() == HOSTILE_PROMPT  # shown as text, never run
        widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.naturalWidth)")
        assert len(widths) == 4 and all(w > 0 for w in widths)  # 3 results and 1 reference thumbnail, all loaded
        assert page.locator("#open-in-editor").evaluate("a => a.href") == f"{root}/?recipe={published.id}"
        assert page.get_by_text("Download all (.zip)").evaluate("a => a.href") == f"{share_url(root, published.id)}/zip"
        with page.expect_download() as download:
            page.get_by_text("Download", exact=True).first.click()
        assert download.value.suggested_filename == "seedream-20261129-153012-1.jpg"
        assert problems == []  # no CSP violation, no script error, no alert from the hostile prompt

        page.goto(delete_url(root, published))
        assert page.locator("#token").input_value() == published.delete_token  # filled from the #fragment
        assert "#" not in page.url  # and taken out of the address bar
        page.screenshot(path=str(SHOTS / "unshare-form.png"))
        page.get_by_role("button", name="Stop sharing").click()
        page.get_by_role("heading", name="No longer shared").wait_for()

        assert problems == []
        response = page.goto(share_url(root, published.id))
        assert response is not None and response.status == 404
        assert page.locator("h1").inner_text() == GONE_TITLE
        page.screenshot(path=str(SHOTS / "gone-page.png"))
        assert page.get_by_text("Make your own").evaluate("a => a.href") == f"{root}/"
        assert problems == ["Failed to load resource: the server responded with a status of 404 (Not Found)"]
        context.close()
    store.close()


