"""The share store: what publish keeps, unshare, retention with a controllable clock, disk limits, restarts."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from seedream_ui.shares import ShareError, ShareLimits, ShareStore, ShareTooLargeError, parse_recipe
from seedream_ui.shares.files import thumbnail
from seedream_ui.shares.store import SHARE_ID
from tests.images import image_bytes
from tests.shares_fixtures import clock, store  # noqa: F401  (fixtures of this module only)
from tests.shares_support import FakeClock, publish, results, sha


def test_a_published_share_keeps_the_original_bytes_and_the_recipe(store: ShareStore) -> None:
    sent = results(2)

    published = publish(store, "a fox in the snow")
    share = store.get(published.id)

    assert share is not None
    assert [sha(path.read_bytes()) for path in map(share.image_path, (1, 2)) if path] == [sha(i.data) for i in sent]
    assert [i.file for i in share.images] == ["seedream-20261129-153012-1.jpg", "seedream-20261129-153012-2.png"]
    assert share.recipe.prompt == "a fox in the snow"
    assert share.recipe.references[0].url == "https://example.com/ref.jpg"  # type: ignore[union-attr]
    assert share.recipe.uploads[0].name == "cat.png"
    assert parse_recipe((share.folder / "recipe.json").read_text()) == share.recipe


def test_uploaded_references_are_kept_as_sent_with_a_small_thumbnail(store: ShareStore) -> None:
    share = publish(store).share

    [copy] = share.reference_paths()
    assert copy.name == "reference-2.png"
    assert copy.read_bytes().startswith(b"\x89PNG")
    assert share.thumbnails == (None, "thumb-2.webp")
    thumb = share.thumbnail_path(2)
    assert thumb is not None and thumb.read_bytes()[8:12] == b"WEBP"
    assert share.thumbnail_path(1) is None  # a URL reference is never fetched, so it has no thumbnail


def test_ids_are_unguessable_and_the_delete_token_is_not_stored(store: ShareStore, tmp_path: Path) -> None:
    shares = [publish(store, visitor=f"addr-{n}", count=1) for n in range(20)]

    assert len({s.id for s in shares}) == 20
    assert all(SHARE_ID.fullmatch(s.id) for s in shares)  # 22 URL-safe characters: 128 random bits
    index = b"".join(path.read_bytes() for path in (tmp_path / "data" / "shares").glob("shares.sqlite3*"))
    assert not any(s.delete_token.encode() in index for s in shares)
    assert b"addr-3" in index  # the visitor is only ever the quotas' hash, which is what the store was given


def test_a_new_store_on_the_same_data_dir_still_has_the_share(store: ShareStore, tmp_path: Path,
                                                              clock: FakeClock) -> None:
    published = publish(store)
    store.close()

    restarted = ShareStore(tmp_path / "data", ShareLimits(), clock=clock)

    share = restarted.get(published.id)
    assert share is not None and share.recipe == published.share.recipe
    assert restarted.unshare(published.id, published.delete_token)


def test_unshare_needs_the_delete_token_and_removes_the_files(store: ShareStore) -> None:
    published = publish(store)
    folder = published.share.folder

    assert not store.unshare(published.id, "x" * 32)
    assert not store.unshare(published.id, published.delete_token[:-1])
    assert store.get(published.id) is not None

    assert store.unshare(published.id, published.delete_token)
    assert store.get(published.id) is None
    assert not folder.exists()
    assert not store.unshare(published.id, published.delete_token)  # twice: the same "no" as an unknown id


@pytest.mark.parametrize("forged", ["", "../../etc/passwd", "a" * 5000, "é" * 22, "abc$def%ghi&jkl*mno(pq", "A" * 21,
                                    "A" * 23, "AAAAAAAAAAAAAAAAAAAAAA\n"])
def test_forged_ids_find_nothing(store: ShareStore, forged: str) -> None:
    publish(store)

    assert store.get(forged) is None
    assert not store.unshare(forged, "x" * 32)


def test_shares_expire_after_the_retention_period_and_purge_removes_their_files(
    store: ShareStore, clock: FakeClock
) -> None:
    old = publish(store)
    clock.advance(days=10)
    newer = publish(store)

    clock.advance(days=20, seconds=-1)
    assert store.get(old.id) is not None  # 30 days less a second
    clock.advance(seconds=1)
    assert store.get(old.id) is None  # expired: gone at once, even before the purge
    assert old.share.folder.exists()

    assert store.purge() == 1
    assert not old.share.folder.exists()
    assert store.get(newer.id) is not None and newer.share.folder.exists()


def test_a_publish_also_clears_expired_shares(store: ShareStore, clock: FakeClock) -> None:
    old = publish(store)
    clock.advance(days=31)

    publish(store)

    assert not old.share.folder.exists()


def test_purge_sweeps_folders_left_by_a_crash(store: ShareStore, clock: FakeClock, tmp_path: Path) -> None:
    stray = tmp_path / "data" / "shares" / "files" / "half-written"
    stray.mkdir()
    (stray / "seedream-1.jpg").write_bytes(image_bytes("JPEG"))
    kept = publish(store)

    clock.now = stray.stat().st_mtime + 7200
    store.purge()

    assert not stray.exists()
    assert kept.share.folder.exists()


def share_size(tmp_path: Path) -> int:
    """The bytes one publish() of the helpers' share takes."""
    probe = ShareStore(tmp_path / "probe", ShareLimits())
    size = probe.usage() if publish(probe) else 0
    probe.close()
    return size


