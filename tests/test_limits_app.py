"""Visitor limits through the real app (issue 10): `python app.py` on the server's key, pointed at the stand-in,
driven over HTTP by gradio_client and the MCP SDK as visitors and agents would. What counts is what reached the
stand-in: its request log is the bill."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gradio_client import Client

from seedream_ui.stub_api import StubServer
from tests.quotas_support import RedisServer
from tests.support import AppProcess, app_process, generate_inputs
from tests.test_mcp import call, texts

pytest_plugins = ["tests.quotas_fixtures"]

SERVER_KEY = "server-key-limits-41c7"
OWN_KEY = "visitor-own-key-88d1"


@contextmanager
def limited_app(workdir: Path, stub: StubServer, **env: str) -> Iterator[AppProcess]:
    """`python app.py` with the server's key, counters under `workdir`/data, and only the limits given in `env`."""
    workdir.mkdir(parents=True, exist_ok=True)
    settings = {"SEEDREAM_API_URL": stub.url, "SEEDREAM_API_KEY": SERVER_KEY, "SEEDREAM_MAX_RETRIES": "0"}
    with app_process(workdir, settings | env) as app:
        yield app


@contextmanager
def visitor(app: AppProcess) -> Iterator[Client]:
    session = Client(app.url, verbose=False, download_files=False)
    try:
        yield session
    finally:
        session.close()


def generate(session: Client, **fields: Any) -> str:
    """One click on Generate: the status line, or the message of the refusal (prefixed "refused: ")."""
    try:
        return str(session.predict(**generate_inputs(**fields), api_name="/generate")[2])
    except Exception as exc:  # gradio_client's AppError carries the page's message
        return f"refused: {exc}"


def images_sent(stub: StubServer, key: str = SERVER_KEY) -> int:
    """Images the stand-in was asked for on `key`: the most a sequence may return, else one."""
    total = 0
    for sent in stub.requests():
        if sent["api_key"] != key:
            continue
        body = sent["body"]
        sequence = body.get("sequential_image_generation") == "auto"
        total += body.get("sequential_image_generation_options", {}).get("max_images", 15) if sequence else 1
    return total


# ---- one visitor, one process --------------------------------------------------------------------------


def test_a_burst_of_30_requests_sends_at_most_the_images_the_visitor_has(stub: StubServer, tmp_path: Path) -> None:
    with limited_app(tmp_path, stub, SEEDREAM_VISITOR_IMAGES_PER_HOUR="5") as app, visitor(app) as session:
        jobs = [session.submit(**generate_inputs(f"burst {i}"), api_name="/generate") for i in range(30)]
        outcomes = []
        for job in jobs:
            try:
                outcomes.append(str(job.result(timeout=120)[2]))
            except Exception as exc:
                outcomes.append(f"refused: {exc}")

    assert images_sent(stub) == 5
    assert sum(o.startswith("✓") for o in outcomes) == 5
    refusals = [o for o in outcomes if o.startswith("refused")]
    assert len(refusals) == 25 and all("limit" in r and "own API key" in r for r in refusals)


def test_the_status_shows_what_a_generation_cost_and_the_session_total(stub: StubServer, tmp_path: Path) -> None:
    with limited_app(tmp_path, stub, SEEDREAM_PRICE_PER_IMAGE="0.05") as app, visitor(app) as session:
        first = generate(session)
        second = generate(session, sequential_image_generation="auto", max_images=3)

    assert "cost 1 image · about $0.05 · this session: 1 image · about $0.05" in first
    assert "cost 3 images · about $0.15 · this session: 4 images · about $0.20" in second


def test_a_sequence_reserves_its_maximum_before_sending(stub: StubServer, tmp_path: Path) -> None:
    with limited_app(tmp_path, stub, SEEDREAM_VISITOR_IMAGES_PER_HOUR="4") as app, visitor(app) as session:
        assert generate(session).startswith("✓")
        refused = generate(session, sequential_image_generation="auto", max_images=4)
        fits = generate(session, sequential_image_generation="auto", max_images=3)

    assert refused.startswith("refused") and "this needs up to 4 images" in refused
    assert fits.startswith("✓ 3 images")
    assert images_sent(stub) == 4


