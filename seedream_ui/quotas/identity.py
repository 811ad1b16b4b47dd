"""Who a visitor is: the Hugging Face username when signed in, else the client's address, as a salted hash.

The address is the direct peer's, unless that peer is a trusted proxy (SEEDREAM_TRUSTED_PROXIES): then
X-Forwarded-For is read from the right, skipping trusted hops, and the first address not ours is the visitor.
Anyone can send that header, so it is believed only from our own proxies. IPv6 addresses count per /64, the
block one subscriber usually holds, so a visitor cannot get a fresh quota by changing the last bits.
Only the hash leaves this module; the raw address and username are never stored or logged.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from ipaddress import (
    IPv4Address,
    IPv4Network,
    IPv6Address,
    IPv6Network,
    ip_address,
    ip_network,
)
from typing import Any

Network = IPv4Network | IPv6Network
Address = IPv4Address | IPv6Address


def parse_networks(items: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ip_network(item, strict=False) for item in items)


def visitor_id(request: Any, *, salt: bytes, trusted: Sequence[Network] = (), username: str | None = None) -> str:
    """A stable id for a `gr.Request`: "user-<hash>" for a signed-in visitor, else "addr-<hash>".

    `username` is the Hugging Face username from `gr.OAuthProfile` (gr.LoginButton); without it, the request's
    own `username` (Gradio auth) is used. A request with no usable address gets "addr-unknown…": every such
    request shares one quota, which fails safe for the owner's key.
    """
    name = username or getattr(request, "username", None)
    if isinstance(name, str) and name.strip():
        return "user-" + _hash(salt, "user", name.strip().lower())
    client = getattr(request, "client", None)
    peer = getattr(client, "host", None)
    address = client_address(peer, forwarded_for(getattr(request, "headers", None)), trusted)
    return "addr-" + _hash(salt, "addr", str(_bucket(address)) if address else "unknown")


def forwarded_for(headers: Any) -> str | None:
    """Every X-Forwarded-For header, joined in order (a proxy may add a second header instead of appending)."""
    if headers is None:
        return None
    getlist = getattr(headers, "getlist", None)
    values = getlist("x-forwarded-for") if callable(getlist) else [
        value for key, value in dict(headers).items() if key.lower() == "x-forwarded-for"
    ]
    return ", ".join(values) or None


def client_address(peer: str | None, forwarded: str | None, trusted: Sequence[Network]) -> Address | None:
    address = _parse(peer)
    if address is None or not forwarded or not _is_trusted(address, trusted):
        return address
    for hop in reversed(forwarded.split(",")):
        parsed = _parse(hop)
        if parsed is None:
            return address  # a malformed hop: the last trusted one we reached is all we know
        address = parsed
        if not _is_trusted(parsed, trusted):
            return parsed
    return address  # every hop is ours: the leftmost one


def _is_trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address.version == network.version and address in network for network in trusted)


def _parse(text: str | None) -> Address | None:
    """An address from "1.2.3.4", "1.2.3.4:5678", "[2001:db8::1]:443" or "2001:db8::1"; None if not one."""
    if not text:
        return None
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _bucket(address: Address) -> Address | Network:
    return ip_network(f"{address}/64", strict=False) if address.version == 6 else address


def _hash(salt: bytes, kind: str, value: str) -> str:
    return hmac.new(salt, f"{kind}\0{value}".encode(), hashlib.sha256).hexdigest()[:20]
