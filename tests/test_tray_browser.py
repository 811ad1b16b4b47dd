"""The reference tray in a real browser (issue 12): paste, drop, Image 1..N in the order sent, "image N" into the
prompt, reorder and remove, and each reference's preflight.

Reuses test_browser.py's app, browser and helpers. What reaches the API is read from the stand-in's request log;
uploads are sent byte for byte (small PNGs), so each data URI is compared with the file it came from. Screenshots
at 1280 and 375 px go to test-artifacts/tray/.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.sync_api import BrowserContext, Locator, Page, expect

from seedream_ui.references import prepare_reference
from seedream_ui.stub_api import StubServer
from tests.images import flat_png, write
from tests.support import ARTIFACTS, DESKTOP, RunningApp, screenshot
from tests.test_browser import (  # noqa: F401 - the fixtures are used by name
    PHONE,
    SMALL_PRESET,
    app,
    expect_reference_count,
    generate,
    open_accordion,
    pick_size,
    stand_in,
    type_prompt,
    upload,
)

pytestmark = pytest.mark.browser

SHOTS = ARTIFACTS / "tray"


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small distinct PNGs; a large one (sent downscaled) and one Seedream refuses (too thin)."""
    folder = tmp_path_factory.mktemp("tray")
    files = {}
    for name, colour in (("red", (220, 40, 40)), ("green", (40, 180, 60)), ("blue", (40, 80, 220))):
        files[name] = folder / f"{name}.png"
        Image.new("RGB", (96, 64), colour).save(files[name])
    files["large"] = write(folder, "large.png", flat_png(7000, 6000, "L"))  # 42 MP, tiny on disk
    files["thin"] = folder / "thin.png"
    Image.new("RGB", (300, 10), (0, 0, 0)).save(files["thin"])
    return files


def tray(page: Page) -> Locator:
    return page.locator("#reference-tray .tray-item")


def expect_tray(page: Page, names: list[str]) -> None:
    """The tray lists these references, numbered Image 1..N in this order."""
    expect(tray(page)).to_have_count(len(names))
    expect(tray(page).locator(".tray-name")).to_have_text(names)
    expect(tray(page).locator(".tray-number")).to_have_text([f"Image {n}" for n in range(1, len(names) + 1)])


def settled(page: Page, count: int) -> None:
    """The gallery's label counts every reference, uploads and URLs."""
    expect(page.locator("#references").get_by_text(f"Reference images ({count} / 14)")).to_be_visible()


def sent_images(stand_in: StubServer) -> list[bytes]:
    (request,) = stand_in.requests()
    return [base64.b64decode(uri.split(",", 1)[1]) for uri in request["body"]["image"]]


def pixels(png: bytes) -> bytes:
    return Image.open(io.BytesIO(png)).convert("RGB").tobytes()


