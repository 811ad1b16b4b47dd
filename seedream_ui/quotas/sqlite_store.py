"""The embedded store: one SQLite file under SEEDREAM_DATA_DIR.

Each thread has its own connection; every read-judge-write runs in one `BEGIN IMMEDIATE` transaction, which takes
SQLite's write lock before reading, so threads and processes on this machine reserve one after another and none
can grant from a stale count. WAL journaling lets the operator's report read while the app writes.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from pathlib import Path

from seedream_ui.quotas.errors import StoreError
from seedream_ui.quotas.limits import DAY, KEEP_SECONDS, Limits
from seedream_ui.quotas.store import (
    Ask,
    DayTotal,
    Decision,
    Usage,
    VisitorTotal,
    judge,
    ranked,
    utc_day,
)
from seedream_ui.sqlite_db import Database

FILENAME = "quotas.sqlite3"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS reservations (
    id TEXT PRIMARY KEY,
    visitor TEXT NOT NULL,          -- a salted hash, never an address
    at REAL NOT NULL,
    day TEXT NOT NULL,              -- UTC date of `at`: the budget's day
    images INTEGER NOT NULL,        -- reserved, then what came back
    cost_micros INTEGER NOT NULL,
    open_until REAL                 -- in flight until this time; NULL once settled
);
CREATE INDEX IF NOT EXISTS reservations_visitor_at ON reservations (visitor, at);
CREATE INDEX IF NOT EXISTS reservations_day ON reservations (day);
CREATE TABLE IF NOT EXISTS refusals (at REAL NOT NULL, day TEXT NOT NULL, visitor TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS refusals_day ON refusals (day);
CREATE TABLE IF NOT EXISTS key_failures (visitor TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS key_failures_visitor_at ON key_failures (visitor, at);
"""


class SQLiteStore:
    def __init__(self, data_dir: str | os.PathLike[str], *, busy_timeout: float = 30.0) -> None:
        self.path = Path(data_dir) / FILENAME
        self.description = f"SQLite file {self.path}"
        self._db = Database(self.path, _store_error, busy_timeout=busy_timeout)
        try:
            # 0o700: the hashes are not secret, but nobody else on the machine needs them.
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Every statement is IF NOT EXISTS: processes starting together may all run it.
            self._db.connection().executescript(SCHEMA)
        except OSError as exc:
            raise StoreError(f"cannot create {self.path.parent}: {exc.strerror}") from None
        except sqlite3.Error as exc:
            raise _store_error("unavailable", exc) from None

    # -- the store interface

    def reserve(self, ask: Ask, limits: Limits) -> Decision:
        with self._db.write() as db:
            usage = _usage(db, ask.visitor, ask.now)
            limit = judge(usage, ask, limits)
            if limit is None:
                db.execute(
                    "INSERT INTO reservations VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (ask.id, ask.visitor, ask.now, ask.day, ask.images, ask.cost_micros, ask.lease_until),
                )
            else:
                db.execute("INSERT INTO refusals VALUES (?, ?, ?)", (ask.now, ask.day, ask.visitor))
            _forget_old(db, ask.now)
            return Decision(limit, usage)

    def settle(self, ask: Ask, images: int) -> None:
        with self._db.write() as db:
            db.execute(
                "UPDATE reservations SET images = ?, cost_micros = ?, open_until = NULL WHERE id = ?",
                (images, images * ask.price_micros, ask.id),
            )

    def usage(self, visitor: str, now: float) -> Usage:
        with self._db.read() as db:
            return _usage(db, visitor, now)

    def record_refusal(self, visitor: str, now: float) -> None:
        with self._db.write() as db:
            db.execute("INSERT INTO refusals VALUES (?, ?, ?)", (now, utc_day(now), visitor))

    def record_key_failure(self, visitor: str, now: float, window: float) -> None:
        with self._db.write() as db:
            db.execute("DELETE FROM key_failures WHERE visitor = ? AND at <= ?", (visitor, now - window))
            db.execute("INSERT INTO key_failures VALUES (?, ?)", (visitor, now))

    def key_failures(self, visitor: str, now: float, window: float) -> list[float]:
        with self._db.read() as db:
            rows = db.execute(
                "SELECT at FROM key_failures WHERE visitor = ? AND at > ? ORDER BY at", (visitor, now - window)
            )
            return [at for (at,) in rows]

    def report(self, days: list[str]) -> tuple[list[DayTotal], list[VisitorTotal]]:
        marks = ",".join("?" * len(days))
        with self._db.read() as db:
            used = {
                day: (images, cost)
                for day, images, cost in db.execute(
                    f"SELECT day, SUM(images), SUM(cost_micros) FROM reservations WHERE day IN ({marks}) GROUP BY day",
                    days,
                )
            }
            refused = dict(
                db.execute(f"SELECT day, COUNT(*) FROM refusals WHERE day IN ({marks}) GROUP BY day", days).fetchall()
            )
            visitors: dict[str, list[int]] = {}
            for visitor, images, cost in db.execute(
                f"SELECT visitor, SUM(images), SUM(cost_micros) FROM reservations WHERE day IN ({marks}) "
                "GROUP BY visitor",
                days,
            ):
                visitors[visitor] = [images, cost, 0]
            for visitor, count in db.execute(
                f"SELECT visitor, COUNT(*) FROM refusals WHERE day IN ({marks}) GROUP BY visitor", days
            ):
                visitors.setdefault(visitor, [0, 0, 0])[2] = count
        totals = [DayTotal(day, *used.get(day, (0, 0)), refused.get(day, 0)) for day in days]
        return totals, ranked(visitors)

    def salt(self) -> bytes:
        with self._db.write() as db:
            # INSERT OR IGNORE: the first process to get here creates it; every other one reads that one.
            db.execute("INSERT OR IGNORE INTO meta VALUES ('salt', ?)", (secrets.token_bytes(32),))
            (value,) = db.execute("SELECT value FROM meta WHERE name = 'salt'").fetchone()
            return bytes(value)

    def close(self) -> None:
        self._db.close()


def _store_error(phase: str, exc: sqlite3.Error) -> StoreError:
    return StoreError(f"usage database {phase}: {exc}")


def _usage(db: sqlite3.Connection, visitor: str, now: float) -> Usage:
    events = db.execute(
        "SELECT at, images FROM reservations WHERE visitor = ? AND at > ? ORDER BY at", (visitor, now - DAY)
    ).fetchall()
    (in_flight,) = db.execute(
        "SELECT COUNT(*) FROM reservations WHERE visitor = ? AND open_until > ?", (visitor, now)
    ).fetchone()
    (spent,) = db.execute(
        "SELECT COALESCE(SUM(cost_micros), 0) FROM reservations WHERE day = ?", (utc_day(now),)
    ).fetchone()
    return Usage(tuple((at, images) for at, images in events), in_flight, spent)


def _forget_old(db: sqlite3.Connection, now: float) -> None:
    cutoff = utc_day(now - KEEP_SECONDS)
    db.execute("DELETE FROM reservations WHERE day < ?", (cutoff,))
    db.execute("DELETE FROM refusals WHERE day < ?", (cutoff,))
