"""SQLite as the quota counters and the shares index use it: one connection per thread, WAL, explicit writes."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

# (phase, error) -> the caller's own exception: phase is "unavailable" (the transaction could not begin) or
# "failed" (a statement in it failed).
ErrorFactory = Callable[[str, sqlite3.Error], Exception]


class Database:
    """A SQLite file shared by many threads (the async wrappers run in several) and processes.

    Each thread gets its own connection; `close` closes them all. WAL lets readers go on while one process
    writes; writes take the lock up front (BEGIN IMMEDIATE) so two read-then-write transactions cannot
    deadlock. No sqlite3 error leaves: each becomes `error(phase, exc)`.
    """

    def __init__(self, path: Path, error: ErrorFactory, *, busy_timeout: float = 30.0) -> None:
        self.path = path
        self._error = error
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            # isolation_level=None: we issue BEGIN IMMEDIATE ourselves instead of Python's deferred BEGIN.
            db = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # with WAL: a crash of the process loses nothing
            self._local.db = db
            with self._lock:
                self._connections.append(db)
        return db

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        try:
            db = self.connection()
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._error("unavailable", exc) from None
        try:
            yield db
            db.execute("COMMIT")
        except BaseException as exc:
            try:
                db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the failed statement already ended the transaction
            if isinstance(exc, sqlite3.Error):
                raise self._error("failed", exc) from None
            raise

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        try:
            yield self.connection()
        except sqlite3.Error as exc:
            raise self._error("failed", exc) from None

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            for db in self._connections:
                db.close()
            self._connections.clear()
        self._local = threading.local()
