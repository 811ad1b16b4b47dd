"""Helpers of the tests/test_quotas*.py modules: a real redis-server, a clock the tests move, a gate on a store.

Their fixtures are in tests/quotas_fixtures.py (a plugin: `pytest_plugins = ["tests.quotas_fixtures"]`)."""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis

from seedream_ui.quotas import Limits, QuotaGate, QuotaStore
from tests.support import free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
# 14:00 UTC on a known day: messages name clock times, so tests start from a round one.
START = datetime(2026, 11, 29, 14, 0, tzinfo=UTC).timestamp()


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float = 0, *, minutes: float = 0, hours: float = 0) -> None:
        self.now += seconds + 60 * minutes + 3600 * hours

    def at(self, hour: int, minute: int = 0, second: int = 0, *, day: int = 29) -> None:
        self.now = datetime(2026, 11, day, hour, minute, second, tzinfo=UTC).timestamp()


class RedisServer:
    """redis-server on 127.0.0.1 on a free port, in memory only; can be stopped and started again on that port."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20.0) -> RedisServer:
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            args, cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + timeout
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.05)
        client.close()
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


def gate_on(store: QuotaStore, clock: FakeClock, *, preview: bool = False, **limits: Any) -> QuotaGate:
    """A gate with no limits except those given (0 = unlimited): each test names the limit it exercises."""
    settings = {"images_per_hour": 0, "images_per_day": 0, "concurrency": 0, "budget_micros": 0} | limits
    return QuotaGate(store, Limits(**settings), clock=clock, preview=preview)
