"""The stores under concurrency and failure: bursts grant at most the quota, counters outlive the process,
several processes share one quota, and Redis going away fails the server's key closed until it is back."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from seedream_ui.quotas import (
    Limits,
    QuotaExceededError,
    QuotaGate,
    QuotaStore,
    QuotaUnavailableError,
)
from seedream_ui.quotas.redis_store import RedisStore
from seedream_ui.quotas.sqlite_store import SQLiteStore
from seedream_ui.quotas.store import Ask
from seedream_ui.stub_api import StubServer
from tests.quotas_support import START, FakeClock, RedisServer, gate_on
from tests.support import ROOT, SMALL

pytest_plugins = ["tests.quotas_fixtures"]

VISITOR = "addr-burst"


async def burst(gate: QuotaGate, requests: int = 30, images: int = 1) -> int:
    """`requests` simultaneous generations from one visitor; the images granted."""
    start = asyncio.Event()

    async def one() -> int:
        await start.wait()
        try:
            async with gate.reserve(VISITOR, images=images) as reservation:
                await asyncio.sleep(0)  # hold the reservation while the others try
                await reservation.settle(images)
                return images
        except QuotaExceededError:
            return 0

    tasks = [asyncio.create_task(one()) for _ in range(requests)]
    start.set()
    return sum(await asyncio.gather(*tasks))


async def test_a_burst_of_30_with_5_images_left_grants_5(store: QuotaStore, clock: FakeClock):
    gate = gate_on(store, clock, images_per_hour=8)
    async with gate.reserve(VISITOR, images=3) as earlier:
        await earlier.settle(3)
    assert await burst(gate) == 5
    assert (await gate.spent(VISITOR)).hour_images == 8


async def test_a_burst_of_sequences_never_reserves_more_than_is_left(store: QuotaStore, clock: FakeClock):
    gate = gate_on(store, clock, images_per_day=10)
    assert await burst(gate, images=4) == 8  # two sequences of 4 fit in 10; a third would not


async def test_a_burst_against_the_stand_in_sends_at_most_the_allowed_images(
    store: QuotaStore, clock: FakeClock, stub: StubServer
):
    gate = gate_on(store, clock, images_per_hour=5)
    async with httpx.AsyncClient(timeout=60) as http:

        async def generate() -> None:
            async with gate.reserve(VISITOR, images=1) as reservation:
                answer = await http.post(
                    stub.url, json={"prompt": "a lighthouse", "size": SMALL}, headers={"Authorization": "Bearer k"}
                )
                await reservation.settle(len(answer.json()["images"]))

        outcomes = await asyncio.gather(*(generate() for _ in range(30)), return_exceptions=True)
    refused = [o for o in outcomes if isinstance(o, QuotaExceededError)]
    assert len(refused) == 25 and all(o is None or isinstance(o, QuotaExceededError) for o in outcomes)
    assert len(stub.requests()) == 5


def test_threads_sharing_one_sqlite_store_grant_at_most_the_quota(tmp_path: Path):
    store = SQLiteStore(tmp_path)
    limits = Limits(images_per_hour=5, images_per_day=0, concurrency=0)
    barrier = threading.Barrier(30)

    def reserve(_: int) -> bool:
        barrier.wait()
        ask = Ask(uuid.uuid4().hex, VISITOR, 1, 40_000, START, START + 900)
        return store.reserve(ask, limits).granted

    with ThreadPoolExecutor(30) as pool:
        assert sum(pool.map(reserve, range(30))) == 5
    store.close()


PROCESS = """
import os, sys, time, uuid
from seedream_ui.quotas.limits import Limits
from seedream_ui.quotas.sqlite_store import SQLiteStore
from seedream_ui.quotas.store import Ask
store = SQLiteStore(sys.argv[1])
limits = Limits(images_per_hour=7, images_per_day=0, concurrency=0)
print("ready", flush=True)
while not os.path.exists(sys.argv[2]):  # start together
    time.sleep(0.002)
granted = sum(store.reserve(Ask(uuid.uuid4().hex, "addr-burst", 1, 40_000, {start}, {start} + 900), limits).granted
              for _ in range(5))
