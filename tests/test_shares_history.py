"""History entries in the share store: private rows that are no shares, with limits of their own, the same
retention, an index from before them migrated, and shares made from them linked rather than copied."""

from __future__ import annotations

import base64
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from seedream_ui.shares import History, HistoryLimits, ShareLimits, ShareStore, recipe_from_request
from seedream_ui.shares.models import MB
from seedream_ui.shares.recipe import Recipe
from seedream_ui.shares.schema import SCHEMA
from tests.images import image_bytes
from tests.shares_fixtures import clock, store  # noqa: F401  (fixtures of this module only)
from tests.shares_support import FakeClock, publish, sent_request, sha


@pytest.fixture
def history(store: ShareStore) -> History:
    return History(store)


def generation(folder: Path, prompt: str = "a lighthouse at dusk", colour: int = 90) -> tuple[list[Path], Recipe,
                                                                                                 list[str]]:
    """What the page hands over after a generation: the result files, the recipe, the uploads as sent."""
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    for n, fmt in enumerate(("JPEG", "PNG"), start=1):
        path = folder / f"seedream-20261129-153012-{n}.{'jpg' if fmt == 'JPEG' else 'png'}"
        path.write_bytes(image_bytes(fmt, (96, 64), (colour, 40 * n, 160)))
        results.append(path)
    request = sent_request(prompt)
    upload = folder / "cat.png"
    upload.write_bytes(base64.b64decode(request.images[1].split(",", 1)[1]))
    recipe = recipe_from_request(request, ["https://example.com/ref.jpg", "cat.png"],
                                 datetime(2026, 11, 29, 15, 30, 12, tzinfo=UTC))  # fmt: skip
    return results, recipe, [str(upload)]


def test_an_entry_keeps_the_results_and_uploads_and_is_no_share(history: History, store: ShareStore,
                                                                 tmp_path: Path) -> None:  # fmt: skip
    results, recipe, uploads = generation(tmp_path / "cache")
    entry_id = history.keep(results, recipe, uploads, "addr-1")

    assert store.get(entry_id) is None  # not a /s/ page, not "Open in the editor"
    entry = history.entries([entry_id])[entry_id]
    assert [sha((entry.folder / i.file).read_bytes()) for i in entry.images] == [sha(p.read_bytes()) for p in results]
    assert [(i.format, i.width, i.height) for i in entry.images] == [("jpeg", 96, 64), ("png", 96, 64)]
    [copy] = entry.reference_paths()
    assert copy.read_bytes() == Path(uploads[0]).read_bytes()
    assert entry.recipe.prompt == recipe.prompt
    assert store.usage() == 0 and history.usage("addr-1") > 0  # counted apart from shares


def test_unknown_malformed_and_shared_ids_are_no_entries(history: History, store: ShareStore, tmp_path: Path) -> None:
    shared = publish(store)
    assert history.entries([shared.id, "A" * 22, "../../etc", "x" * 5000, "ünï"]) == {}
    assert history.publish(shared.id) is None


def test_entries_and_shares_have_separate_limits_and_never_evict_each_other(tmp_path: Path, clock: FakeClock) -> None:
    store = ShareStore(tmp_path / "data", ShareLimits(max_bytes_per_visitor=1 * MB, max_bytes=1 * MB), clock=clock)
    one = History(store).keep(*generation(tmp_path / "probe"), "addr-probe")
    assert one
    size = History(store).usage("addr-probe")
    history = History(store, HistoryLimits(max_bytes_per_visitor=int(size * 2.5), max_bytes=1 * MB))
    shared = publish(store, visitor="addr-1")
    kept = []
    for n in range(6):
        clock.advance(seconds=1)
        results, recipe, uploads = generation(tmp_path / f"cache-{n}", f"prompt {n}", colour=30 * n)
        kept.append(history.keep(results, recipe, uploads, "addr-1"))

    alive = history.entries(kept)
    assert len(alive) == 2  # the oldest went first
    assert set(alive) == set(kept[-2:])  # two fit in 2.5 entries' worth
    assert history.usage("addr-1") <= size * 2.5
    assert history.entries([one])  # another visitor's entry stays
    assert store.get(shared.id) is not None  # entries never push out a share
    store.close()


def test_entries_expire_with_the_shares_retention_and_their_files_go(history: History, store: ShareStore,
                                                                     clock: FakeClock, tmp_path: Path) -> None:  # fmt: skip
    results, recipe, uploads = generation(tmp_path / "cache")
    entry_id = history.keep(results, recipe, uploads)
    folder = history.entries([entry_id])[entry_id].folder
    clock.advance(days=30, seconds=1)

    assert history.entries([entry_id]) == {}
    store.purge()
    assert not folder.exists()


def test_sharing_an_entry_links_its_files_into_a_normal_share(history: History, store: ShareStore,
                                                              tmp_path: Path) -> None:  # fmt: skip
    results, recipe, uploads = generation(tmp_path / "cache")
    entry_id = history.keep(results, recipe, uploads, "addr-1")
    entry = history.entries([entry_id])[entry_id]

    published = history.publish(entry_id, "addr-1")
    assert published is not None
    share = store.get(published.id)
    assert share is not None and share.recipe.prompt == recipe.prompt
    for image in share.images:  # the same file on disk, not a second copy
        assert os.stat(share.folder / image.file).st_ino == os.stat(entry.folder / image.file).st_ino
    assert share.thumbnails == (None, "thumb-2.webp")  # made when shared
    assert store.usage("addr-1") > 0

    assert store.unshare(published.id, published.delete_token)
    assert history.entries([entry_id])[entry_id].image_path(1).read_bytes() == results[0].read_bytes()  # type: ignore[union-attr]


def test_an_index_from_before_history_entries_is_migrated_and_its_shares_still_work(tmp_path: Path,
                                                                                    clock: FakeClock) -> None:  # fmt: skip
    store = ShareStore(tmp_path / "data", clock=clock)
    shared = publish(store)
    store.close()
    index = tmp_path / "data" / "shares" / "shares.sqlite3"
    with sqlite3.connect(index) as db:  # rebuild it as the previous version made it: no `private` column
        rows = db.execute("SELECT id, folder, visitor, token_hash, created, expires, bytes, recipe, images, thumbs "
                          "FROM shares").fetchall()  # fmt: skip
        db.execute("DROP TABLE shares")
        db.executescript(SCHEMA.replace(",\n    private INTEGER NOT NULL DEFAULT 0", ""))
        db.executemany("INSERT INTO shares VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        assert "private" not in {row[1] for row in db.execute("PRAGMA table_info(shares)")}

    reopened = ShareStore(tmp_path / "data", clock=clock)
    assert reopened.get(shared.id) is not None
    results, recipe, uploads = generation(tmp_path / "cache")
    assert History(reopened).keep(results, recipe, uploads)
    with sqlite3.connect(index) as db:
        assert "private" in {row[1] for row in db.execute("PRAGMA table_info(shares)")}
    reopened.close()
