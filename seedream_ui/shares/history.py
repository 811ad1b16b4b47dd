"""A visitor's recent generations, kept on the server for the retention period (issue 11: history that
survives a reload and a restart).

Each generation the page finishes becomes a *private* row of the shares index (`private = 1`, see schema.py)
with its files linked into a folder of its own (hard links: the bytes are not written twice). Its id has 128
random bits and is known only to the visitor's browser, which keeps the ids in a `gr.BrowserState`
(ui_history.py). Private rows are never served as /s/<id> pages or listed, and live under limits of their own:
they never evict a share and a share never evicts them. They expire with SEEDREAM_SHARE_DAYS and the store's
purge removes them like shares. Sharing one (`publish`) makes a normal public share from the same files.
`forget` deletes entries at their owner's request ("Forget my history"); the shares made from them stay.
"""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from seedream_ui.config import Settings
from seedream_ui.shares.errors import ShareTooLargeError
from seedream_ui.shares.files import keep_generation
from seedream_ui.shares.models import MB, Published, Share
from seedream_ui.shares.recipe import Recipe
from seedream_ui.shares.retention import evict, take, take_expired
from seedream_ui.shares.schema import INSERT
from seedream_ui.shares.store import DAY, ID_BYTES, SHARE_ID, ShareStore, _in_thread


@dataclass(frozen=True)
class HistoryLimits:
    max_bytes_per_visitor: int = 500 * MB
    max_bytes: int = 5000 * MB

    @classmethod
    def from_settings(cls, settings: Settings) -> HistoryLimits:
        return cls(int(settings.history_max_mb_per_visitor * MB), int(settings.history_max_mb * MB))


class History:
    """History entries in a share store (its index and files folder); every method blocks on disk: the
    `a…` wrappers run them in a worker thread."""

    def __init__(self, store: ShareStore, limits: HistoryLimits | None = None) -> None:
        self.store = store
        self.limits = limits or HistoryLimits()

    def keep(self, results: Sequence[Path], recipe: Recipe, uploads: Sequence[str], visitor_hash: str = "") -> str:
        """Keep a finished generation (its result files, and the uploads as sent); returns the entry's id.

        The visitor's oldest entries, then anyone's, make room; one bigger than a limit on its own is refused.
        """
        store = self.store
        entry_id, folder_name = secrets.token_urlsafe(ID_BYTES), secrets.token_hex(12)
        folder = store._files / folder_name
        now = store.clock()
        try:
            named, images, size = keep_generation(folder, results, recipe, uploads)
            if size > min(self.limits.max_bytes_per_visitor, self.limits.max_bytes):
                raise ShareTooLargeError(f"This generation is {size / MB:.1f} MB, more than history keeps.")
            with store._db.write() as db:
                gone = take_expired(db, now)
                gone += evict(db, size, self.limits.max_bytes_per_visitor, "private = 1 AND visitor = ?", (visitor_hash,))
                gone += evict(db, size, self.limits.max_bytes, "private = 1", ())
                db.execute(INSERT, (
                    entry_id, folder_name, visitor_hash, "", now, now + store.limits.days * DAY, size,
                    named.to_json(), json.dumps([vars(image) for image in images]),
                    json.dumps([None] * len(named.references)), 1,
                ))  # fmt: skip
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        store._remove(gone)
        return entry_id

    def entries(self, entry_ids: Sequence[str]) -> dict[str, Share]:
        """The entries still kept, by id; malformed, unknown, expired ids and shares' ids are left out."""
        found = {}
        for entry_id in entry_ids:
            entry = self.store.get(entry_id, private=True) if SHARE_ID.fullmatch(entry_id) else None
            if entry is not None:
                found[entry_id] = entry
        return found

    def publish(self, entry_id: str, visitor_hash: str = "") -> Published | None:
        """Share a history entry (a new public share, its files linked); None if the entry is gone."""
        entry = self.store.get(entry_id, private=True)
        return self.store.publish_entry(entry, visitor_hash) if entry is not None else None

    def forget(self, entry_ids: Sequence[str]) -> int:
        """Delete these history entries and their files; returns how many were still kept.

        Only well-formed ids of private rows are touched: a share's id (or anything else) deletes nothing, so the
        ids a browser sends reach no further than restoring them does. A share made from an entry has its own
        row and its own links to the files, so its link keeps working.
        """
        ids = list(dict.fromkeys(i for i in entry_ids if isinstance(i, str) and SHARE_ID.fullmatch(i)))
        if not ids:
            return 0
        marks = ", ".join("?" * len(ids))
        with self.store._db.write() as db:
            gone = take(db, f"private = 1 AND id IN ({marks})", tuple(ids))
        self.store._remove(gone)
        return len(gone)

    def usage(self, visitor_hash: str | None = None) -> int:
        """Bytes kept by history entries, for one visitor or in all."""
        where, args = ("AND visitor = ?", (visitor_hash,)) if visitor_hash is not None else ("", ())
        with self.store._db.read() as db:
            query = f"SELECT COALESCE(SUM(bytes), 0) FROM shares WHERE private = 1 {where}"
            return int(db.execute(query, args).fetchone()[0])

    async def akeep(self, results: Sequence[Path], recipe: Recipe, uploads: Sequence[str], visitor_hash: str) -> str:
        return await _in_thread(lambda: self.keep(results, recipe, uploads, visitor_hash))

    async def aentries(self, entry_ids: Sequence[str]) -> dict[str, Share]:
        return await _in_thread(lambda: self.entries(entry_ids))

    async def aforget(self, entry_ids: Sequence[str]) -> int:
        return await _in_thread(lambda: self.forget(entry_ids))

    async def apublish(self, entry_id: str, visitor_hash: str) -> Published | None:
        return await _in_thread(lambda: self.publish(entry_id, visitor_hash))
