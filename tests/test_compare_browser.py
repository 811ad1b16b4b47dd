"""Compare in a real browser (issue 12): the slider shows a result against the reference it edited, or any two
images of the session, as a visitor picks them.

Reuses test_browser.py's app and helpers. Screenshots at 1280 and 375 px go to test-artifacts/compare/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.images import gradient
from tests.support import ARTIFACTS, DESKTOP
from tests.test_browser import (  # noqa: F401 - the fixtures are used by name
    PHONE,
    SMALL_PRESET,
    app,
    generate,
    open_accordion,
    pick_size,
    stand_in,
    type_prompt,
    upload,
)

pytestmark = pytest.mark.browser

SHOTS = ARTIFACTS / "compare"

# The slider's two pictures once both are loaded and distinct: [left src, right src], else null.
_SLIDER_SOURCES = """() => {
    const imgs = [...document.querySelectorAll('#compare-slider img')];
    const srcs = imgs.map(i => i.src);
    const loaded = imgs.length === 2 && imgs.every(i => i.complete && i.naturalWidth > 0);
    return loaded && srcs[0] !== srcs[1] ? srcs : null;
}"""


def shots(page: Page, name: str) -> None:
    """The state as a visitor sees it, at desktop and at phone width."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, viewport in (("1280", DESKTOP), ("375", PHONE)):
        page.set_viewport_size({"width": viewport["width"], "height": viewport["height"]})
        page.locator("#compare").scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size({"width": DESKTOP["width"], "height": DESKTOP["height"]})


def slider_sources(page: Page, unlike: list[str] | None = None) -> list[str]:
    """The slider's [left, right] image sources once both have loaded (and differ from `unlike`)."""
    handle = page.wait_for_function(
        f"unlike => {{ const s = ({_SLIDER_SOURCES})(); return s && JSON.stringify(s) !== JSON.stringify(unlike)"
        " ? s : null; }",
        arg=unlike,
    )
    sources: list[str] = handle.json_value()
    return sources


def picked(page: Page, side: str) -> str:
    return page.locator(f"#compare-{side} input").input_value()


def offered(page: Page, side: str) -> list[str]:
    """The labels a picker offers (Gradio marks the chosen one with a tick)."""
    page.locator(f"#compare-{side} input").click()
    labels = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    page.locator(f"#compare-{side} input").blur()  # so that the next click opens the list again
    return [label.strip("✓ \n") for label in labels]


def pick(page: Page, side: str, label: str) -> None:
    page.locator(f"#compare-{side} input").click()
    page.get_by_role("option", name=label, exact=True).click()


def file_name(source: str) -> str:
    return source.rsplit("/", 1)[-1]


def test_compare_a_result_with_its_reference_then_with_an_earlier_result(page: Page, tmp_path: Path) -> None:
    sketch = tmp_path / "sketch.png"
    gradient(360, 480).save(sketch)  # portrait, unlike the 16:9 result: both must still show whole
    pick_size(page, SMALL_PRESET)
    type_prompt(page, "a lighthouse at dusk")
    (first,) = generate(page)

    open_accordion(page, "Compare")
    hint = page.locator("#compare-hint")
    expect(hint).to_contain_text("Only one image so far")
    expect(page.locator("#compare-slider img")).to_have_count(0)
    shots(page, "00-one-image")

    type_prompt(page, "the same lighthouse, as an oil painting of the sketch")
    upload(page, [sketch])
    (second,) = generate(page)
    # Edited with a reference: the reference on the left, the result on the right.
    expect(page.locator("#compare-left input")).to_have_value("Image 1 (reference)")
    expect(page.locator("#compare-right input")).to_have_value("Result 1 of 1")
    expect(hint).to_be_hidden()
    left, right = slider_sources(page)
    assert file_name(right) == file_name(second)
    assert file_name(left) == "sketch.png"  # Gradio's copy of the upload keeps its name
    shots(page, "01-result-and-reference")

    # Any other pair: the earlier generation's result against this one.
    labels = offered(page, "left")
    earlier = [label for label in labels if label.endswith("· result 1")]
    assert len(earlier) == 1, labels  # the first generation; the one shown is offered as "Result 1 of 1"
    assert {"Image 1 (reference)", "Result 1 of 1"} <= set(labels), labels
    pick(page, "left", earlier[0])
    two_results = slider_sources(page, unlike=[left, right])
    assert [file_name(s) for s in two_results] == [file_name(first), file_name(second)]
    shots(page, "02-two-results")

    # And back: the reference on the right.
    pick(page, "right", "Image 1 (reference)")
    now = slider_sources(page, unlike=two_results)
    assert [file_name(s) for s in now] == [file_name(first), "sketch.png"]
    assert picked(page, "left") == earlier[0] and picked(page, "right") == "Image 1 (reference)"

    # A click on a result puts it on the right; the left stays as chosen.
    page.locator("#results .thumbnail-item").first.click()
    expect(page.locator("#compare-right input")).to_have_value("Result 1 of 1")
    assert [file_name(s) for s in slider_sources(page, unlike=now)] == [file_name(first), file_name(second)]
    assert picked(page, "left") == earlier[0]


def test_without_references_a_new_result_is_compared_with_the_previous_one(page: Page) -> None:
    pick_size(page, SMALL_PRESET)
    type_prompt(page, "a harbour at night")
    (first,) = generate(page)
    type_prompt(page, "a harbour at dawn")
    (second,) = generate(page)

    open_accordion(page, "Compare")
    expect(page.locator("#compare-left input")).to_have_value(re.compile(r"^\d\d:\d\d:\d\d · result 1$"))
    expect(page.locator("#compare-right input")).to_have_value("Result 1 of 1")
    shown = slider_sources(page)
    assert [file_name(s) for s in shown] == [file_name(first), file_name(second)]

    # Showing the earlier generation again (History): nothing is older, so it is compared with the newer one.
    open_accordion(page, "History")
    page.locator("#history .thumbnail-item").nth(1).click()
    expect(page.locator("#compare-right input")).to_have_value("Result 1 of 1")
    later = [file_name(s) for s in slider_sources(page, unlike=shown)]
    assert later == [file_name(second), file_name(first)]
