"""The quota gate's rules, on both stores, with a clock the tests move: what a visitor is allowed and told."""

from __future__ import annotations

import asyncio
import threading

import pytest

from seedream_ui.errors import APITimeoutError, AuthenticationError, BadRequestError
from seedream_ui.quotas import (
    KeyPausedError,
    QuotaExceededError,
    QuotaGate,
    QuotaStore,
    QuotaUnavailableError,
)
from seedream_ui.quotas.errors import StoreError
from tests.quotas_support import FakeClock, gate_on

pytest_plugins = ["tests.quotas_fixtures"]

ALICE, BOB = "addr-alice", "addr-bob"


async def generate(gate: QuotaGate, visitor: str, images: int = 1, returned: int | None = None) -> None:
    """One generation on the server's key that reserves `images` and gets `returned` back (all, by default)."""
    async with gate.reserve(visitor, images=images) as reservation:
        await reservation.settle(images if returned is None else returned)


async def refusal(gate: QuotaGate, visitor: str, images: int = 1) -> QuotaExceededError:
    with pytest.raises(QuotaExceededError) as caught:
        await generate(gate, visitor, images)
    assert "limit" in caught.value.message
    assert "own API key" in caught.value.message
    return caught.value


async def test_the_hourly_limit_counts_images_and_says_when_more_are_allowed(store: QuotaStore, clock: FakeClock):
    gate = gate_on(store, clock, images_per_hour=5)
    clock.at(13, 5)
    await generate(gate, ALICE, images=4, returned=3)  # a sequence: 3 of its 4 images came back
    clock.at(13, 30)
    await generate(gate, ALICE, images=2)
    clock.at(13, 50)
    refused = await refusal(gate, ALICE)
    assert refused.limit == "hour"
    assert "Hourly limit reached: 0 of 5 images per hour left" in refused.message
    assert "3 more images after 14:05 UTC" in refused.message  # the 13:05 sequence leaves the window
    await generate(gate, BOB)  # each visitor has their own
    clock.at(14, 5, 1)
    await generate(gate, ALICE, images=3)
    assert (await refusal(gate, ALICE)).limit == "hour"


async def test_a_sequence_that_does_not_fit_says_how_many_are_left(store: QuotaStore, clock: FakeClock):
    gate = gate_on(store, clock, images_per_hour=5)
    await generate(gate, ALICE, images=3)
    refused = await refusal(gate, ALICE, images=4)
    assert "2 of 5 images per hour left on the demo's key and this needs up to 4 images" in refused.message
    assert "5 more images after 15:00 UTC" in refused.message  # when the first 3 leave the window
    await generate(gate, ALICE, images=2)  # what is left can still be used


async def test_a_sequence_larger_than_the_limit_is_told_to_lower_max_images(store: QuotaStore, clock: FakeClock):
    gate = gate_on(store, clock, images_per_hour=10)
    refused = await refusal(gate, ALICE, images=15)
    assert "more than the hourly limit of 10 images per hour" in refused.message
    assert "lower max images" in refused.message


async def test_the_daily_limit_is_any_24_hours(store: QuotaStore, clock: FakeClock):
    gate = gate_on(store, clock, images_per_hour=3, images_per_day=4)
    await generate(gate, ALICE, images=3)
    clock.at(16)
    await generate(gate, ALICE)
    clock.at(20)
    refused = await refusal(gate, ALICE)
    assert refused.limit == "day"
    assert "Daily (24-hour) limit reached: 0 of 4 images per 24 hours left" in refused.message
    assert "3 more images after 14:00 UTC tomorrow" in refused.message
    clock.at(14, 0, 1, day=30)
    await generate(gate, ALICE, images=3)


async def test_the_daily_budget_caps_the_whole_demo_until_midnight_utc(store: QuotaStore, clock: FakeClock):
    gate = gate_on(store, clock, budget_micros=100_000, price_micros=40_000)  # $0.10 at $0.04 an image
    await generate(gate, ALICE)
    await generate(gate, BOB)
    refused = await refusal(gate, "addr-carol")
    assert refused.limit == "budget"
    assert "daily spending limit of $0.10 is reached ($0.02 left, and this needs up to $0.04)" in refused.message
    assert "2 more images after 00:00 UTC tomorrow" in refused.message
    clock.at(23, 59)
    await refusal(gate, ALICE)
    clock.at(0, 0, 1, day=30)
    await generate(gate, ALICE, images=2)


