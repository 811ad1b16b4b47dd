"""Fixtures of the tests/test_shares*.py modules: `pytest_plugins = ["tests.shares_fixtures"]`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from seedream_ui.shares import ShareLimits, ShareStore
from tests.shares_support import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[ShareStore]:
    shares = ShareStore(tmp_path / "data", ShareLimits(), clock=clock)
    yield shares
    shares.close()
