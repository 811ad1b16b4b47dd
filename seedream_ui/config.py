"""Settings from the environment and `.env`; bad values stop start-up with one clear line."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import ip_network
from urllib.parse import urlsplit

from dotenv import dotenv_values

from seedream_ui.errors import ConfigError

DEFAULT_API_URL = "https://api.myrouter.ai/v3/seedream-4.5"
# In force when the server has a key and SEEDREAM_DAILY_BUDGET is not set: a public demo never spends without a cap.
DEFAULT_DAILY_BUDGET = 10.0


@dataclass(frozen=True)
class Settings:
    # repr=False: the key must never show up in a log line or a traceback's locals.
    api_key: str | None = field(default=None, repr=False)
    api_url: str = DEFAULT_API_URL
    connect_timeout: float = 10.0
    # An image sequence at 4K can take minutes; a short read timeout would waste a paid call.
    read_timeout: float = 300.0
    max_retries: int = 2
    # One generation end to end (POST, retries, result downloads): a reply dripping a byte at a time never
    # trips the read timeout, this ends it.
    generation_timeout: float = 600.0
    # Generations mostly wait on the remote API (about 1 MB of memory each, see docs/benchmarks.md), so many
    # can run at once; the limit only bounds memory when a crowd arrives.
    concurrency: int = 64
    max_upload_mb: float = 30.0
    # Limits on the server's key (seedream_ui/quotas); a visitor's own key is never counted. 0 = unlimited.
    price_per_image: float = 0.04  # USD, an estimate: the operator sets their contract's price
    visitor_images_per_hour: int = 15  # one full sequence (15 images) fits in an hour
    visitor_images_per_day: int = 40
    visitor_concurrency: int = 2
    daily_budget: float | None = None  # USD per UTC day; None = not configured (see effective_daily_budget)
    trusted_proxies: tuple[str, ...] = ()  # CIDRs whose X-Forwarded-For is believed
    data_dir: str = "./data"
    # repr=False: a Redis URL can carry a password.
    redis_url: str | None = field(default=None, repr=False)
    # Shared links (seedream_ui/shares): kept this many days (0 = sharing off), within these disk limits;
    # the oldest shares make room for new ones.
    share_days: float = 30.0
    share_max_mb_per_visitor: float = 200.0
    share_max_mb: float = 5000.0  # fits a 20 GB Space persistent disk with room to spare

    @property
    def effective_daily_budget(self) -> float:
        """The cap in force: the configured one, else the default when the server has a key (0 = no cap)."""
        if self.daily_budget is not None:
            return self.daily_budget
        return 0.0 if self.offline else DEFAULT_DAILY_BUDGET
    # Memory all visitors' reference decoding may use at once (seedream_ui/references/limits.py says why 768).
    decode_memory_mb: float = 768.0
    mcp: bool = True  # the MCP tool for agents at /gradio_api/mcp/ (seedream_ui/mcp_tool.py)
    # Visitors waiting beyond the running generations; more get "busy, try again in a minute" at once.
    queue_max: int = 256
    # Per client address: upload requests per minute, and megabytes of uploads kept on disk at once.
    uploads_per_minute: int = 300
    upload_quota_mb: float = 500.0

    @property
    def offline(self) -> bool:
        """No key configured: the demo runs against the local stand-in API."""
        return not self.api_key

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def decode_memory_bytes(self) -> int:
        return int(self.decode_memory_mb * 1024 * 1024)
    def upload_quota_bytes(self) -> int:
        return int(self.upload_quota_mb * 1024 * 1024)


# Environment variable -> (field, parser). `.env.example` documents each one.
_VARIABLES: dict[str, str] = {
    "SEEDREAM_API_KEY": "api_key",
    "SEEDREAM_API_URL": "api_url",
    "SEEDREAM_CONNECT_TIMEOUT": "connect_timeout",
    "SEEDREAM_READ_TIMEOUT": "read_timeout",
    "SEEDREAM_MAX_RETRIES": "max_retries",
    "SEEDREAM_GENERATION_TIMEOUT": "generation_timeout",
    "SEEDREAM_CONCURRENCY": "concurrency",
    "SEEDREAM_MAX_UPLOAD_MB": "max_upload_mb",
    "SEEDREAM_PRICE_PER_IMAGE": "price_per_image",
    "SEEDREAM_VISITOR_IMAGES_PER_HOUR": "visitor_images_per_hour",
    "SEEDREAM_VISITOR_IMAGES_PER_DAY": "visitor_images_per_day",
    "SEEDREAM_VISITOR_CONCURRENCY": "visitor_concurrency",
    "SEEDREAM_DAILY_BUDGET": "daily_budget",
    "SEEDREAM_TRUSTED_PROXIES": "trusted_proxies",
    "SEEDREAM_DATA_DIR": "data_dir",
    "SEEDREAM_REDIS_URL": "redis_url",
    "SEEDREAM_DECODE_MEMORY_MB": "decode_memory_mb",
    "SEEDREAM_MCP": "mcp",
    "SEEDREAM_SHARE_DAYS": "share_days",
    "SEEDREAM_SHARE_MAX_MB_PER_VISITOR": "share_max_mb_per_visitor",
    "SEEDREAM_SHARE_MAX_MB": "share_max_mb",
    "SEEDREAM_QUEUE_MAX": "queue_max",
    "SEEDREAM_UPLOADS_PER_MINUTE": "uploads_per_minute",
    "SEEDREAM_UPLOAD_QUOTA_MB": "upload_quota_mb",
}


def load_settings(environ: Mapping[str, str] | None = None, dotenv_path: str | None = ".env") -> Settings:
    """Read settings: the process environment wins over `.env`, which wins over defaults."""
    values: dict[str, str | None] = {}
    if dotenv_path and os.path.exists(dotenv_path):
        values.update(dotenv_values(dotenv_path))
    values.update(os.environ if environ is None else environ)
    raw = {name: (values.get(name) or "").strip() for name in _VARIABLES}
    return Settings(
        api_key=raw["SEEDREAM_API_KEY"] or None,
        api_url=_url(raw["SEEDREAM_API_URL"] or DEFAULT_API_URL),
        connect_timeout=_number(raw, "SEEDREAM_CONNECT_TIMEOUT", Settings.connect_timeout, positive=True),
        read_timeout=_number(raw, "SEEDREAM_READ_TIMEOUT", Settings.read_timeout, positive=True),
        max_retries=int(_number(raw, "SEEDREAM_MAX_RETRIES", Settings.max_retries, whole=True)),
        generation_timeout=_number(raw, "SEEDREAM_GENERATION_TIMEOUT", Settings.generation_timeout, positive=True),
        concurrency=int(_number(raw, "SEEDREAM_CONCURRENCY", Settings.concurrency, positive=True, whole=True)),
        max_upload_mb=_number(raw, "SEEDREAM_MAX_UPLOAD_MB", Settings.max_upload_mb, positive=True),
        price_per_image=_number(raw, "SEEDREAM_PRICE_PER_IMAGE", Settings.price_per_image),
        visitor_images_per_hour=_whole(raw, "SEEDREAM_VISITOR_IMAGES_PER_HOUR", Settings.visitor_images_per_hour),
        visitor_images_per_day=_whole(raw, "SEEDREAM_VISITOR_IMAGES_PER_DAY", Settings.visitor_images_per_day),
        visitor_concurrency=_whole(raw, "SEEDREAM_VISITOR_CONCURRENCY", Settings.visitor_concurrency),
        daily_budget=_number(raw, "SEEDREAM_DAILY_BUDGET", -1.0) if raw["SEEDREAM_DAILY_BUDGET"] else None,
        trusted_proxies=_networks(raw["SEEDREAM_TRUSTED_PROXIES"]),
        data_dir=raw["SEEDREAM_DATA_DIR"] or Settings.data_dir,
        redis_url=_redis_url(raw["SEEDREAM_REDIS_URL"]) if raw["SEEDREAM_REDIS_URL"] else None,
        decode_memory_mb=_number(raw, "SEEDREAM_DECODE_MEMORY_MB", Settings.decode_memory_mb, positive=True),
        mcp=_flag(raw, "SEEDREAM_MCP", Settings.mcp),
        share_days=_number(raw, "SEEDREAM_SHARE_DAYS", Settings.share_days),
        share_max_mb_per_visitor=_number(
            raw, "SEEDREAM_SHARE_MAX_MB_PER_VISITOR", Settings.share_max_mb_per_visitor, positive=True
        ),
        share_max_mb=_number(raw, "SEEDREAM_SHARE_MAX_MB", Settings.share_max_mb, positive=True),
        queue_max=int(_number(raw, "SEEDREAM_QUEUE_MAX", Settings.queue_max, positive=True, whole=True)),
        uploads_per_minute=int(
            _number(raw, "SEEDREAM_UPLOADS_PER_MINUTE", Settings.uploads_per_minute, positive=True, whole=True)
        ),
        upload_quota_mb=_number(raw, "SEEDREAM_UPLOAD_QUOTA_MB", Settings.upload_quota_mb, positive=True),
    )


def _url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"SEEDREAM_API_URL must be an http:// or https:// URL, got {value!r}.")
    return value


def _whole(raw: Mapping[str, str], name: str, default: int) -> int:
    return int(_number(raw, name, default, whole=True))


def _networks(text: str) -> tuple[str, ...]:
    """Comma- or space-separated addresses / CIDRs, normalised ("10.0.0.0/8", "127.0.0.1/32")."""
    networks = []
    for item in text.replace(",", " ").split():
        try:
            networks.append(str(ip_network(item, strict=False)))
        except ValueError:
            raise ConfigError(f"SEEDREAM_TRUSTED_PROXIES must list IP addresses or CIDRs, got {item!r}.") from None
    return tuple(networks)


def _redis_url(value: str) -> str:
    # The message never repeats the value: it may hold a password.
    if urlsplit(value).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError("SEEDREAM_REDIS_URL must start with redis://, rediss:// or unix://.")
    return value


def _number(raw: Mapping[str, str], name: str, default: float, *, positive: bool = False, whole: bool = False) -> float:
    text = raw[name]
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {text!r}.") from None
    if whole and not value.is_integer():
        raise ConfigError(f"{name} must be a whole number, got {text!r}.")
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise ConfigError(f"{name} must be {'greater than 0' if positive else '0 or more'}, got {text!r}.")
    return value


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _flag(raw: Mapping[str, str], name: str, default: bool) -> bool:
    text = raw[name].lower()
    if not text:
        return default
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ConfigError(f"{name} must be 1 or 0 (true/false, yes/no, on/off), got {raw[name]!r}.")
