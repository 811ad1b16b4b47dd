"""The quota gate: every generation on the server's key passes through `reserve` before anything is sent.

    async with gate.reserve(visitor, images=max_images) as reservation:   # may raise QuotaError: nothing sent
        result = await client.generate(...)
        charge = await reservation.settle(len(result.images))            # gives back what did not come

Counted in images: a generation reserves its maximum (1, or max images for a sequence) and settles to what came
back. Leaving the block with an exception before `settle` gives everything back, unless the call may have been
billed (a timeout after sending, an answer we could not use, or the visitor stopping it): then it stays counted.
A visitor's own key is never counted; it is only refused while that visitor's key box is paused. In offline
preview (no server key) the stand-in bills nothing, so nothing is counted either.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from seedream_ui.config import Settings
from seedream_ui.errors import (
    APITimeoutError,
    AuthenticationError,
    InvalidResponseError,
)
from seedream_ui.quotas import identity, messages
from seedream_ui.quotas.errors import QuotaUnavailableError, StoreError
from seedream_ui.quotas.limits import Limits, plural, usd
from seedream_ui.quotas.store import Ask, Decision, QuotaStore, Usage, open_store

log = logging.getLogger(__name__)
T = TypeVar("T")

# Leaving the block with one of these before settling keeps the reservation counted: the API may have billed it.
MAY_HAVE_BEEN_BILLED: tuple[type[BaseException], ...] = (APITimeoutError, InvalidResponseError, asyncio.CancelledError)

UNAVAILABLE = (
    "The demo cannot check its usage limits right now, so it is not using its own API key. "
    "Try again in a minute, or paste your own API key under Advanced settings."
)


@dataclass(frozen=True)
class Charge:
    images: int
    cost: float  # USD, estimated at the configured price; 0 for the visitor's own key
    text: str  # "2 images · about $0.08"


@dataclass(frozen=True)
class Standing:
    """A visitor's standing on the server's key; `*_left` is None when that limit is off."""

    hour_images: int
    day_images: int
    in_flight: int
    hour_left: int | None
    day_left: int | None
    budget_left: float | None  # USD left in the demo's daily budget


class Reservation:
    """One generation's reservation. `payer` is "server" (counted), "own" (the visitor's key: never counted) or
    "preview" (offline preview, the local stand-in: nothing is billed)."""

    def __init__(self, gate: QuotaGate, payer: str, images: int, ask: Ask | None = None) -> None:
        self._gate = gate
        self._ask = ask  # only for the server's key
        self.payer = payer
        self.images = images  # the most this generation may make
        self.settled: Charge | None = None

    async def settle(self, images_returned: int) -> Charge:
        """Count what the API returned, give back the rest. Never raises: the images exist either way."""
        images = max(0, images_returned)
        if self.settled is None:
            if self._ask is not None:
                await self._gate._settle_quietly(self._ask, images)
            self.settled = self._gate.charge(images, payer=self.payer)
        return self.settled


class QuotaGate:
    def __init__(
        self, store: QuotaStore, limits: Limits, *, clock: Callable[[], float] = time.time, preview: bool = False
    ) -> None:
        self.store = store
        self.limits = limits
        self.clock = clock
        # Offline preview: the "server's key" reaches only the local stand-in, which bills nothing.
        self.preview = preview
        self.trusted_proxies = identity.parse_networks(())
        self._salt: bytes | None = None
        self._background: set[asyncio.Future[None]] = set()

    @classmethod
    def from_settings(
        cls, settings: Settings, *, store: QuotaStore | None = None, clock: Callable[[], float] = time.time
    ) -> QuotaGate:
        limits = Limits.from_settings(settings)
        gate = cls(store or open_store(settings), limits, clock=clock, preview=settings.offline)
        gate.trusted_proxies = identity.parse_networks(settings.trusted_proxies)
        return gate

    # -- who, and what it costs

    async def visitor(self, request: Any, *, username: str | None = None) -> str:
        """The visitor's stable, salted id from a `gr.Request` (see identity.visitor_id)."""
        if self._salt is None:
            self._salt = await self._store(self.store.salt)
        return identity.visitor_id(request, salt=self._salt, trusted=self.trusted_proxies, username=username)

    def cost(self, images: int) -> float:
        return images * self.limits.price_micros / 1_000_000

    def estimate(self, images: int) -> str:
        """Before a click: "1 image · about $0.04" / "up to 4 images · about $0.16"."""
        prefix = "up to " if images > 1 else ""
        return f"{prefix}{plural(images)} · about {usd(images * self.limits.price_micros)}"

    def charge(self, images: int, *, payer: str = "server") -> Charge:
        """After a generation: "2 images · about $0.08" (+ " on your key" / " · preview, nothing billed")."""
        text = f"{plural(images)} · about {usd(images * self.limits.price_micros)}"
        if payer == "preview":
            return Charge(images, 0.0, f"{plural(images)} · preview, nothing billed")
        if payer == "own":
            return Charge(images, 0.0, f"{text} on your key")
        return Charge(images, self.cost(images), text)

    def session_text(self, images: int) -> str:
        """The visitor's running total, which the page keeps per session: "this session: 5 images · about $0.20"."""
        return f"this session: {plural(images)} · about {usd(images * self.limits.price_micros)}"

    # -- reserving

    @asynccontextmanager
    async def reserve(self, visitor: str, *, images: int, own_key: bool = False) -> AsyncIterator[Reservation]:
        """Reserve `images` for one generation. Raises QuotaExceededError, KeyPausedError or QuotaUnavailableError
        before anything is sent; yields a Reservation to `settle` as soon as the API has answered."""
        if images < 1:
            raise ValueError("a generation reserves at least one image")
        if own_key:
            await self._check_key_box(visitor)
            try:
                yield Reservation(self, "own", images)
            except AuthenticationError:
                await self.record_key_failure(visitor)
                raise
            return
        if self.preview:
            yield Reservation(self, "preview", images)
            return
        now = self.clock()
        ask = Ask(uuid.uuid4().hex, visitor, images, self.limits.price_micros, now, now + self.limits.lease_seconds)
        decision = await self._reserve_in_store(ask)
        if decision.limit is not None:
            raise messages.refusal(decision.limit, decision.usage, ask, self.limits)
        reservation = Reservation(self, "server", images, ask)
        try:
            yield reservation
        except BaseException as exc:
            if reservation.settled is None:
                await reservation.settle(images if isinstance(exc, MAY_HAVE_BEEN_BILLED) else 0)
            raise
        if reservation.settled is None:
            log.warning("a reservation was not settled; counting all %d images it reserved", images)
            await reservation.settle(images)

    async def _reserve_in_store(self, ask: Ask) -> Decision:
        task = asyncio.ensure_future(self._store(self.store.reserve, ask, self.limits))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            # Stopped while the store was deciding: nothing was sent, so give back whatever it grants.
            task.add_done_callback(lambda done: self._release_abandoned(ask, done))
            raise

    def _release_abandoned(self, ask: Ask, task: asyncio.Future[Decision]) -> None:
        if task.cancelled() or task.exception() is not None or not task.result().granted:
            return
        release = asyncio.ensure_future(self._settle_quietly(ask, 0))
        self._background.add(release)  # a reference, or the loop may drop the task before it runs
        release.add_done_callback(self._background.discard)

    async def _check_key_box(self, visitor: str) -> None:
        now = self.clock()
        try:
            failures = await asyncio.to_thread(self.store.key_failures, visitor, now, self.limits.key_failure_window)
        except StoreError as exc:
            # The visitor pays for their own key; without the store only the pause is not enforced.
            log.warning("key-box pause not checked: %s", exc)
            return
        if len(failures) >= self.limits.key_failures:
            await self._quietly(self.store.record_refusal, visitor, now)
            raise messages.key_paused(failures, self.limits, now)

    async def record_key_failure(self, visitor: str) -> None:
        """The visitor's own key was rejected (the gate records this itself when AuthenticationError leaves
        an own-key reservation)."""
        await self._quietly(self.store.record_key_failure, visitor, self.clock(), self.limits.key_failure_window)

    async def key_paused_until(self, visitor: str) -> datetime | None:
        """When the visitor's key box opens again, or None when it is not paused (or cannot be told)."""
        now = self.clock()
        try:
            failures = await asyncio.to_thread(self.store.key_failures, visitor, now, self.limits.key_failure_window)
        except StoreError:
            return None
        if len(failures) < self.limits.key_failures:
            return None
        return messages.key_paused(failures, self.limits, now).until

    # -- standing

    async def spent(self, visitor: str) -> Standing:
        now = self.clock()
        usage: Usage = await self._store(self.store.usage, visitor, now)
        hour, day = usage.hour_images(now), usage.day_images(now)
        limits = self.limits
        return Standing(
            hour_images=hour,
            day_images=day,
            in_flight=usage.in_flight,
            hour_left=max(0, limits.images_per_hour - hour) if limits.images_per_hour else None,
            day_left=max(0, limits.images_per_day - day) if limits.images_per_day else None,
            budget_left=max(0, limits.budget_micros - usage.spent_micros) / 1e6 if limits.budget_micros else None,
        )

    def close(self) -> None:
        self.store.close()

    # -- store calls off the event loop

    async def _store(self, function: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.to_thread(function, *args)
        except StoreError as exc:
            log.error("usage store unavailable, the server's key is refused: %s", exc)
            raise QuotaUnavailableError(UNAVAILABLE) from None

    async def _quietly(self, function: Callable[..., object], *args: Any) -> None:
        try:
            await asyncio.to_thread(function, *args)
        except StoreError as exc:
            log.warning("usage not recorded: %s", exc)

    async def _settle_quietly(self, ask: Ask, images: int) -> None:
        # Shielded: a visitor who stops waiting must not leave the reservation open.
        try:
            await asyncio.shield(asyncio.to_thread(self.store.settle, ask, images))
        except StoreError as exc:
            # Left as reserved (the larger count) until its lease runs out: safe for the owner's budget.
            log.warning("reservation not settled: %s", exc)