print(granted)
"""


def test_processes_sharing_one_sqlite_file_grant_at_most_the_quota(tmp_path: Path):
    go = tmp_path / "go"
    script = textwrap.dedent(PROCESS).format(start=START)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path), str(go)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for _ in range(6)
    ]
    for process in processes:
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
    go.touch()  # every process has its store open: now they race
    granted = [int(p.communicate(timeout=120)[0]) for p in processes]
    assert sum(granted) == 7  # 30 attempts over 6 processes


async def test_a_new_store_on_the_same_data_dir_keeps_the_counters_and_the_visitor_ids(tmp_path: Path):
    clock = FakeClock()
    request = type("Request", (), {"username": None, "headers": {}, "client": type("C", (), {"host": "203.0.113.9"})})
    first = gate_on(SQLiteStore(tmp_path), clock, images_per_hour=5)
    visitor = await first.visitor(request)
    async with first.reserve(visitor, images=3) as reservation:
        await reservation.settle(3)
    first.close()
    again = gate_on(SQLiteStore(tmp_path), clock, images_per_hour=5)
    assert await again.visitor(request) == visitor
    assert (await again.spent(visitor)).hour_left == 2
    again.close()


RESTART = """
import asyncio, sys
from seedream_ui.config import load_settings
from seedream_ui.quotas import QuotaGate
async def main():
    gate = QuotaGate.from_settings(load_settings(dotenv_path=None), clock=lambda: {now})
    visitor = await gate.visitor(None, username="alice")
    async with gate.reserve(visitor, images=int(sys.argv[1])) as reservation:
        await reservation.settle(int(sys.argv[1]))
    print(visitor, (await gate.spent(visitor)).hour_images)
asyncio.run(main())
"""


def test_counters_survive_a_real_process_restart(tmp_path: Path):
    env = {"SEEDREAM_DATA_DIR": str(tmp_path / "data"), "SEEDREAM_API_KEY": "k", "PATH": "/usr/bin:/bin"}
    script = textwrap.dedent(RESTART).format(now=START)

    def run(images: int) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", script, str(images)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    first_id, first_count = run(2)
    second_id, second_count = run(3)
    assert (first_count, second_count) == ("2", "5")
    assert first_id == second_id  # the salt was kept too


async def test_two_app_processes_on_one_redis_enforce_one_quota(redis_url: str, clock: FakeClock):
    # Two stores with their own connection pools stand for two app processes behind a load balancer.
    one, two = RedisStore.from_url(redis_url), RedisStore.from_url(redis_url)
    gates = [gate_on(store, clock, images_per_hour=6) for store in (one, two)]
    assert await gates[0].visitor(None) == await gates[1].visitor(None)  # one salt, one visitor id
    granted = await asyncio.gather(burst(gates[0], requests=15), burst(gates[1], requests=15))
    assert sum(granted) == 6
    for gate in gates:
        assert (await gate.spent(VISITOR)).hour_left == 0
        gate.close()


async def test_redis_stopping_fails_the_servers_key_closed_until_it_is_back(tmp_path: Path, clock: FakeClock):
    server = RedisServer(tmp_path).start()
    try:
        gate = gate_on(RedisStore.from_url(server.url), clock, images_per_hour=5)
        async with gate.reserve(VISITOR, images=1) as reservation:
            server.stop()
            charge = await reservation.settle(1)  # the images came back: the visitor still gets them
        assert charge.images == 1
        with pytest.raises(QuotaUnavailableError) as caught:
            async with gate.reserve(VISITOR, images=1):
                pytest.fail("nothing may be sent while the limits cannot be checked")
        assert "cannot check its usage limits right now" in caught.value.message
        assert "own API key" in caught.value.message and "redis://" not in caught.value.message
        async with gate.reserve(VISITOR, images=1, own_key=True) as own:  # the visitor's own key still works
            await own.settle(1)
        server.start()
        async with gate.reserve(VISITOR, images=1) as reservation:
            await reservation.settle(1)
        assert (await gate.spent(VISITOR)).hour_images == 1  # an in-memory Redis restarts empty
        gate.close()
    finally:
        server.stop()