def test_a_restart_keeps_the_counters(stub: StubServer, tmp_path: Path) -> None:
    limits = {"SEEDREAM_VISITOR_IMAGES_PER_HOUR": "2"}
    with limited_app(tmp_path, stub, **limits) as app, visitor(app) as session:
        assert generate(session).startswith("✓") and generate(session).startswith("✓")
    with limited_app(tmp_path, stub, **limits) as app, visitor(app) as session:
        after_restart = generate(session)

    assert after_restart.startswith("refused") and "Hourly limit reached: 0 of 2 images" in after_restart
    assert images_sent(stub) == 2


def test_the_visitors_own_key_is_not_counted(stub: StubServer, tmp_path: Path) -> None:
    with limited_app(tmp_path, stub, SEEDREAM_VISITOR_IMAGES_PER_HOUR="1") as app, visitor(app) as session:
        assert generate(session).startswith("✓")
        own = [generate(session, api_key=OWN_KEY) for _ in range(3)]
        server_again = generate(session)

    assert all(o.startswith("✓") and "on your own key, not counted" in o and "this session" not in o for o in own)
    assert server_again.startswith("refused") and "limit" in server_again
    assert images_sent(stub, OWN_KEY) == 3 and images_sent(stub) == 1


def test_start_up_says_which_daily_cap_is_in_force_when_none_is_set(stub: StubServer, tmp_path: Path) -> None:
    with limited_app(tmp_path, stub, SEEDREAM_DAILY_BUDGET="", SEEDREAM_PRICE_PER_IMAGE="0.04") as app:
        log = app.log()
    assert "SEEDREAM_DAILY_BUDGET is not set: spending on the server's key is capped at $10.00 per UTC day" in log
    assert SERVER_KEY not in log


async def test_a_keyless_mcp_call_counts_against_the_visitors_quota(stub: StubServer, tmp_path: Path) -> None:
    with limited_app(tmp_path, stub, SEEDREAM_VISITOR_IMAGES_PER_HOUR="1") as app:
        first = await call(app.url, {"prompt": "an agent's lighthouse", "size": "1920x1920"})
        second = await call(app.url, {"prompt": "one more", "size": "1920x1920"})
        with visitor(app) as session:
            page = generate(session)  # the same address: the same visitor

    assert not first.isError and "cost 1 image · about $0.04" in texts(first)[-1]
    assert second.isError and "Hourly limit reached" in texts(second)[0]
    assert page.startswith("refused") and "Hourly limit reached" in page
    assert images_sent(stub) == 1


# ---- several processes, one Redis ------------------------------------------------------------------------


def test_two_processes_sharing_redis_enforce_one_quota(stub: StubServer, redis_url: str, tmp_path: Path) -> None:
    shared = {"SEEDREAM_REDIS_URL": redis_url, "SEEDREAM_VISITOR_IMAGES_PER_HOUR": "3"}
    with (
        limited_app(tmp_path / "a", stub, **shared) as first,
        limited_app(tmp_path / "b", stub, **shared) as second,
        visitor(first) as on_first,
        visitor(second) as on_second,
    ):
        outcomes = [generate(on_first), generate(on_second), generate(on_first), generate(on_second)]

    assert [o.startswith("✓") for o in outcomes] == [True, True, True, False]
    assert "Hourly limit reached: 0 of 3 images" in outcomes[3]
    assert images_sent(stub) == 3


def test_redis_stopping_fails_the_server_key_closed_and_it_recovers(stub: StubServer, tmp_path: Path) -> None:
    (tmp_path / "redis").mkdir()
    redis_server = RedisServer(tmp_path / "redis").start()  # its own: this test stops it
    try:
        env = {"SEEDREAM_REDIS_URL": redis_server.url}
        with limited_app(tmp_path / "app", stub, **env) as app, visitor(app) as session:
            before = generate(session)
            redis_server.stop()
            while_down = generate(session)
            own_key_while_down = generate(session, api_key=OWN_KEY)
            redis_server.start()
            after = generate(session)
    finally:
        redis_server.stop()

    assert before.startswith("✓") and after.startswith("✓")
    assert while_down.startswith("refused") and "cannot check its usage limits" in while_down
    assert own_key_while_down.startswith("✓")
    assert images_sent(stub) == 2 and images_sent(stub, OWN_KEY) == 1
