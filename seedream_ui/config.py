"""Settings from the environment and `.env`; bad values stop start-up with one clear line."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from ipaddress import ip_network
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values

from seedream_ui.errors import ConfigError

DEFAULT_API_URL = "https://api.myrouter.ai/v3/seedream-4.5"
# In force when the server has a key and SEEDREAM_DAILY_BUDGET is not set: a public demo never spends without a cap.
DEFAULT_DAILY_BUDGET = 10.0


@dataclass(frozen=True)
class Settings:
    # The API. repr=False: the key must never show up in a log line or a traceback's locals.
    api_key: str | None = field(default=None, repr=False)
    api_url: str = DEFAULT_API_URL

    # Each call. An image sequence at 4K can take minutes; a short read timeout would waste a paid call.
    connect_timeout: float = 10.0
    read_timeout: float = 300.0
    max_retries: int = 2
    # One generation end to end (POST, retries, result downloads): a reply dripping a byte at a time never
    # trips the read timeout, this ends it.
    generation_timeout: float = 600.0

    # The server's capacity. Generations mostly wait on the remote API (about 1 MB of memory each, see
    # docs/benchmarks.md), so many can run at once; the limit only bounds memory when a crowd arrives.
    concurrency: int = 64
    max_upload_mb: float = 30.0
    # Memory all visitors' reference decoding may use at once (seedream_ui/references/limits.py says why 768).
    decode_memory_mb: float = 768.0
    # Public-page bounds (seedream_ui/server): visitors waiting beyond the running generations, and per client
    # address, upload requests a minute and MB of uploads kept at once.
    queue_max: int = 256
    uploads_per_minute: int = 300
    upload_quota_mb: float = 500.0

    # Limits on the server's key (seedream_ui/quotas); a visitor's own key is never counted. 0 = unlimited.
    price_per_image: float = 0.04  # USD, an estimate: the operator sets their contract's price
    visitor_images_per_hour: int = 15  # one full sequence (15 images) fits in an hour
    visitor_images_per_day: int = 40
    visitor_concurrency: int = 2
    daily_budget: float | None = None  # USD per UTC day; None = not configured (see effective_daily_budget)
    trusted_proxies: tuple[str, ...] = ()  # CIDRs whose X-Forwarded-For is believed

    # Where the quota counters and shares live. repr=False: a Redis URL can carry a password.
    data_dir: str = "./data"
    redis_url: str | None = field(default=None, repr=False)

    # Shared links (seedream_ui/shares): kept this many days (0 = sharing off), within these disk limits;
    # the oldest shares make room for new ones.
    share_days: float = 30.0
    share_max_mb_per_visitor: float = 200.0
    share_max_mb: float = 5000.0  # fits a 20 GB Space persistent disk with room to spare
    # History that survives a reload (seedream_ui/shares/history.py): its own disk limits, oldest out.
    history_max_mb_per_visitor: float = 500.0
    history_max_mb: float = 5000.0

    # The MCP tool for agents at /gradio_api/mcp/ (seedream_ui/mcp_tool.py).
    mcp: bool = True

    # Seconds the offline preview's stand-in waits before answering, so the page waits as with the real API.
    preview_latency: float = 0.0

    @property
    def offline(self) -> bool:
        """No key configured: the demo runs against the local stand-in API."""
        return not self.api_key

    @property
    def effective_daily_budget(self) -> float:
        """The cap in force: the configured one, else the default when the server has a key (0 = no cap)."""
        if self.daily_budget is not None:
            return self.daily_budget
        return 0.0 if self.offline else DEFAULT_DAILY_BUDGET

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def upload_quota_bytes(self) -> int:
        return int(self.upload_quota_mb * 1024 * 1024)

    @property
    def decode_memory_bytes(self) -> int:
        return int(self.decode_memory_mb * 1024 * 1024)


# --------------------------------------------------------------------------------------------------------
# Parsers: (variable name, its non-blank text) -> the value, or a ConfigError of one line naming the variable.

Parser = Callable[[str, str], Any]


def _text(name: str, text: str) -> str:
    return text


def _number(name: str, text: str, *, positive: bool = False, whole: bool = False) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {text!r}.") from None
    if whole and not value.is_integer():
        raise ConfigError(f"{name} must be a whole number, got {text!r}.")
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise ConfigError(f"{name} must be {'greater than 0' if positive else '0 or more'}, got {text!r}.")
    return value


def _zero_or_more(name: str, text: str) -> float:
    return _number(name, text)


def _positive(name: str, text: str) -> float:
    return _number(name, text, positive=True)


def _count(name: str, text: str) -> int:
    """A whole number, 0 or more ("3.0" is accepted: it is whole)."""
    return int(_number(name, text, whole=True))


def _positive_count(name: str, text: str) -> int:
    return int(_number(name, text, positive=True, whole=True))


def _http_url(name: str, text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an http:// or https:// URL, got {text!r}.")
    return text


def _redis_url(name: str, text: str) -> str:
    # The message never repeats the value: it may hold a password.
    if urlsplit(text).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"{name} must start with redis://, rediss:// or unix://.")
    return text


def _networks(name: str, text: str) -> tuple[str, ...]:
    """Comma- or space-separated addresses / CIDRs, normalised ("10.0.0.0/8", "127.0.0.1/32")."""
    networks = []
    for item in text.replace(",", " ").split():
        try:
            networks.append(str(ip_network(item, strict=False)))
        except ValueError:
            raise ConfigError(f"{name} must list IP addresses or CIDRs, got {item!r}.") from None
    return tuple(networks)


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _flag(name: str, text: str) -> bool:
    if text.lower() in _TRUE + _FALSE:
        return text.lower() in _TRUE
    raise ConfigError(f"{name} must be 1 or 0 (true/false, yes/no, on/off), got {text!r}.")


# Environment variable -> (field, parser), in the order of the fields. A blank or missing variable leaves the
# field's default. The README configuration table and `.env.example` document each one, in this order.
_VARIABLES: dict[str, tuple[str, Parser]] = {
    "SEEDREAM_API_KEY": ("api_key", _text),
    "SEEDREAM_API_URL": ("api_url", _http_url),
    "SEEDREAM_CONNECT_TIMEOUT": ("connect_timeout", _positive),
    "SEEDREAM_READ_TIMEOUT": ("read_timeout", _positive),
    "SEEDREAM_MAX_RETRIES": ("max_retries", _count),
    "SEEDREAM_GENERATION_TIMEOUT": ("generation_timeout", _positive),
    "SEEDREAM_CONCURRENCY": ("concurrency", _positive_count),
    "SEEDREAM_MAX_UPLOAD_MB": ("max_upload_mb", _positive),
    "SEEDREAM_DECODE_MEMORY_MB": ("decode_memory_mb", _positive),
    "SEEDREAM_QUEUE_MAX": ("queue_max", _positive_count),
    "SEEDREAM_UPLOADS_PER_MINUTE": ("uploads_per_minute", _positive_count),
    "SEEDREAM_UPLOAD_QUOTA_MB": ("upload_quota_mb", _positive),
    "SEEDREAM_PRICE_PER_IMAGE": ("price_per_image", _zero_or_more),
    "SEEDREAM_VISITOR_IMAGES_PER_HOUR": ("visitor_images_per_hour", _count),
    "SEEDREAM_VISITOR_IMAGES_PER_DAY": ("visitor_images_per_day", _count),
    "SEEDREAM_VISITOR_CONCURRENCY": ("visitor_concurrency", _count),
    "SEEDREAM_DAILY_BUDGET": ("daily_budget", _zero_or_more),
    "SEEDREAM_TRUSTED_PROXIES": ("trusted_proxies", _networks),
    "SEEDREAM_DATA_DIR": ("data_dir", _text),
    "SEEDREAM_REDIS_URL": ("redis_url", _redis_url),
    "SEEDREAM_SHARE_DAYS": ("share_days", _zero_or_more),
    "SEEDREAM_SHARE_MAX_MB_PER_VISITOR": ("share_max_mb_per_visitor", _positive),
    "SEEDREAM_SHARE_MAX_MB": ("share_max_mb", _positive),
    "SEEDREAM_HISTORY_MAX_MB_PER_VISITOR": ("history_max_mb_per_visitor", _positive),
    "SEEDREAM_HISTORY_MAX_MB": ("history_max_mb", _positive),
    "SEEDREAM_MCP": ("mcp", _flag),
    "SEEDREAM_PREVIEW_LATENCY": ("preview_latency", _zero_or_more),
}


def load_settings(environ: Mapping[str, str] | None = None, dotenv_path: str | None = ".env") -> Settings:
    """Read settings: the process environment wins over `.env`, which wins over defaults."""
    values: dict[str, str | None] = {}
    if dotenv_path and os.path.exists(dotenv_path):
        values.update(dotenv_values(dotenv_path))
    values.update(os.environ if environ is None else environ)
    fields: dict[str, Any] = {}
    for name, (field_name, parse) in _VARIABLES.items():
        text = (values.get(name) or "").strip()
        if text:
            fields[field_name] = parse(name, text)
    return Settings(**fields)
