"""The operator's view (`python -m seedream_ui usage`) and the settings behind the limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from seedream_ui.config import _VARIABLES, DEFAULT_DAILY_BUDGET, Settings, load_settings
from seedream_ui.errors import ConfigError
from seedream_ui.quotas import QuotaExceededError, QuotaGate, budget_notice
from seedream_ui.quotas.limits import Limits
from seedream_ui.quotas.usage import main
from tests.quotas_support import FakeClock
from tests.support import ROOT

pytest_plugins = ["tests.quotas_fixtures"]


@pytest.fixture(params=["sqlite", "redis"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    store = {"SEEDREAM_DATA_DIR": str(tmp_path / "data")}
    if request.param == "redis":
        store = {"SEEDREAM_REDIS_URL": request.getfixturevalue("redis_url")}
    return load_settings({"SEEDREAM_API_KEY": "k", "SEEDREAM_VISITOR_IMAGES_PER_HOUR": "3"} | store, None)


async def generate(gate: QuotaGate, visitor: str, images: int, returned: int) -> None:
    try:
        async with gate.reserve(visitor, images=images) as reservation:
            await reservation.settle(returned)
    except QuotaExceededError:
        pass


async def test_usage_prints_images_cost_and_refusals_per_day_and_the_top_visitors(
    settings: Settings, clock: FakeClock, capsys: pytest.CaptureFixture[str]
):
    gate = QuotaGate.from_settings(settings, clock=clock)
    clock.at(10, day=27)
    await generate(gate, "addr-aaaa", 4, 2)  # a sequence of up to 4 that returned 2
    await generate(gate, "addr-aaaa", 2, 2)  # refused: 2 + 2 > 3 an hour
    clock.at(9, day=29)
    await generate(gate, "user-bbbb", 1, 1)
    await generate(gate, "addr-aaaa", 3, 3)
    await generate(gate, "addr-aaaa", 1, 1)  # refused
    await generate(gate, "addr-aaaa", 1, 1)  # refused
    own = gate.reserve("addr-cccc", images=2, own_key=True)  # the visitor's key: not the operator's cost
    async with own as reservation:
        await reservation.settle(2)
    gate.close()

    assert main([], settings=settings, clock=clock) == 0
    out = capsys.readouterr().out
    assert "Cost is an estimate at $0.04 an image" in out and "daily budget: $10.00" in out
    assert "2026-11-29         4       $0.16         2" in out
    assert "2026-11-28         0       $0.00         0" in out
    assert "2026-11-27         2       $0.08         1" in out
    assert "2026-11-23" in out and "2026-11-22" not in out  # the last 7 days
    assert "total              6       $0.24         3" in out
    top = out.split("Top visitors")[1].splitlines()
    assert top[2].split() == ["addr-aaaa", "5", "$0.20", "3"]
    assert top[3].split() == ["user-bbbb", "1", "$0.04", "0"]
    assert "addr-cccc" not in out


async def test_usage_can_look_further_back_and_list_fewer_visitors(
    settings: Settings, clock: FakeClock, capsys: pytest.CaptureFixture[str]
):
    gate = QuotaGate.from_settings(settings, clock=clock)
    for visitor in ("addr-1", "addr-2", "addr-3"):
        await generate(gate, visitor, 1, 1)
    gate.close()
    assert main(["--days", "30", "--top", "1"], settings=settings, clock=clock) == 0
    out = capsys.readouterr().out
    assert "2026-10-31" in out and "addr-2" not in out


def test_usage_with_nothing_recorded_says_so_and_creates_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    settings = load_settings({"SEEDREAM_DATA_DIR": str(tmp_path / "data")}, None)
    assert main([], settings=settings) == 0
    assert "No usage recorded yet" in capsys.readouterr().out
    assert not (tmp_path / "data").exists()


def test_usage_when_redis_is_unreachable_fails_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    from tests.support import free_port

    settings = load_settings({"SEEDREAM_REDIS_URL": f"redis://:hunter2@127.0.0.1:{free_port()}/0"}, None)
    assert main([], settings=settings) == 1
    err = capsys.readouterr().err
    assert err.startswith("Cannot read the usage store: Redis unavailable") and "hunter2" not in err


# -- settings


def test_the_limits_default_to_values_that_suit_a_public_space():
    settings = load_settings({}, None)
    assert settings.price_per_image == 0.04
    assert (settings.visitor_images_per_hour, settings.visitor_images_per_day) == (15, 40)
    assert (settings.visitor_concurrency, settings.daily_budget, settings.trusted_proxies) == (2, None, ())
    assert (settings.data_dir, settings.redis_url) == ("./data", None)


def test_every_limit_is_read_from_the_environment():
    settings = load_settings(
        {
            "SEEDREAM_PRICE_PER_IMAGE": "0.035",
            "SEEDREAM_VISITOR_IMAGES_PER_HOUR": "0",
            "SEEDREAM_VISITOR_IMAGES_PER_DAY": "100",
            "SEEDREAM_VISITOR_CONCURRENCY": "1",
            "SEEDREAM_DAILY_BUDGET": "25.5",
            "SEEDREAM_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1",
            "SEEDREAM_DATA_DIR": "/data",
            "SEEDREAM_REDIS_URL": "redis://:secret@cache:6379/0",
        },
        None,
    )
    limits = Limits.from_settings(settings)
    assert (limits.images_per_hour, limits.images_per_day, limits.concurrency) == (0, 100, 1)
    assert (limits.budget_micros, limits.price_micros) == (25_500_000, 35_000)
    assert settings.trusted_proxies == ("10.0.0.0/8", "127.0.0.1/32")
    assert (settings.data_dir, settings.redis_url) == ("/data", "redis://:secret@cache:6379/0")
    assert "secret" not in repr(settings)


@pytest.mark.parametrize(
    ("variable", "value", "phrase"),
    [
        ("SEEDREAM_PRICE_PER_IMAGE", "-0.04", "0 or more"),
        ("SEEDREAM_VISITOR_IMAGES_PER_HOUR", "2.5", "whole number"),
        ("SEEDREAM_VISITOR_IMAGES_PER_DAY", "lots", "must be a number"),
        ("SEEDREAM_VISITOR_CONCURRENCY", "-1", "0 or more"),
        ("SEEDREAM_DAILY_BUDGET", "-5", "0 or more"),
        ("SEEDREAM_TRUSTED_PROXIES", "10.0.0.0/8, proxy.local", "IP addresses or CIDRs"),
        ("SEEDREAM_REDIS_URL", "http://:secret@cache:6379", "redis://"),
    ],
)
def test_an_invalid_limit_stops_start_up_with_one_line(variable: str, value: str, phrase: str):
    with pytest.raises(ConfigError) as caught:
        load_settings({variable: value}, None)
    assert variable in str(caught.value) and phrase in str(caught.value) and "\n" not in str(caught.value)
    assert "secret" not in str(caught.value)


def test_with_a_server_key_and_no_budget_a_default_cap_is_in_force_and_announced():
    settings = load_settings({"SEEDREAM_API_KEY": "k"}, None)
    assert settings.effective_daily_budget == DEFAULT_DAILY_BUDGET
    assert budget_notice(settings) == (
        "SEEDREAM_DAILY_BUDGET is not set: spending on the server's key is capped at $10.00 per UTC day "
        "(about 250 images at $0.04 each). Set SEEDREAM_DAILY_BUDGET to change it, or to 0 for no cap."
    )


@pytest.mark.parametrize(
    ("environ", "budget"),
    [
        ({"SEEDREAM_API_KEY": "k", "SEEDREAM_DAILY_BUDGET": "3"}, 3.0),
        ({"SEEDREAM_API_KEY": "k", "SEEDREAM_DAILY_BUDGET": "0"}, 0.0),  # the operator chose no cap
        ({}, 0.0),  # offline preview: nothing is spent
    ],
)
def test_a_configured_budget_or_no_server_key_needs_no_notice(environ: dict[str, str], budget: float):
    settings = load_settings(environ, None)
    assert budget_notice(settings) is None
    assert settings.effective_daily_budget == budget


@pytest.mark.parametrize(
    "variable",
    [
        "SEEDREAM_PRICE_PER_IMAGE",
        "SEEDREAM_VISITOR_IMAGES_PER_HOUR",
        "SEEDREAM_VISITOR_IMAGES_PER_DAY",
        "SEEDREAM_VISITOR_CONCURRENCY",
        "SEEDREAM_DAILY_BUDGET",
        "SEEDREAM_TRUSTED_PROXIES",
        "SEEDREAM_DATA_DIR",
        "SEEDREAM_REDIS_URL",
    ],
)
def test_every_limit_setting_is_documented(variable: str):
    assert f"| `{variable}` |" in (ROOT / "README.md").read_text()
    assert f"\n{variable}=" in (ROOT / ".env.example").read_text()
    assert variable in _VARIABLES