def shots(page: Page, name: str) -> None:
    """The tray as a visitor sees it, at desktop and at phone width."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, viewport in (("1280", DESKTOP), ("375", PHONE)):
        page.set_viewport_size(viewport)  # type: ignore[arg-type]  # a ViewportSize dict
        page.locator("#reference-tray").screenshot(path=str(SHOTS / f"{name}-{label}.png"))
        widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], f"the page scrolls sideways at {label} px: {widths}"
    page.set_viewport_size(DESKTOP)  # type: ignore[arg-type]


# ---- adding ------------------------------------------------------------------------------------------


def paste_image(context: BrowserContext, page: Page, picture: Path) -> None:
    """Copy `picture` to the clipboard and press Ctrl+V with the focus on the page, outside any text field."""
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.evaluate(
        """async (b64) => {
            const blob = await (await fetch('data:image/png;base64,' + b64)).blob();
            await navigator.clipboard.write([new ClipboardItem({'image/png': blob})]);
        }""",
        base64.b64encode(picture.read_bytes()).decode(),
    )
    page.locator("#header").click()
    page.keyboard.press("Control+V")


def test_an_image_pasted_from_the_clipboard_is_added_and_text_still_pastes(
    context: BrowserContext, page: Page, pictures: dict[str, Path]
) -> None:
    paste_image(context, page, pictures["red"])
    expect_tray(page, ["pasted-1.png"])
    expect_reference_count(page, 1)
    expect(tray(page).first).to_contain_text("PNG · 96x64")

    # With text on the clipboard, Ctrl+V in the prompt pastes the text, and adds nothing.
    page.evaluate("() => navigator.clipboard.writeText('a red kite')")
    page.locator("#prompt textarea").click()
    page.keyboard.press("Control+V")
    expect(page.locator("#prompt textarea")).to_have_value("a red kite")
    expect_tray(page, ["pasted-1.png"])


REFERENCES = "Edit or combine images (optional)"


def test_an_image_pasted_while_the_references_are_collapsed_opens_them_and_is_sent(
    context: BrowserContext, page: Page, stand_in: StubServer, pictures: dict[str, Path]
) -> None:
    header = page.locator("button.label-wrap", has_text=REFERENCES)
    header.click()  # the visitor folds the references away
    expect(page.locator("#references")).to_be_hidden()

    paste_image(context, page, pictures["red"])

    expect(page.locator("#references")).to_be_visible()  # opened, so the visitor sees what the paste did
    expect_reference_count(page, 1)
    expect(page.locator("#references .thumbnail-item").first).to_be_visible()
    expect_tray(page, ["pasted-1.png"])
    screenshot(page, SHOTS / "03-pasted-while-collapsed.png")

    # Gradio's own state followed the click: folding and opening again works as before, the reference stays.
    header.click()
    expect(page.locator("#references")).to_be_hidden()
    open_accordion(page, REFERENCES)
    expect_reference_count(page, 1)

    type_prompt(page, "a red swatch")
    pick_size(page, SMALL_PRESET)
    generate(page)
    # The clipboard holds the picture, not the file (Chromium encodes it again): the pixels are what is compared.
    (sent,) = sent_images(stand_in)
    assert pixels(sent) == pixels(pictures["red"].read_bytes())


def drop(page: Page, target: str, picture: Path) -> None:
    """Drop `picture` as a file from the desktop onto the element `target`, found at the moment of the drop."""
    page.locator(target).first.wait_for(state="attached")
    page.evaluate(
        """async ([b64, name, target]) => {
            const blob = await (await fetch('data:image/png;base64,' + b64)).blob();
            const transfer = new DataTransfer();
            transfer.items.add(new File([blob], name, {type: 'image/png'}));
            const element = document.querySelector(target);
            for (const type of ['dragenter', 'dragover', 'drop'])
                element.dispatchEvent(new DragEvent(type, {dataTransfer: transfer, bubbles: true, cancelable: true}));
        }""",
        [base64.b64encode(picture.read_bytes()).decode(), picture.name, target],
    )


def test_images_dropped_on_the_reference_area_are_added_once_after_the_earlier_ones(
    page: Page, pictures: dict[str, Path]
) -> None:
    drop(page, "#references", pictures["green"])  # the empty gallery: Gradio's own drop zone is there too
    expect_tray(page, ["green.png"])
    expect_reference_count(page, 1)
    drop(page, "#reference-tray", pictures["red"])  # the tray (its items are redrawn after each change)
    expect_tray(page, ["green.png", "red.png"])  # a second upload of green.png would show here
    expect_reference_count(page, 2)


# ---- order, "image N", remove ------------------------------------------------------------------------


def test_reordered_references_are_sent_in_the_new_order(
    page: Page, stand_in: StubServer, pictures: dict[str, Path]
) -> None:
    upload(page, [pictures["red"], pictures["green"]])
    page.locator("#reference-urls textarea").fill("https://example.com/cat.jpg")
    expect_tray(page, ["red.png", "green.png", "https://example.com/cat.jpg"])
    settled(page, 3)
    expect(tray(page).nth(2)).to_contain_text("example.com")
    expect(tray(page).nth(2)).to_contain_text("fetched by the API, not checked here")
    expect(tray(page).nth(2).locator("img")).to_have_count(0)  # a URL is never loaded, by the server or here

    page.get_by_role("button", name="Move image 2 earlier").click()
    expect_tray(page, ["green.png", "red.png", "https://example.com/cat.jpg"])
    shots(page, "01-three-references")

    type_prompt(page, "the cat of image 3 in the colours of image 1")
    pick_size(page, SMALL_PRESET)
    generate(page)
    (request,) = stand_in.requests()
    images = request["body"]["image"]
    assert images[2] == "https://example.com/cat.jpg"
    assert [base64.b64decode(uri.split(",", 1)[1]) for uri in images[:2]] == [
        pictures["green"].read_bytes(),
        pictures["red"].read_bytes(),
    ]


def test_a_number_writes_image_n_at_the_cursor_and_the_prompt_sent_has_it(
    page: Page, stand_in: StubServer, pictures: dict[str, Path]
) -> None:
    upload(page, [pictures["red"], pictures["green"]])
    expect_tray(page, ["red.png", "green.png"])
    prompt = page.locator("#prompt textarea")
    type_prompt(page, "Put the hat from on the cat of image 1")
    prompt.evaluate("(box) => { box.focus(); box.setSelectionRange(17, 17); }")  # after "Put the hat from "

    tray(page).nth(1).get_by_role("button", name="Write “image 2” into the prompt").click()

    expect(prompt).to_have_value("Put the hat from image 2 on the cat of image 1")
    assert prompt.evaluate("(box) => box.selectionStart") == len("Put the hat from image 2 ")
    pick_size(page, SMALL_PRESET)
    generate(page)
    (request,) = stand_in.requests()
    assert request["body"]["prompt"] == "Put the hat from image 2 on the cat of image 1"


def test_a_removed_reference_is_not_sent(page: Page, stand_in: StubServer, pictures: dict[str, Path]) -> None:
    upload(page, [pictures["red"], pictures["green"], pictures["blue"]])
    expect_tray(page, ["red.png", "green.png", "blue.png"])
    expect_reference_count(page, 3)

    page.get_by_role("button", name="Remove image 1").click()

    expect_tray(page, ["green.png", "blue.png"])
    expect_reference_count(page, 2)
    type_prompt(page, "two swatches")
    pick_size(page, SMALL_PRESET)
    generate(page)
    assert sent_images(stand_in) == [pictures["green"].read_bytes(), pictures["blue"].read_bytes()]


# ---- preflight ---------------------------------------------------------------------------------------


def test_each_reference_shows_its_preflight(page: Page, pictures: dict[str, Path]) -> None:
    prepared = prepare_reference(pictures["large"])  # the size sending brings it to

    upload(page, [pictures["red"], pictures["large"], pictures["thin"]])
    page.locator("#reference-urls textarea").fill('https://example.com/a.jpg"><b id=injected>x</b>')

    expect_tray(page, ["red.png", "large.png", "thin.png", 'https://example.com/a.jpg"><b id=injected>x</b>'])
    expect(tray(page).nth(0)).to_contain_text("PNG · 96x64")
    expect(tray(page).nth(0)).to_contain_text("sent as it is")
    expect(tray(page).nth(1)).to_contain_text("PNG · 7000x6000")
    expect(tray(page).nth(1)).to_contain_text(f"will be downscaled to {prepared.width}x{prepared.height}")
    expect(tray(page).nth(2)).to_contain_text(
        "✗ Refused: thin.png is 300x10 pixels; Seedream needs each side to be at least 15 pixels."
    )
    expect(tray(page).nth(3)).to_contain_text("✗ Refused:")
    expect(tray(page).nth(3)).to_contain_text("contains spaces")
    expect(page.locator("#injected")).to_have_count(0)  # names and URLs are text, never markup
    shots(page, "02-preflight")


# ---- forged requests ---------------------------------------------------------------------------------


def test_forged_tray_requests_change_nothing_and_tell_nothing(app: RunningApp) -> None:
    """What a script could send instead of the page: the tray's events with made-up values."""
    config = httpx.get(app.url + "config", timeout=30).json()
    ids = {d.get("api_name"): d["id"] for d in config["dependencies"]}

    def run(name: str, data: list[object], event_data: object = None) -> httpx.Response:
        body = {"data": data, "event_data": event_data, "fn_index": ids[name], "session_hash": "forged"}
        return httpx.post(app.url + "gradio_api/run/predict", json=body, timeout=30)

    urls = "https://example.com/a.jpg\nhttps://example.com/b.jpg"
    for forged in ({"op": "remove", "index": 7, "key": "x"}, {"op": "earlier", "index": 1}, "remove", [1], None):
        answer = run("on_tray_action", [[], urls], forged)
        assert answer.status_code == 200, answer.text
        # The uploads and the URL box are left as they are (a State output that is skipped comes back as null).
        assert answer.json()["data"] == [{"__type__": "update"}, None, {"__type__": "update"}]
    outside = {"image": {"path": "/etc/hostname", "meta": {"_type": "gradio.FileData"}}, "caption": None}
    answer = run("on_tray_change", [[outside], ""])
    assert answer.status_code != 200 and "Traceback" not in answer.text  # Gradio refuses files outside its uploads
    assert Path("/etc/hostname").read_text().strip() not in answer.text  # nothing of the file was read out
