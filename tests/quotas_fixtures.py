"""Fixtures of the tests/test_quotas*.py modules, loaded with `pytest_plugins = ["tests.quotas_fixtures"]`:
one redis-server for the session, a clock the tests move, and a `store` fixture that runs a test on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from seedream_ui.quotas import QuotaStore
from seedream_ui.quotas.redis_store import RedisStore
from seedream_ui.quotas.sqlite_store import SQLiteStore
from tests.quotas_support import REDIS_SERVER, FakeClock, RedisServer


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    if not Path(REDIS_SERVER).exists():
        pytest.fail("redis-server is not installed: tests/run.sh installs Debian's redis-server")
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's redis-server, emptied for this test."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[QuotaStore]:
    """Each behaviour is checked on both stores."""
    opened: QuotaStore
    if request.param == "sqlite":
        opened = SQLiteStore(tmp_path / "data")
    else:
        opened = RedisStore.from_url(request.getfixturevalue("redis_url"))
    yield opened
    opened.close()
