"""Shared fixtures. Other test modules add their own; keep this one small."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from seedream_ui.stub_api import StubConfig, StubServer


@pytest.fixture(scope="session")
def stub_server() -> Iterator[StubServer]:
    """One stand-in API for the whole session (starting uvicorn per test would cost ~0.2 s each)."""
    with StubServer(StubConfig()) as server:
        yield server


@pytest.fixture
def stub(stub_server: StubServer) -> StubServer:
    """The session's stand-in with no recorded requests and an empty fault queue."""
    stub_server.reset()
    return stub_server
