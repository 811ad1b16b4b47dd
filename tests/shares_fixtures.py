"""Fixtures of the tests/test_shares*.py modules and of the share and history browser tests, imported by name
(`from tests.shares_fixtures import clock, store`), never loaded as a plugin: a plugin's fixtures are global, and
the quota tests' plugin has a `clock` and a `store` of its own. Which one a test got depended on the order the
modules were collected in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

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


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SEEDREAM_DATA_DIR of a browser module's app (its shares and history), which its tests look into."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small PNG for the page's upload box, named as a visitor's file would be."""
    path = tmp_path_factory.mktemp("refs") / "teapot.png"
    Image.new("RGB", (64, 48), (30, 120, 200)).save(path, "PNG")
    return path
