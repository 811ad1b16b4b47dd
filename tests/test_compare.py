"""Compare's choices and starting pair (compare.py), without a browser: what is offered, what the slider starts
with, and that only the session's own results and uploads can ever be named."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import gradio as gr
import pytest

from seedream_ui import compare
from seedream_ui import generation as gen
from seedream_ui.backend import Backend
from seedream_ui.client import SeedreamClient
from seedream_ui.compare import Roots
from seedream_ui.config import Settings
from seedream_ui.shares.recipe import Recipe, UploadReference, UrlReference
from seedream_ui.ui import build_demo
from seedream_ui.ui_compare import slider_value
from tests.images import image_file

T0 = datetime(2026, 11, 29, 14, 30, 5)


@pytest.fixture
def roots(tmp_path: Path) -> Roots:
    (tmp_path / "results").mkdir()
    (tmp_path / "uploads").mkdir()
    return Roots(results=tmp_path / "results", uploads=tmp_path / "uploads")


def made(roots: Roots, minute: int, results: int = 1, uploads: int = 0, recipe: Recipe | None = None) -> gen.Generation:
    """A generation made `minute` minutes after T0, with its result and upload files on disk."""
    created = T0 + timedelta(minutes=minute)
    folder = roots.results / f"gen-{minute}"
    folder.mkdir()
    files = tuple(image_file(folder / f"seedream-{k}.png") for k in range(1, results + 1))
    refs = tuple(str(image_file(roots.uploads / f"ref-{minute}-{k}.png")) for k in range(1, uploads + 1))
    return gen.Generation(created, f"prompt {minute}", "2K", files, "✓", recipe=recipe, uploads=refs)


def labels(listed: list[compare.Choice]) -> list[str]:
    return [c.label for c in listed]


def test_before_any_generation_nothing_is_offered_and_the_hint_says_so(roots: Roots) -> None:
    for shown, history in ((None, []), (None, None), ({"files": ["/etc/passwd"]}, "junk")):
        listed = compare.choices(shown, history, roots)
        assert listed == []
        assert compare.default_pair(shown, history, None, listed) == (None, None)
        assert compare.hint(listed) == compare.NOTHING_YET


def test_a_result_with_references_starts_against_reference_1_and_offers_everything(roots: Roots) -> None:
    older = made(roots, 0)
    shown = made(roots, 1, results=2, uploads=2)
    history = [shown, older]
    listed = compare.choices(shown, history, roots)
    assert labels(listed) == [
        "Result 1 of 2", "Result 2 of 2", "Image 1 (reference)", "Image 2 (reference)", "14:30:05 · result 1",
    ]  # fmt: skip
    assert compare.default_pair(shown, history, None, listed) == ("reference|1", "result|1")
    assert compare.default_pair(shown, history, 1, listed) == ("reference|1", "result|2")  # the selected one
    assert compare.hint(listed) == ""
    left, right = slider_value("reference|1", "result|2", listed) or ("", "")
    assert Path(left) == Path(shown.uploads[0]).resolve() and Path(right) == shown.files[1].resolve()


def test_without_references_a_result_starts_against_the_previous_generation(roots: Roots) -> None:
    first, second, third = made(roots, 0), made(roots, 1), made(roots, 2)
    history = [third, second, first]
    listed = compare.choices(third, history, roots)
    assert labels(listed) == ["Result 1 of 1", "14:31:05 · result 1", "14:30:05 · result 1"]
    assert compare.default_pair(third, history, None, listed) == (f"history|{second.created.isoformat()}|1", "result|1")
    # An earlier one shown again (History): the one made before it, and for the first, the newest other.
    assert compare.default_pair(second, history, None, compare.choices(second, history, roots))[0] == (
        f"history|{first.created.isoformat()}|1"
    )
    assert compare.default_pair(first, history, None, compare.choices(first, history, roots))[0] == (
        f"history|{third.created.isoformat()}|1"
    )


def test_a_first_sequence_compares_its_own_results_and_a_single_first_image_has_nothing_to_compare(
    roots: Roots,
) -> None:
    sequence = made(roots, 0, results=3)
    listed = compare.choices(sequence, [sequence], roots)
    assert compare.default_pair(sequence, [sequence], None, listed) == ("result|2", "result|1")
    assert compare.default_pair(sequence, [sequence], 1, listed) == ("result|1", "result|2")

    single = made(roots, 1)
    listed = compare.choices(single, [single], roots)
    assert labels(listed) == ["Result 1 of 1"]
    assert compare.default_pair(single, [single], None, listed) == (None, "result|1")
    assert compare.hint(listed) == compare.ONE_IMAGE
    assert slider_value(None, "result|1", listed) is None


def test_reference_numbers_follow_the_order_sent_with_urls_among_them(roots: Roots) -> None:
    recipe = Recipe(
        prompt="p",
        references=(UrlReference("https://example.com/a.png"), UploadReference("b.png"), UploadReference("c.png")),
    )
    shown = made(roots, 0, uploads=2, recipe=recipe)
    assert labels(compare.choices(shown, [shown], roots))[1:] == ["Image 2 (reference)", "Image 3 (reference)"]
    # A recipe that does not match the uploads (kept elsewhere, edited): uploads are numbered 1..N.
    odd = made(roots, 1, uploads=2, recipe=Recipe(prompt="p", references=(UploadReference("b.png"),)))
    assert labels(compare.choices(odd, [odd], roots))[1:] == ["Image 1 (reference)", "Image 2 (reference)"]


def test_only_the_sessions_own_results_and_uploads_can_be_named(roots: Roots, tmp_path: Path) -> None:
    outside = image_file(tmp_path / "elsewhere.png")
    linked = roots.uploads / "link.png"
    os.symlink(outside, linked)  # inside the uploads folder by name, outside it in fact
    gone = roots.results / "gone.png"
    shown = gen.Generation(
        T0, "p", "2K", (outside, gone, *made(roots, 1).files), "✓",
        uploads=(str(outside), str(linked), "/etc/hostname", str(roots.uploads / ".." / "results")),
    )  # fmt: skip
    listed = compare.choices(shown, [shown], roots)
    assert labels(listed) == ["Result 3 of 3"]  # neither a file elsewhere, a link out, a missing file nor a folder
    for forged in (str(outside), "/etc/hostname", "result|1", "result|9", "reference|1", ["result|3"], 3, None):
        assert compare.resolve(forged, listed) is None
    assert slider_value("result|3", str(outside), listed) is None


def test_a_key_for_a_generation_no_longer_in_the_history_finds_nothing(roots: Roots) -> None:
    old, new = made(roots, 0), made(roots, 1)
    stale = f"history|{old.created.isoformat()}|1"
    assert compare.resolve(stale, compare.choices(new, [new, old], roots)) == old.files[0].resolve()
    assert compare.resolve(stale, compare.choices(new, [new], roots)) is None  # dropped from the history
    old.files[0].unlink()
    assert compare.resolve(stale, compare.choices(new, [new, old], roots)) is None  # aged out


def test_a_clicked_result_goes_on_the_right_and_the_chosen_left_stays(roots: Roots) -> None:
    older = made(roots, 0)
    shown = made(roots, 1, results=3, uploads=1)
    history = [shown, older]
    listed = compare.choices(shown, history, roots)
    earlier = f"history|{older.created.isoformat()}|1"
    assert compare.pair_after_select(earlier, 2, shown, history, listed) == (earlier, "result|3")
    # The left was the image clicked, or is no longer on offer: it goes back to the default.
    assert compare.pair_after_select("result|3", 2, shown, history, listed) == ("reference|1", "result|3")
    assert compare.pair_after_select("history|forged|1", 0, shown, history, listed) == ("reference|1", "result|1")
    for index in (3, -1, True, "1", None):  # stale or forged clicks change nothing
        assert compare.pair_after_select(earlier, index, shown, history, listed) is None


def test_the_pages_handlers_show_a_pair_only_for_keys_on_offer(tmp_path: Path) -> None:
    settings = Settings(api_key="sk-compare-test", api_url="http://api.invalid/v3/seedream-4.5", max_retries=0)
    backend = Backend(settings, SeedreamClient.from_settings(settings), tmp_path / "results")
    backend.output_root.mkdir()
    handlers = {f.fn.__name__: f.fn for f in build_demo(settings, backend).fns.values() if f.fn is not None}
    on_pick, on_result_click = handlers["on_pick"], handlers["on_result_click"]
    shown = made(Roots(results=backend.output_root, uploads=tmp_path), 0, results=2)

    left, right = on_pick("result|1", "result|2", shown, [shown])
    assert [Path(left), Path(right)] == [f.resolve() for f in shown.files]
    stranger = str(image_file(tmp_path / "stranger.png"))  # not a result of this session: never shown
    for forged in (stranger, "/etc/passwd", "result|3", "history|2026-01-01T00:00:00|1", None, 7, ["result|1"]):
        assert on_pick(forged, "result|2", shown, [shown]) == gr.skip()
        assert on_pick("result|1", forged, shown, [shown]) == gr.skip()
    assert on_pick("result|1", "result|2", None, []) == gr.skip()  # the session has no generation (a new tab)
    for index in (2, -1, "0", None, [0]):
        event = gr.SelectData(None, {"index": index, "value": None, "selected": True})
        assert on_result_click("result|1", shown, [shown], event) == gr.skip()
