"""Who a visitor is: signed-in username, else address (X-Forwarded-For only from trusted proxies), hashed with a
salt; no raw address or username is ever written to disk or Redis."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gradio as gr
import pytest
import redis
from starlette.requests import Request as StarletteRequest

from seedream_ui.config import load_settings
from seedream_ui.quotas import QuotaGate
from seedream_ui.quotas.identity import client_address, parse_networks, visitor_id
from seedream_ui.quotas.redis_store import RedisStore
from seedream_ui.quotas.sqlite_store import SQLiteStore
from tests.quotas_support import FakeClock, gate_on

pytest_plugins = ["tests.quotas_fixtures"]

SALT = b"s" * 32
PROXIES = parse_networks(["10.0.0.0/8", "fd00::/8"])


def request(peer: str | None = "203.0.113.9", forwarded: str | None = None, username: str | None = None) -> Any:
    headers = {"x-forwarded-for": forwarded} if forwarded else {}
    return SimpleNamespace(headers=headers, client=SimpleNamespace(host=peer), username=username)


def gradio_request(peer: str, *forwarded: str) -> gr.Request:
    """A real gr.Request around a Starlette request, as a handler receives it (headers may repeat)."""
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers, "client": (peer, 52000)}
    return gr.Request(request=StarletteRequest(scope))


def vid(req: Any, **options: Any) -> str:
    return visitor_id(req, salt=SALT, **({"trusted": PROXIES} | options))


def test_the_same_visitor_gets_the_same_id_and_others_a_different_one():
    assert vid(request("203.0.113.9")) == vid(request("203.0.113.9"))
    assert vid(request("203.0.113.9")) != vid(request("203.0.113.10"))
    assert vid(request("203.0.113.9")).startswith("addr-")


def test_a_signed_in_visitor_is_their_username_wherever_they_connect_from():
    at_home, at_work = vid(request("203.0.113.9", username="Alice")), vid(request("198.51.100.1", username="alice"))
    assert at_home == at_work and at_home.startswith("user-")
    assert vid(request("203.0.113.9"), username="alice") == at_home  # from gr.OAuthProfile
    assert at_home != vid(request("203.0.113.9", username="bob"))


def test_ids_are_salted_hashes_that_reveal_nothing():
    ident = vid(request("203.0.113.9", username="alice"))
    assert "alice" not in ident and "203.0.113.9" not in vid(request("203.0.113.9"))
    assert visitor_id(request("203.0.113.9"), salt=b"t" * 32) != vid(request("203.0.113.9"))


def test_forwarded_for_is_ignored_from_an_untrusted_peer():
    # Anyone can send the header: believing it would give every request a fresh quota.
    spoofed = request("203.0.113.9", forwarded="198.51.100.1")
    assert vid(spoofed) == vid(request("203.0.113.9"))
    assert vid(request("10.1.2.3", forwarded="198.51.100.1"), trusted=()) == vid(request("10.1.2.3"))


@pytest.mark.parametrize(
    ("forwarded", "visitor"),
    [
        ("198.51.100.1", "198.51.100.1"),
        ("198.51.100.1, 10.9.9.9", "198.51.100.1"),  # our own hops are skipped
        ("1.1.1.1, 198.51.100.1", "198.51.100.1"),  # what the visitor wrote in the header themselves is not believed
        ("198.51.100.1:4711", "198.51.100.1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("::ffff:198.51.100.1", "198.51.100.1"),
        ("198.51.100.1, not-an-address", "10.1.2.3"),  # a malformed hop: the last trusted one is all we know
        ("10.8.8.8, 10.9.9.9", "10.8.8.8"),  # every hop ours: the leftmost
    ],
)
def test_behind_a_trusted_proxy_the_first_untrusted_hop_from_the_right_is_the_visitor(forwarded: str, visitor: str):
    assert str(client_address("10.1.2.3", forwarded, PROXIES)) == visitor


def test_a_real_gradio_request_with_repeated_headers():
    behind_proxy = gradio_request("10.1.2.3", "198.51.100.1", "10.9.9.9")
    assert vid(behind_proxy) == vid(request("198.51.100.1"))
    assert vid(gradio_request("203.0.113.9", "198.51.100.1")) == vid(request("203.0.113.9"))


def test_ipv6_visitors_count_per_64_block():
    assert vid(request("2001:db8:1:2::1")) == vid(request("2001:db8:1:2:ffff::9"))
    assert vid(request("2001:db8:1:2::1")) != vid(request("2001:db8:1:3::1"))


def test_a_request_without_an_address_shares_one_unknown_id():
    assert vid(request(None)) == vid(None) == vid(request("not an address"))
    assert vid(None) != vid(request("203.0.113.9"))


def test_the_trusted_proxies_setting_feeds_the_gate(tmp_path: Path):
    settings = load_settings({"SEEDREAM_TRUSTED_PROXIES": "10.0.0.0/8", "SEEDREAM_DATA_DIR": str(tmp_path)}, None)
    gate = QuotaGate.from_settings(settings)
    assert gate.trusted_proxies == parse_networks(["10.0.0.0/8"])
    gate.close()


async def test_no_raw_address_or_username_reaches_the_disk(tmp_path: Path, clock: FakeClock):
    gate = gate_on(SQLiteStore(tmp_path), clock, images_per_hour=1)
    await use_and_get_refused(gate)
    gate.close()
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"203.0.113.77" not in data and b"alice-secret" not in data, path.name


async def test_no_raw_address_or_username_reaches_redis(redis_url: str, clock: FakeClock):
    gate = gate_on(RedisStore.from_url(redis_url), clock, images_per_hour=1)
    await use_and_get_refused(gate)
    gate.close()
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter():
        dump = key + (client.dump(key) or b"")
        assert b"203.0.113.77" not in dump and b"alice-secret" not in dump
    client.close()


async def use_and_get_refused(gate: QuotaGate) -> None:
    for visitor in (await gate.visitor(request("203.0.113.77")), await gate.visitor(request(username="alice-secret"))):
        async with gate.reserve(visitor, images=1) as reservation:
            await reservation.settle(1)
        with pytest.raises(Exception, match="limit"):
            async with gate.reserve(visitor, images=1):
                pass
        await gate.record_key_failure(visitor)
