"""What a usage store keeps and the operations it must make atomic; `open_store` picks one from the settings.

Two implementations: `SQLiteStore` (a file under SEEDREAM_DATA_DIR: no extra service, survives restarts, shared by
the threads and processes of one machine) and `RedisStore` (several app processes behind a load balancer).
Stores take `now` as an argument and never read a clock: the gate owns time, so tests can move it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from seedream_ui.config import Settings
from seedream_ui.quotas.limits import DAY, HOUR, Limits


@dataclass(frozen=True)
class Ask:
    """One reservation on the server's key: `images` at most, each at `price_micros`."""

    id: str
    visitor: str
    images: int
    price_micros: int
    now: float
    lease_until: float

    @property
    def cost_micros(self) -> int:
        return self.images * self.price_micros

    @property
    def day(self) -> str:
        return utc_day(self.now)


@dataclass(frozen=True)
class Usage:
    """A visitor's standing at one moment, and the demo's spend today."""

    events: tuple[tuple[float, int], ...]  # (reserved at, images) within the last 24 hours, oldest first
    in_flight: int
    spent_micros: int

    def images_since(self, since: float) -> int:
        return sum(images for at, images in self.events if at > since)

    def hour_images(self, now: float) -> int:
        return self.images_since(now - HOUR)

    def day_images(self, now: float) -> int:
        return self.images_since(now - DAY)


@dataclass(frozen=True)
class Decision:
    limit: str | None  # None: granted; else the limit that refused it
    usage: Usage  # before this reservation

    @property
    def granted(self) -> bool:
        return self.limit is None


@dataclass(frozen=True)
class DayTotal:
    day: str
    images: int
    cost_micros: int
    refusals: int


@dataclass(frozen=True)
class VisitorTotal:
    visitor: str
    images: int
    cost_micros: int
    refusals: int


class QuotaStore(Protocol):
    """Every method may raise StoreError when the database or server fails."""

    description: str  # for the operator: where the data is (never a password)

    def reserve(self, ask: Ask, limits: Limits) -> Decision:
        """Atomically: judge `ask` against `limits` and the usage so far; if granted, record it (in flight)."""
        ...

    def settle(self, ask: Ask, images: int) -> None:
        """The reservation made `images` (refunding the rest, at the price it was reserved at); no longer in flight."""
        ...

    def usage(self, visitor: str, now: float) -> Usage: ...

    def record_refusal(self, visitor: str, now: float) -> None:
        """Count a refusal that did not come from `reserve` (a paused key box)."""
        ...

    def record_key_failure(self, visitor: str, now: float, window: float) -> None: ...

    def key_failures(self, visitor: str, now: float, window: float) -> list[float]:
        """When this visitor's own keys were rejected within the last `window` seconds, oldest first."""
        ...

    def report(self, days: list[str]) -> tuple[list[DayTotal], list[VisitorTotal]]:
        """Totals for each of `days` (UTC dates) and per visitor over all of them, most images first."""
        ...

    def salt(self) -> bytes:
        """The secret mixed into visitor hashes, created once and shared by every process using the store."""
        ...

    def close(self) -> None: ...


def judge(usage: Usage, ask: Ask, limits: Limits) -> str | None:
    """The limit `ask` would pass, or None. Checked from the longest wait to the shortest, so the refusal names
    the limit that decides when the visitor can go on. The Redis store's Lua script mirrors this function."""
    if limits.budget_micros and usage.spent_micros + ask.cost_micros > limits.budget_micros:
        return "budget"
    if limits.images_per_day and usage.day_images(ask.now) + ask.images > limits.images_per_day:
        return "day"
    if limits.images_per_hour and usage.hour_images(ask.now) + ask.images > limits.images_per_hour:
        return "hour"
    if limits.concurrency and usage.in_flight >= limits.concurrency:
        return "concurrency"
    return None


def ranked(visitors: dict[str, list[int]]) -> list[VisitorTotal]:
    """[images, cost_micros, refusals] per visitor -> totals, most images first."""
    totals = [VisitorTotal(visitor, *numbers) for visitor, numbers in visitors.items()]
    return sorted(totals, key=lambda t: (-t.images, -t.refusals, t.visitor))


def utc_day(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")


def open_store(settings: Settings) -> QuotaStore:
    """Redis when SEEDREAM_REDIS_URL is set, else the SQLite file in SEEDREAM_DATA_DIR."""
    if settings.redis_url:
        from seedream_ui.quotas.redis_store import RedisStore

        return RedisStore.from_url(settings.redis_url)
    from seedream_ui.quotas.sqlite_store import SQLiteStore

    return SQLiteStore(settings.data_dir)
