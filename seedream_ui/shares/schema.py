"""The shares index's tables, and the one migration an older index needs.

`private` (issue 11, history that survives a reload): 1 marks a visitor's own history entry. Such rows live
beside the shares, with the same retention, but are never served as /s/<id> pages, never counted against the
shares' disk limits and never evicted by a share (nor a share by them).
"""

from __future__ import annotations

import sqlite3

SCHEMA = """
CREATE TABLE IF NOT EXISTS shares (
    id TEXT PRIMARY KEY,
    folder TEXT NOT NULL UNIQUE,
    visitor TEXT NOT NULL,          -- the quotas' salted hash, never an address or a username
    token_hash TEXT NOT NULL,       -- sha256 of the delete token; the token itself is shown once
    created REAL NOT NULL,
    expires REAL NOT NULL,
    bytes INTEGER NOT NULL,
    recipe TEXT NOT NULL,
    images TEXT NOT NULL,
    thumbs TEXT NOT NULL,
    private INTEGER NOT NULL DEFAULT 0  -- 1: a history entry, reachable only through its owner's browser
);
CREATE INDEX IF NOT EXISTS shares_visitor_created ON shares (visitor, created);
CREATE INDEX IF NOT EXISTS shares_created ON shares (created);
CREATE INDEX IF NOT EXISTS shares_expires ON shares (expires);
"""
INDEXES = "CREATE INDEX IF NOT EXISTS shares_private_visitor ON shares (private, visitor, created);"
COLUMNS = ("id", "folder", "visitor", "token_hash", "created", "expires", "bytes", "recipe", "images", "thumbs",
           "private")  # fmt: skip
INSERT = f"INSERT INTO shares ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"


def create(db: sqlite3.Connection) -> None:
    """Create the tables, or bring an index from before history entries up to date (in one write transaction,
    so two processes starting at once cannot both add the column)."""
    db.executescript(SCHEMA)
    db.execute("BEGIN IMMEDIATE")
    try:
        if "private" not in {row[1] for row in db.execute("PRAGMA table_info(shares)")}:
            db.execute("ALTER TABLE shares ADD COLUMN private INTEGER NOT NULL DEFAULT 0")
        db.execute(INDEXES)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
