"""The one seam the page and the MCP tool share: `generation.generate(..., reserve=)` against the stand-in, with a
real gate on an SQLite store and a clock the tests move. What reached the stand-in is what was spent."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from seedream_ui import generation as gen
from seedream_ui.client import SeedreamClient
from seedream_ui.errors import AuthenticationError, ValidationError
from seedream_ui.quotas import KeyPausedError, QuotaExceededError, QuotaGate, QuotaUnavailableError
from seedream_ui.quotas.errors import StoreError
from seedream_ui.quotas.sqlite_store import SQLiteStore
from seedream_ui.stub_api import StubServer
from seedream_ui.ui_limits import cost_hint, visit_for
from tests.quotas_support import FakeClock, gate_on

SMALL = "1920x1920"
VISITOR = SimpleNamespace(client=SimpleNamespace(host="203.0.113.9"), headers={})


@pytest.fixture
async def client(stub: StubServer) -> AsyncIterator[SeedreamClient]:
    async with SeedreamClient(api_url=stub.url, max_retries=0, read_timeout=20) as seedream:
        yield seedream


@pytest.fixture
def gate(tmp_path: Path) -> Iterator[QuotaGate]:
    opened = gate_on(SQLiteStore(tmp_path / "data"), FakeClock(), images_per_hour=3)
    yield opened
    opened.close()


async def make(client: SeedreamClient, tmp_path: Path, form: gen.GenerationForm, reserve: gen.Reserve | None,
               key: str = "server-key") -> gen.Generation:  # fmt: skip
    return await gen.generate(client, form, api_key=key, output_root=tmp_path, reserve=reserve)


async def test_a_sequence_reserves_its_maximum_and_settles_what_came_back(
    client: SeedreamClient, gate: QuotaGate, tmp_path: Path
) -> None:
    visit = await visit_for(gate, VISITOR, api_key="")
    form = gen.GenerationForm(prompt="storyboard", size=SMALL, sequential_image_generation="auto", max_images=2)
    done = await make(client, tmp_path, form, visit.reserve)

    assert visit.reservation is not None and visit.reservation.images == 2
    assert len(done.files) == 2 and visit.server_images() == 2
    assert (await gate.spent(await gate.visitor(VISITOR))).hour_left == 1


async def test_an_invalid_request_reserves_nothing(client: SeedreamClient, tmp_path: Path, stub: StubServer) -> None:
    asked: list[int] = []

    @asynccontextmanager
    async def reserve(images: int) -> AsyncIterator[Any]:
        asked.append(images)
        yield None

    with pytest.raises(ValidationError):
        await make(client, tmp_path, gen.GenerationForm(prompt="boat", size="12x12"), reserve)
    assert asked == [] and stub.requests() == []


async def test_a_refusal_sends_nothing(client: SeedreamClient, gate: QuotaGate, tmp_path: Path, stub: StubServer) -> None:
    visit = await visit_for(gate, VISITOR, api_key="")
    form = gen.GenerationForm(prompt="too many", size=SMALL, sequential_image_generation="auto", max_images=4)
    with pytest.raises(QuotaExceededError, match="limit"):
        await make(client, tmp_path, form, visit.reserve)
    assert stub.requests() == []


class BrokenStore:
    """A usage store whose database is gone: every call fails as a store fails."""

    description = "broken"

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any) -> Any:
            raise StoreError("database is gone")

        return fail

    def close(self) -> None:
        pass


async def test_an_own_key_is_not_counted_even_when_the_store_is_down(
    client: SeedreamClient, tmp_path: Path, stub: StubServer
) -> None:
    gate = gate_on(BrokenStore(), FakeClock(), images_per_hour=3)
    server = await visit_for(gate, VISITOR, api_key="")
    own = await visit_for(gate, VISITOR, api_key="  my-own-key ")

    with pytest.raises(QuotaUnavailableError, match="cannot check its usage limits"):
        await make(client, tmp_path, gen.GenerationForm(prompt="server", size=SMALL), server.reserve)
    done = await make(client, tmp_path, gen.GenerationForm(prompt="mine", size=SMALL), own.reserve, key="my-own-key")
    assert len(done.files) == 1 and own.payer == "own" and own.server_images() == 0
    assert [r["api_key"] for r in stub.requests()] == ["my-own-key"]


async def test_rejected_own_keys_pause_the_key_box(
    client: SeedreamClient, gate: QuotaGate, tmp_path: Path, stub: StubServer
) -> None:
    for _ in range(gate.limits.key_failures):
        await gate.record_key_failure(await gate.visitor(VISITOR))
    visit = await visit_for(gate, VISITOR, api_key="another-key")
    with pytest.raises(KeyPausedError, match="paused until"):
        await make(client, tmp_path, gen.GenerationForm(prompt="mine", size=SMALL), visit.reserve, key="another-key")
    assert await gate.key_paused_until(await gate.visitor(VISITOR)) is not None
    assert stub.requests() == []


async def test_an_own_key_the_api_rejects_is_recorded(gate: QuotaGate) -> None:
    visit = await visit_for(gate, VISITOR, api_key="stolen-key")
    with pytest.raises(AuthenticationError):
        async with visit.reserve(1):
            raise AuthenticationError("invalid key")
    assert len(gate.store.key_failures(await gate.visitor(VISITOR), gate.clock(), 600)) == 1


def test_the_cost_line_says_who_pays(gate: QuotaGate) -> None:
    single = cost_hint(gate, "disabled", 4, "")
    assert single == "Cost: 1 image · about $0.04 on the demo's key · limit 3 images an hour per visitor"
    assert cost_hint(gate, "auto", 4, "").startswith("Cost: up to 4 images · about $0.16")
    assert cost_hint(gate, "auto", 4, "own") == "Billed to your own API key; not counted against the demo's limits."
    gate.preview = True
    assert cost_hint(gate, "auto", 4, "") == "Offline preview: placeholder images, nothing billed."
