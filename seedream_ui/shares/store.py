"""Published generations under SEEDREAM_DATA_DIR/shares: a folder of files per share plus an SQLite index.

Layout: `shares.sqlite3` (the index), `files/<folder>/` (one per share; the folder name is random and unrelated
to the share id, so an id never reaches the file system), `tmp/` (zips being downloaded). Every method blocks on
disk: call the `a…` wrappers from async code, which run them in a worker thread.

Each publish is one `BEGIN IMMEDIATE` transaction that evicts what it must (expired shares, then the
visitor's oldest, then everyone's oldest: see retention.py) and inserts the new row, so two processes
publishing at once cannot both squeeze under a limit. Files are written before the row and removed after it,
so the index never points at a half-written share; folders without a row (a crash between the two) are swept
by purge().
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import shutil
import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread

from seedream_ui.config import Settings
from seedream_ui.shares.errors import ShareError, ShareStoreError, ShareTooLargeError
from seedream_ui.shares.files import (
    ReferenceFile,
    ShareImage,
    StoredImage,
    checked_images,
    link_share,
    write_share,
    write_zip,
)
from seedream_ui.shares.models import MB, Published, Share, ShareLimits
from seedream_ui.shares.recipe import Recipe, parse_recipe
from seedream_ui.shares.retention import evict, sweep_leftovers, take_expired
from seedream_ui.shares.schema import INSERT, create
from seedream_ui.sqlite_db import Database

ID_BYTES = 16  # 128 random bits: token_urlsafe(16) is 22 characters
SHARE_ID = re.compile(r"[A-Za-z0-9_-]{22}")
DELETE_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
DAY = 86400.0


T = TypeVar("T")


class ShareStore:
    def __init__(
        self, data_dir: str | Path, limits: ShareLimits | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.root = Path(data_dir) / "shares"
        self.limits = limits or ShareLimits()
        self.clock = clock
        self._files = self.root / "files"
        self._tmp = self.root / "tmp"
        self._db = Database(self.root / "shares.sqlite3", _index_error)
        try:
            for folder in (self.root, self._files, self._tmp):
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            create(self._db.connection())
        except OSError as exc:
            raise ShareStoreError(f"Sharing is unavailable: cannot create {self.root} ({exc.strerror}).") from None
        except sqlite3.Error as exc:
            raise _index_error("failed", exc) from None

    @classmethod
    def from_settings(cls, settings: Settings) -> ShareStore:
        return cls(settings.data_dir, ShareLimits.from_settings(settings))

    @property
    def enabled(self) -> bool:
        return self.limits.days > 0

    # ---- publishing and unsharing

    def publish(
        self,
        images: Sequence[ShareImage | tuple[bytes, str, int, int]],
        recipe: Recipe,
        reference_files: Sequence[ReferenceFile | tuple[str, bytes]] = (),
        visitor_hash: str = "",
    ) -> Published:
        """Keep these results and their recipe; returns the id and the delete token (shown once).

        `reference_files` are the uploads as sent, in the order of `recipe.uploads` (fewer is fine: a recipe
        from a request.json names uploads it does not have).
        """
        if not self.enabled:
            raise ShareError("Sharing is switched off on this demo.")
        if len(reference_files) > len(recipe.uploads):
            raise ShareError("More reference files than the recipe has uploads.")
        checked = checked_images(images, recipe.created or datetime.fromtimestamp(self.clock(), UTC))
        files = [ReferenceFile(*f) for f in reference_files]
        return self._commit(lambda folder: write_share(folder, checked, recipe, files), [i for i, _ in checked],
                            visitor_hash)  # fmt: skip

    def publish_entry(self, entry: Share, visitor_hash: str = "") -> Published:
        """Publish a history entry (see history.py) as a share of its own. Its files are hard links to the
        entry's (no second copy on disk where the file system allows); the references' thumbnails are made now."""
        if not self.enabled:
            raise ShareError("Sharing is switched off on this demo.")
        return self._commit(lambda folder: link_share(entry.folder, entry.images, entry.recipe, folder),
                            list(entry.images), visitor_hash)  # fmt: skip

    def _commit(self, write: Callable[[Path], tuple[Recipe, list[str | None], int]], images: list[StoredImage],
                visitor_hash: str) -> Published:  # fmt: skip
        now = self.clock()
        share_id, token, folder_name = secrets.token_urlsafe(ID_BYTES), secrets.token_urlsafe(24), secrets.token_hex(12)
        folder = self._files / folder_name
        try:
            recipe, thumbs, size = write(folder)
            self._check_size(size)
            evicted = self._insert(share_id, folder_name, visitor_hash, token, now, size, recipe, images, thumbs)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        self._remove(evicted)
        share = self.get(share_id)
        assert share is not None  # just inserted, under our own clock
        return Published(share_id, token, share)

    def unshare(self, share_id: str, token: str) -> bool:
        """Remove a share if `token` is its delete token. False for a wrong token and an unknown id alike."""
        if not SHARE_ID.fullmatch(share_id) or not DELETE_TOKEN.fullmatch(token):
            return False
        with self._db.write() as db:
            row = db.execute("SELECT token_hash, folder FROM shares WHERE id = ?", (share_id,)).fetchone()
            if row is None or not hmac.compare_digest(row[0], _hash(token)):
                return False
            db.execute("DELETE FROM shares WHERE id = ?", (share_id,))
        self._remove([row[1]])
        return True

    # ---- reading

    def get(self, share_id: str, *, private: bool = False) -> Share | None:
        """The share, or None if the id is malformed, unknown, unshared or expired (callers cannot tell which).

        A history entry (`private`) is never a share, and a share never a history entry.
        """
        if not isinstance(share_id, str) or not SHARE_ID.fullmatch(share_id):
            return None
        with self._db.read() as db:
            row = db.execute(
                "SELECT id, folder, created, expires, recipe, images, thumbs FROM shares "
                "WHERE id = ? AND expires > ? AND private = ?",
                (share_id, self.clock(), int(private)),
            ).fetchone()
        if row is None or not (self._files / row[1]).is_dir():
            return None
        return _share(row, self._files)

    def build_zip(self, share: Share) -> Path:
        """A temporary zip of the share for one download; the caller deletes it (purge() sweeps leftovers)."""
        self._tmp.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = self._tmp / f"{secrets.token_hex(8)}.zip"
        try:
            write_zip(target, share.folder, share.images, share.recipe)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return target

    def usage(self, visitor_hash: str | None = None) -> int:
        """Bytes kept, for one visitor or in all."""
        where, args = ("AND visitor = ?", (visitor_hash,)) if visitor_hash is not None else ("", ())
        with self._db.read() as db:
            query = f"SELECT COALESCE(SUM(bytes), 0) FROM shares WHERE private = 0 {where}"
            return int(db.execute(query, args).fetchone()[0])

    # ---- retention

    def purge(self, now: float | None = None) -> int:
        """Remove expired shares and leftovers; returns how many shares went."""
        now = self.clock() if now is None else now
        with self._db.write() as db:
            expired = take_expired(db, now)
            known = {folder for (folder,) in db.execute("SELECT folder FROM shares")}
        self._remove(expired)
        sweep_leftovers([*self._files.iterdir(), *self._tmp.iterdir()], known, now)
        return len(expired)

    # ---- async wrappers: the same, in a worker thread (never on the event loop)

    async def apublish(
        self,
        images: Sequence[ShareImage | tuple[bytes, str, int, int]],
        recipe: Recipe,
        reference_files: Sequence[ReferenceFile | tuple[str, bytes]] = (),
        visitor_hash: str = "",
    ) -> Published:
        return await _in_thread(lambda: self.publish(images, recipe, reference_files, visitor_hash))

    async def aget(self, share_id: str) -> Share | None:
        return await _in_thread(lambda: self.get(share_id))

    async def aunshare(self, share_id: str, token: str) -> bool:
        return await _in_thread(lambda: self.unshare(share_id, token))

    async def abuild_zip(self, share: Share) -> Path:
        return await _in_thread(lambda: self.build_zip(share))

    async def apurge(self, now: float | None = None) -> int:
        return await _in_thread(lambda: self.purge(now))

    def close(self) -> None:
        """Close every thread's connection (the async wrappers use several threads)."""
        self._db.close()

    # ---- internals

    def _check_size(self, size: int) -> None:
        limit = min(self.limits.max_bytes_per_visitor, self.limits.max_bytes)
        if size > limit:
            raise ShareTooLargeError(
                f"This generation is {size / MB:.1f} MB; shares on this demo are at most {limit / MB:.0f} MB."
            )

    def _insert(
        self, share_id: str, folder: str, visitor: str, token: str, now: float, size: int, recipe: Recipe,
        images: list[StoredImage], thumbs: list[str | None],
    ) -> list[str]:
        """Insert the row after evicting what must go; returns the evicted folders (removed after commit)."""
        with self._db.write() as db:
            evicted = take_expired(db, now)
            evicted += evict(db, size, self.limits.max_bytes_per_visitor, "private = 0 AND visitor = ?", (visitor,))
            evicted += evict(db, size, self.limits.max_bytes, "private = 0", ())
            db.execute(
                INSERT,
                (share_id, folder, visitor, _hash(token), now, now + self.limits.days * DAY, size, recipe.to_json(),
                 json.dumps([vars(image) for image in images]), json.dumps(thumbs), 0),
            )
        return evicted

    def _remove(self, folders: Sequence[str]) -> None:
        for folder in folders:
            shutil.rmtree(self._files / folder, ignore_errors=True)


def _index_error(phase: str, exc: sqlite3.Error) -> ShareStoreError:
    return ShareStoreError(f"Sharing is unavailable: its index failed ({exc}).")


def _share(row: tuple[Any, ...], files: Path) -> Share:
    share_id, folder, created, expires, recipe, images, thumbs = row
    return Share(
        id=share_id,
        recipe=parse_recipe(recipe),
        images=tuple(StoredImage(**item) for item in json.loads(images)),
        thumbnails=tuple(json.loads(thumbs)),
        created=datetime.fromtimestamp(created, UTC),
        expires=datetime.fromtimestamp(expires, UTC),
        folder=files / folder,
    )


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


async def _in_thread(work: Callable[[], T]) -> T:
    return await anyio.to_thread.run_sync(work)
