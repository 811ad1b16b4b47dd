"""How long shares and history entries stay, and what makes room for a new one: expiry, the oldest-first
eviction under a disk limit, and the sweep of leftovers (folders without a row, downloads' zips).

The row functions run inside the caller's write transaction (the store's publish and purge, history's keep), so
two processes cannot both squeeze under a limit; they only delete rows and return the folders whose files the
caller removes after the commit, so the index never points at a half-removed share.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from seedream_ui.shares.errors import ShareStoreError

if TYPE_CHECKING:
    from seedream_ui.shares.store import ShareStore

STRAY_AGE_S = 3600.0  # a folder without a row, or a download's zip, older than this is a leftover


def take(db: sqlite3.Connection, where: str, args: tuple[Any, ...]) -> list[str]:
    """Delete the rows (shares and history entries) matching `where`; returns their folders."""
    rows = db.execute(f"SELECT id, folder FROM shares WHERE {where}", args).fetchall()
    db.executemany("DELETE FROM shares WHERE id = ?", [(share_id,) for share_id, _ in rows])
    return [folder for _, folder in rows]


def take_expired(db: sqlite3.Connection, now: float) -> list[str]:
    """Delete the rows expired at `now`; returns their folders."""
    return take(db, "expires <= ?", (now,))


def evict(db: sqlite3.Connection, incoming: int, limit: int, where: str, args: tuple[Any, ...]) -> list[str]:
    """Delete the oldest rows (within `where`) until `incoming` more bytes fit under `limit`."""
    (used,) = db.execute(f"SELECT COALESCE(SUM(bytes), 0) FROM shares WHERE {where}", args).fetchone()
    evicted: list[str] = []
    query = f"SELECT id, folder, bytes FROM shares WHERE {where} ORDER BY created"
    for share_id, folder, size in db.execute(query, args).fetchall():
        if used + incoming <= limit:
            break
        evicted.append(folder)
        used -= size
        db.execute("DELETE FROM shares WHERE id = ?", (share_id,))
    return evicted


def sweep_leftovers(paths: Iterable[Path], known: set[str], now: float) -> None:
    """Remove the paths no row names (`known`: the folders in the index) once they are older than STRAY_AGE_S:
    younger ones may be a publish still writing its files, or a zip still being downloaded."""
    for path in paths:
        if path.name not in known and _age(path, now) > STRAY_AGE_S:
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


def _age(path: Path, now: float) -> float:
    try:
        return now - path.stat().st_mtime
    except OSError:
        return 0.0


async def purge_periodically(store: ShareStore, every_s: float = 3600.0) -> None:
    """Purge now and then every `every_s` seconds, until cancelled: start it in the server's lifespan.

    Expired shares are refused at once anyway; this is what removes their files when nobody publishes.
    """
    while True:
        try:
            await store.apurge()
        except ShareStoreError:
            pass  # the disk or index is failing; the pages say so, and the next round tries again
        await anyio.sleep(every_s)