def test_a_visitor_over_their_limit_loses_their_own_oldest_share_first(tmp_path: Path, clock: FakeClock) -> None:
    size = share_size(tmp_path)
    store = ShareStore(tmp_path / "data", ShareLimits(max_bytes_per_visitor=3 * size, max_bytes=100 * size),
                       clock=clock)
    other = publish(store, visitor="addr-other")
    mine = []
    for _ in range(4):
        clock.advance(seconds=1)
        mine.append(publish(store, visitor="addr-me"))

    assert store.get(mine[0].id) is None and not mine[0].share.folder.exists()
    assert all(store.get(p.id) is not None for p in mine[1:])
    assert store.get(other.id) is not None
    assert store.usage("addr-me") == 3 * size


def test_the_total_limit_removes_the_oldest_shares_of_anyone(tmp_path: Path, clock: FakeClock) -> None:
    size = share_size(tmp_path)
    store = ShareStore(tmp_path / "data", ShareLimits(max_bytes_per_visitor=100 * size, max_bytes=2 * size),
                       clock=clock)
    shares = []
    for n in range(3):
        clock.advance(seconds=1)
        shares.append(publish(store, visitor=f"addr-{n}"))

    assert [store.get(p.id) is not None for p in shares] == [False, True, True]
    assert store.usage() == 2 * size


def test_a_share_bigger_than_the_limit_is_refused_and_leaves_nothing(tmp_path: Path, clock: FakeClock) -> None:
    store = ShareStore(tmp_path / "data", ShareLimits(max_bytes_per_visitor=1000), clock=clock)

    with pytest.raises(ShareTooLargeError, match="shares on this demo are at most"):
        publish(store)

    assert list((tmp_path / "data" / "shares" / "files").iterdir()) == []
    assert store.usage() == 0


def test_nothing_but_images_can_be_shared(store: ShareStore) -> None:
    recipe = publish(store).share.recipe
    with pytest.raises(ShareError, match="not an image"):
        store.publish([(b"<html><script>alert(1)</script>", "jpeg", 10, 10)], recipe)
    with pytest.raises(ShareError, match="nothing to share"):
        store.publish([], recipe)


def test_sharing_can_be_switched_off(tmp_path: Path) -> None:
    store = ShareStore(tmp_path / "data", ShareLimits(days=0))

    assert not store.enabled
    with pytest.raises(ShareError, match="switched off"):
        publish(store)


def test_a_reference_that_cannot_be_decoded_gets_no_thumbnail() -> None:
    assert thumbnail(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64) is None


async def test_the_async_wrappers_do_the_file_work_in_a_worker_thread(store: ShareStore, clock: FakeClock) -> None:
    threads: list[int] = []

    def recording_clock() -> float:
        threads.append(threading.get_ident())
        return clock()

    store.clock = recording_clock
    recipe = publish(store).share.recipe
    threads.clear()

    published = await store.apublish(results(1), recipe, (), "addr-1")
    assert await store.aget(published.id) is not None
    zipped = await store.abuild_zip(published.share)
    assert await store.aunshare(published.id, published.delete_token)

    assert threads and threading.get_ident() not in threads
    zipped.unlink()
