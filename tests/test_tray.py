"""The reference tray's rules (issue 12): numbering in the order sent, preflight from the header, and actions that
change the references only when they name one as the server has it."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageFile

from seedream_ui import tray
from seedream_ui.references import MAX_REQUEST_DECODE_PIXELS, prepare_reference
from tests.images import encode, flat_png, image_file, solid, with_orientation, write

URL = "https://cdn.example.com/photos/cat.jpg"


@pytest.fixture
def two(tmp_path: Path) -> list[str]:
    return [str(image_file(tmp_path / "a.png")), str(image_file(tmp_path / "b.png", colour=(1, 2, 3)))]


def action(items: list[dict[str, object]], number: int, op: str) -> dict[str, object]:
    """What the browser sends when the visitor clicks `op` on Image `number`."""
    item = items[number - 1]
    return {"op": op, "index": item["index"], "key": item["key"]}


# ---- preflight --------------------------------------------------------------------------------------


def test_an_acceptable_file_is_sent_as_it_is(tmp_path: Path) -> None:
    check = tray.preflight_file(str(image_file(tmp_path / "small.png")))
    assert (check.facts, check.note, check.refused) == ("PNG · 64x48", "sent as it is", False)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("huge.png", flat_png(7000, 6000, "L")),  # 42 MP: over the API's 36 MP
        ("huge.jpg", encode(Image.new("L", (7000, 6000), 90), "jpeg")),  # decoded at half scale: 3500x3000
    ],
)
def test_a_large_image_says_the_size_the_send_path_brings_it_to(tmp_path: Path, name: str, data: bytes) -> None:
    path = write(tmp_path, name, data)

    check = tray.preflight_file(str(path))
    prepared = prepare_reference(path)  # what sending does

    assert check.facts.endswith("· 7000x6000")
    assert check.note == f"will be downscaled to {prepared.width}x{prepared.height}"
    assert not check.refused


def test_the_preflight_never_decodes_an_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "huge.png", flat_png(7000, 6000, "L"))

    def no_decoding(self: object) -> None:
        raise AssertionError("the preflight decoded an image")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    assert tray.preflight_file(str(path)).note.startswith("will be downscaled to ")


def test_a_rotated_photo_is_described_upright_and_reencoded(tmp_path: Path) -> None:
    path = write(tmp_path, "phone.jpg", with_orientation(solid((80, 40)), 6))
    check = tray.preflight_file(str(path))
    assert (check.facts, check.note) == ("JPEG · 40x80", "will be re-encoded before sending")


@pytest.mark.parametrize(
    ("size", "why"),
    [((300, 10), "at least 15 pixels"), ((2000, 100), "an aspect ratio of 20:1; Seedream accepts 1:16 to 16:1")],
)
def test_an_image_the_api_refuses_says_why(tmp_path: Path, size: tuple[int, int], why: str) -> None:
    check = tray.preflight_file(str(image_file(tmp_path / "odd.png", size)))
    assert check.refused and why in check.note and check.note.startswith("odd.png is ")


def test_a_file_that_is_no_image_is_refused(tmp_path: Path) -> None:
    check = tray.preflight_file(str(write(tmp_path, "notes.png", b"just some text")))
    assert check.refused and "is not an image Seedream accepts" in check.note


def test_a_url_is_never_checked_here_only_named() -> None:
    assert tray.preflight_url(URL) == tray.Preflight("cdn.example.com", tray.URL_NOTE)
    refused = tray.preflight_url("ftp://example.com/a.png")
    assert refused.refused and "is not an http:// or https:// URL" in refused.note


# ---- the numbered tray ------------------------------------------------------------------------------


def test_uploads_come_first_then_urls_in_line_order(two: list[str]) -> None:
    items = tray.entries(two, f"\n  {URL}  \n\nhttps://example.org/b.png\n")

    assert [(i["number"], i["name"], i["upload"]) for i in items] == [
        (1, "a.png", True), (2, "b.png", True), (3, URL, False), (4, "https://example.org/b.png", False),
    ]  # fmt: skip
    # Moving never crosses from uploads to URLs: they are always sent first.
    assert [(i["first"], i["last"]) for i in items] == [(True, False), (False, True), (True, False), (False, True)]
    assert items[0]["thumb"] == "/gradio_api/file=" + two[0] and items[2]["thumb"] == ""
    assert items[2]["facts"] == "cdn.example.com" and items[2]["note"] == tray.URL_NOTE


def test_more_than_14_references_are_marked(two: list[str]) -> None:
    items = tray.entries(two * 7, URL)
    assert [i["refused"] for i in items] == [False] * 14 + [True]
    assert "at most 14" in items[14]["note"]


def test_the_image_that_brings_a_request_over_its_decode_cap_is_refused(tmp_path: Path) -> None:
    huge = str(write(tmp_path, "huge.png", flat_png(7000, 6000, "L")))
    count = MAX_REQUEST_DECODE_PIXELS // (7000 * 6000) + 1

    items = tray.entries([huge] * count, "")

    assert [i["refused"] for i in items] == [False] * (count - 1) + [True]
    assert "at most 400 are decoded per request" in items[-1]["note"]


# ---- actions ------------------------------------------------------------------------------------------


def test_remove_and_reorder_uploads(two: list[str]) -> None:
    items = tray.entries(two, URL)
    assert tray.apply(two, URL, action(items, 2, "earlier")) == ([two[1], two[0]], URL)
    assert tray.apply(two, URL, action(items, 1, "later")) == ([two[1], two[0]], URL)
    assert tray.apply(two, URL, action(items, 1, "remove")) == ([two[1]], URL)


def test_remove_and_reorder_urls_rewrites_the_url_box_in_the_new_order(two: list[str]) -> None:
    text = f"{URL}\n\n https://example.org/b.png"
    items = tray.entries(two, text)
    assert tray.apply(two, text, action(items, 4, "earlier")) == (two, f"https://example.org/b.png\n{URL}")
    assert tray.apply(two, text, action(items, 3, "remove")) == (two, "https://example.org/b.png")


def test_uploads_and_urls_do_not_swap_places(two: list[str]) -> None:
    items = tray.entries(two, URL)
    assert tray.apply(two, URL, action(items, 2, "later")) is None
    assert tray.apply(two, URL, action(items, 3, "earlier")) is None
    assert tray.apply(two, URL, action(items, 1, "earlier")) is None


@pytest.mark.parametrize(
    "forged",
    [
        None, "remove", [0], {}, {"op": "remove"}, {"op": "delete", "index": 0},
        {"op": "remove", "index": 5}, {"op": "remove", "index": -1}, {"op": "remove", "index": True},
        {"op": "remove", "index": "0"}, {"op": "remove", "index": 0.0}, {"op": "remove", "index": 0, "key": "x"},
    ],
)  # fmt: skip
def test_a_forged_or_malformed_action_changes_nothing(two: list[str], forged: object) -> None:
    assert tray.apply(two, URL, forged) is None


def test_a_stale_action_names_what_is_no_longer_there_and_changes_nothing(two: list[str]) -> None:
    stale = action(tray.entries(two, ""), 1, "remove")  # clicked twice: the first click removed a.png
    assert tray.apply(two[1:], "", stale) is None
