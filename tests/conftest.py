"""Shared fixtures. Other test modules add their own; keep this one small."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gradio_client import Client

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


@pytest.fixture(scope="module")
def module_client(app: object) -> Iterator[Client]:
    """One gradio_client Client for a module's `app` fixture (any object with a `.url`): start-up paid once."""
    session = Client(app.url, verbose=False, download_files=False)  # type: ignore[attr-defined]
    yield session
    session.close()


@pytest.fixture
def client(module_client: Client) -> Client:
    """A fresh session (its own history) for each test, on the module's shared Client."""
    module_client.reset_session()
    return module_client