async def test_a_sequence_reserves_its_maximum_and_gives_back_what_did_not_come(store: QuotaStore, clock: FakeClock):
    gate = gate_on(store, clock, images_per_hour=6, budget_micros=400_000, price_micros=40_000)
    async with gate.reserve(ALICE, images=4) as sequence:
        assert (await gate.spent(ALICE)).hour_left == 2
        assert (await refusal(gate, ALICE, images=3)).limit == "hour"  # the 4 in flight count meanwhile
        charge = await sequence.settle(1)
    assert (charge.images, charge.cost, charge.text) == (1, 0.04, "1 image · about $0.04")
    standing = await gate.spent(ALICE)
    assert (standing.hour_images, standing.hour_left, standing.in_flight) == (1, 5, 0)
    assert standing.budget_left == pytest.approx(0.36)
    await generate(gate, ALICE, images=5)


async def test_an_error_before_settling_gives_everything_back(store: QuotaStore, clock: FakeClock):
    gate = gate_on(store, clock, images_per_hour=4, concurrency=1)
    with pytest.raises(BadRequestError):
        async with gate.reserve(ALICE, images=4):
            raise BadRequestError("the API refused the prompt", status_code=400)
    standing = await gate.spent(ALICE)
    assert (standing.hour_images, standing.in_flight) == (0, 0)
    await generate(gate, ALICE, images=4)


@pytest.mark.parametrize("error", [APITimeoutError("no answer in time"), asyncio.CancelledError()])
async def test_a_call_that_may_have_been_billed_stays_counted(store: QuotaStore, clock: FakeClock, error):
    gate = gate_on(store, clock, images_per_hour=4, concurrency=1)
    with pytest.raises(type(error)):
        async with gate.reserve(ALICE, images=3):
            raise error
    standing = await gate.spent(ALICE)
    assert (standing.hour_images, standing.in_flight) == (3, 0)


async def test_at_most_the_allowed_generations_are_in_flight_per_visitor(store: QuotaStore, clock: FakeClock):
    gate = gate_on(store, clock, concurrency=2)
    async with gate.reserve(ALICE, images=1) as first, gate.reserve(ALICE, images=1):
        refused = await refusal(gate, ALICE)
        assert refused.limit == "concurrency"
        assert "Limit of 2 generations at once per visitor" in refused.message
        assert "when one of yours finishes" in refused.message
        await generate(gate, BOB)
        await first.settle(1)
        await generate(gate, ALICE)


async def test_an_abandoned_reservation_stops_counting_as_in_flight_when_its_lease_ends(
    store: QuotaStore, clock: FakeClock
):
    gate = gate_on(store, clock, concurrency=1, lease_seconds=600)
    reservation = gate.reserve(ALICE, images=2)
    await reservation.__aenter__()  # a process that died mid-generation never settles
    await refusal(gate, ALICE)
    clock.advance(minutes=11)
    await generate(gate, ALICE)
    assert (await gate.spent(ALICE)).hour_images == 3  # its images stay counted: they may have been billed


async def test_your_own_key_is_never_counted(store: QuotaStore, clock: FakeClock):
    gate = gate_on(store, clock, images_per_hour=1, concurrency=1, budget_micros=40_000, price_micros=40_000)
    await generate(gate, ALICE)
    await refusal(gate, ALICE)
    for _ in range(3):
        async with gate.reserve(ALICE, images=4, own_key=True) as own, gate.reserve(ALICE, images=4, own_key=True):
            charge = await own.settle(4)
    assert (charge.images, charge.cost, charge.text) == (4, 0.0, "4 images · about $0.16 on your key")
    standing = await gate.spent(ALICE)
    assert (standing.hour_images, standing.in_flight, standing.budget_left) == (1, 0, 0.0)


