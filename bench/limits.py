"""What the visitor limits add to one generation: `python -m bench.limits [--runs 400]`.

Per generation the page does: who the visitor is (`gate.visitor`, the salt cached), `gate.reserve` (one atomic
transaction or Lua script), the paid call, `settle` (one more). Here the paid call is a no-op, so the difference
between the two sides is the limits' whole cost. Both sides run in the same process and run, interleaved (A B, B A,
...), for the embedded SQLite store and for a redis-server on loopback started by this script. Visitors rotate over
1,000 addresses under realistic limits, so each visitor's usage stays as small as it is in real use.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace

from seedream_ui.quotas import Limits, QuotaGate, QuotaStore
from seedream_ui.quotas.redis_store import RedisStore
from seedream_ui.quotas.sqlite_store import SQLiteStore

BUDGET = 10_000_000_000  # micro-dollars: large enough never to refuse during the run
LIMITS = Limits(images_per_hour=10_000, images_per_day=10_000, concurrency=2, budget_micros=BUDGET)


def request(index: int) -> SimpleNamespace:
    return SimpleNamespace(client=SimpleNamespace(host=f"10.{index // 250 % 250}.{index % 250}.7"), headers={})


async def paid_call() -> int:
    await asyncio.sleep(0)
    return 1


async def without_limits(index: int) -> None:
    await paid_call()


def with_limits(gate: QuotaGate) -> Callable[[int], Awaitable[None]]:
    async def generation(index: int) -> None:
        visitor = await gate.visitor(request(index % 1000))
        async with gate.reserve(visitor, images=1) as reservation:
            await reservation.settle(await paid_call())

    return generation


async def paired(gate: QuotaGate, runs: int) -> tuple[list[float], list[float]]:
    sides: dict[str, list[float]] = {"base": [], "limits": []}
    functions = {"base": without_limits, "limits": with_limits(gate)}
    for index in range(20):  # warm-up: connections, the salt, SQLite's page cache
        await functions["limits"](index)
    for index in range(runs):
        order = ("base", "limits") if index % 2 == 0 else ("limits", "base")
        for side in order:
            started = time.perf_counter()
            await functions[side](index)
            sides[side].append((time.perf_counter() - started) * 1000)
    return sides["base"], sides["limits"]


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18]


def report(name: str, base: list[float], limits: list[float]) -> str:
    added = statistics.median(limits) - statistics.median(base)
    return (
        f"| {name} | {len(limits)} | {statistics.median(base):.3f} | {statistics.median(limits):.3f} | "
        f"{p95(limits):.3f} | **{added:.2f}** |"
    )


def start_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    from tests.quotas_support import RedisServer  # the tests' runner: 127.0.0.1, a free port, in memory only

    server = RedisServer(workdir).start()
    assert server.process is not None
    return server.process, server.url


async def measure(store: QuotaStore, runs: int) -> tuple[list[float], list[float]]:
    gate = QuotaGate(store, LIMITS)
    try:
        return await paired(gate, runs)
    finally:
        gate.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=400, help="generations per side and store")
    args = parser.parse_args()
    rows = ["| store | generations | no limits, median ms | with limits, median ms | with limits, p95 ms | added, ms |",
            "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        rows.append(report("SQLite (embedded)", *asyncio.run(measure(SQLiteStore(Path(folder) / "data"), args.runs))))
        redis, url = start_redis(Path(folder))
        try:
            rows.append(report("Redis on loopback", *asyncio.run(measure(RedisStore.from_url(url), args.runs))))
        finally:
            redis.terminate()
            redis.wait(timeout=10)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
