"""Forget my history (issue 11), without a browser: the store deletes a visitor's private entries and their
files and nothing else (never a share, not even one made from an entry), and the page finds the cache folders
that serve a forgotten history while leaving what is on screen."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from seedream_ui import generation as gen
from seedream_ui.history_entries import (
    ForgetMarks,
    folders_in_use,
    forgot_message,
    forgotten_count,
    restored_folder,
    served_folders,
)
from seedream_ui.shares import History, ShareStore
from tests.shares_fixtures import clock, store  # noqa: F401  (fixtures of this module only)
from tests.shares_support import publish
from tests.test_shares_history import generation

STAMP = "20261129-153012"  # the stamp tests.test_shares_history.generation names its results with


@pytest.fixture
def history(store: ShareStore) -> History:
    return History(store)


@pytest.fixture
def output_root(tmp_path: Path) -> Path:
    root = tmp_path / "cache" / "seedream-ui-x"
    root.mkdir(parents=True)
    return root


def kept(history: History, folder: Path, prompt: str = "a lighthouse at dusk") -> tuple[str, list[Path]]:
    results, recipe, uploads = generation(folder, prompt)
    return history.keep(results, recipe, uploads, "addr-1"), results


def page_generation(results: list[Path], when: str = "2026-11-29T15:30:12") -> gen.Generation:
    return gen.Generation(created=datetime.fromisoformat(when), prompt="p", size="2K", files=tuple(results), status="")


def test_forgetting_deletes_the_entries_and_their_files_and_leaves_the_others(history: History,
                                                                              tmp_path: Path) -> None:  # fmt: skip
    one, _ = kept(history, tmp_path / "a", "one")
    two, _ = kept(history, tmp_path / "b", "two")
    other, _ = kept(history, tmp_path / "c", "another tab's")
    folders = [entry.folder for entry in history.entries([one, two]).values()]

    assert history.forget([one, two, one]) == 2
    assert history.entries([one, two]) == {}
    assert not any(folder.exists() for folder in folders)
    assert history.entries([other])  # an entry the browser did not name stays
    assert history.forget([one, two]) == 0  # forgetting again is no error


def test_forgetting_never_deletes_a_share_nor_one_made_from_an_entry(history: History, store: ShareStore,
                                                                     tmp_path: Path) -> None:  # fmt: skip
    entry_id, results = kept(history, tmp_path / "a")
    from_entry = history.publish(entry_id, "addr-1")
    assert from_entry is not None
    plain = publish(store)

    # The browser's list may hold anything: shares' ids, malformed and hostile values delete nothing.
    assert history.forget([plain.id, from_entry.id, "A" * 22, "../../etc", "x" * 5000, "ünï", ""]) == 0
    assert history.forget([entry_id]) == 1

    for published in (from_entry, plain):
        share = store.get(published.id)
        assert share is not None
        paths = [share.image_path(n) for n in range(1, len(share.images) + 1)]
        assert all(path is not None and path.is_file() for path in paths)
    share = store.get(from_entry.id)
    assert share is not None and share.image_path(1).read_bytes() == results[0].read_bytes()  # type: ignore[union-attr]


def test_an_empty_history_forgets_nothing(history: History) -> None:
    assert history.forget([]) == 0
    assert forgotten_count([], None) == 0
    assert forgot_message(0, True) == "Your history is already empty: there was nothing to forget."


def test_the_cache_folders_serving_a_history_are_found_and_nothing_else(history: History, output_root: Path,
                                                                        tmp_path: Path) -> None:  # fmt: skip
    # An earlier visit wrote its results to the cache and kept them (linked) as an entry; a reload linked them
    # into a restored copy. Another visitor generated in the same second: same names, other files.
    earlier = output_root / f"{STAMP}-{'a' * 32}"
    entry_id, _ = kept(history, earlier)
    restored = restored_folder(output_root, entry_id)
    restored.mkdir()
    stranger = output_root / f"{STAMP}-{'b' * 32}"
    generation(stranger, "a stranger's")  # the same bytes even: another file
    this_tab = output_root / f"{STAMP}-{'c' * 32}"
    tab_results, _, _ = generation(this_tab, "made in this tab")
    outside = tmp_path / "elsewhere"
    outside_results, _, _ = generation(outside)

    found = served_folders(output_root, [page_generation(tab_results), page_generation(outside_results)],
                           history.entries([entry_id]))  # fmt: skip

    assert found == {earlier, restored, this_tab}
    assert stranger not in found and outside not in found


def test_what_is_on_screen_is_in_use(tmp_path: Path) -> None:
    shown = page_generation([tmp_path / "shown" / "seedream-1.png"])
    references = [str(tmp_path / "refs" / "cat.png"), 42, None]
    assert folders_in_use(shown, references) == {(tmp_path / "shown").resolve(), (tmp_path / "refs").resolve()}
    assert folders_in_use(None, "not a list") == set()


def test_the_count_takes_each_generation_once_and_the_message_says_what_happened(tmp_path: Path) -> None:
    tab = [page_generation([tmp_path / "x.png"], "2026-11-29T15:30:12"),
           page_generation([tmp_path / "y.png"], "2026-11-29T15:31:00")]  # fmt: skip
    saved = [{"id": "i" * 22, "made": "2026-11-29T15:30:12", "caption": ""},  # the same as the tab's first
             {"id": "j" * 22, "made": "2026-11-28T09:00:00", "caption": ""}, "junk"]  # fmt: skip
    assert forgotten_count(tab, saved) == 3
    assert forgot_message(1, True) == "Forgot 1 generation from this browser and the server; links you shared still work."
    assert forgot_message(3, False) == "Forgot 3 generations from this tab."


def test_a_keep_under_way_when_the_session_forgot_is_told_to_drop_its_entries() -> None:
    now = [100.0]
    marks = ForgetMarks(keep_s=60.0, clock=lambda: now[0])
    started = marks.now()
    now[0] += 1
    marks.mark("tab-1")
    assert marks.since("tab-1", started)  # forgotten after the keep began: it must not come back
    assert not marks.since("tab-2", started)  # another session is not concerned
    assert not marks.since("tab-1", marks.now() + 1)  # a generation after the forget is kept as usual
    marks.mark(None)
    assert not marks.since(None, started)  # no session, no mark
    now[0] += 61
    marks.mark("tab-2")
    assert not marks.since("tab-1", started)  # old marks go