async def test_repeated_rejected_keys_pause_the_key_box(store: QuotaStore, clock: FakeClock):
    gate = gate_on(store, clock, images_per_hour=5)
    for minute in range(5):
        clock.at(14, minute)
        with pytest.raises(AuthenticationError):
            async with gate.reserve(ALICE, images=1, own_key=True):
                raise AuthenticationError("the API key was rejected", status_code=401)
    clock.at(14, 6)
    with pytest.raises(KeyPausedError) as caught:
        async with gate.reserve(ALICE, images=1, own_key=True):
            pytest.fail("a paused key box must not let a key through")
    assert "the limit is 5 failed keys in 10 minutes" in caught.value.message
    assert "paused until 14:10 UTC" in caught.value.message  # when the first failure leaves the window
    assert await gate.key_paused_until(ALICE) == caught.value.until
    assert await gate.key_paused_until(BOB) is None
    await generate(gate, ALICE)  # the demo's key still works for them
    async with gate.reserve(BOB, images=1, own_key=True):
        pass
    clock.at(14, 10, 1)
    async with gate.reserve(ALICE, images=1, own_key=True):
        pass


async def test_four_rejected_keys_do_not_pause(store: QuotaStore, clock: FakeClock):
    gate = gate_on(store, clock)
    for _ in range(4):
        await gate.record_key_failure(ALICE)
    async with gate.reserve(ALICE, images=1, own_key=True):
        pass


class BrokenStore:
    """A store whose database is gone: every call fails."""

    description = "broken"

    def __getattr__(self, name: str):
        def fail(*args: object) -> None:
            raise StoreError("disk I/O error")

        return fail


async def test_when_the_store_fails_the_servers_key_fails_closed_and_own_keys_still_work(clock: FakeClock):
    gate = gate_on(BrokenStore(), clock, images_per_hour=5)  # type: ignore[arg-type]
    with pytest.raises(QuotaUnavailableError) as caught:
        await generate(gate, ALICE)
    assert "cannot check its usage limits right now" in caught.value.message
    assert "own API key" in caught.value.message
    async with gate.reserve(ALICE, images=1, own_key=True) as own:
        await own.settle(1)


def test_the_estimate_before_a_click_names_images_and_cost(store: QuotaStore, clock: FakeClock):
    gate = gate_on(store, clock, price_micros=40_000)
    assert gate.estimate(1) == "1 image · about $0.04"
    assert gate.estimate(15) == "up to 15 images · about $0.60"
    assert gate_on(store, clock, price_micros=2_500).estimate(1) == "1 image · about $0.0025"


async def test_in_offline_preview_nothing_is_counted_or_billed(store: QuotaStore, clock: FakeClock):
    gate = gate_on(store, clock, images_per_hour=1, concurrency=1, preview=True)
    for _ in range(3):
        async with gate.reserve(ALICE, images=4) as reservation:
            charge = await reservation.settle(4)
    assert (charge.cost, charge.text) == (0.0, "4 images · preview, nothing billed")
    assert (await gate.spent(ALICE)).hour_images == 0


def test_the_session_total_names_images_and_cost(store: QuotaStore, clock: FakeClock):
    assert gate_on(store, clock, price_micros=40_000).session_text(5) == "this session: 5 images · about $0.20"


class HeldStore:
    """Wraps a store; `reserve` waits until the test lets it answer, like a slow disk or network."""

    def __init__(self, store: QuotaStore) -> None:
        self.store = store
        self.entered, self.answer, self.settled = threading.Event(), threading.Event(), threading.Event()

    def __getattr__(self, name: str):
        return getattr(self.store, name)

    def reserve(self, *args):
        self.entered.set()
        self.answer.wait(30)
        return self.store.reserve(*args)

    def settle(self, *args):
        self.store.settle(*args)
        self.settled.set()


async def test_a_visitor_who_stops_while_the_store_decides_gets_the_reservation_back(
    store: QuotaStore, clock: FakeClock
):
    held = HeldStore(store)
    gate = gate_on(held, clock, images_per_hour=5, concurrency=1)  # type: ignore[arg-type]

    async def generate_and_send() -> None:
        async with gate.reserve(ALICE, images=4):
            pytest.fail("a stopped generation must not be sent")

    task = asyncio.create_task(generate_and_send())
    assert await asyncio.to_thread(held.entered.wait, 30)
    task.cancel()
    held.answer.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(held.settled.wait, 30)
    standing = await gate.spent(ALICE)
    assert (standing.hour_images, standing.in_flight) == (0, 0)
