"""Settings from the environment and `.env`; bad values stop start-up with one clear line."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from dotenv import dotenv_values

from seedream_ui.errors import ConfigError

DEFAULT_API_URL = "https://api.myrouter.ai/v3/seedream-4.5"


@dataclass(frozen=True)
class Settings:
    # repr=False: the key must never show up in a log line or a traceback's locals.
    api_key: str | None = field(default=None, repr=False)
    api_url: str = DEFAULT_API_URL
    connect_timeout: float = 10.0
    # An image sequence at 4K can take minutes; a short read timeout would waste a paid call.
    read_timeout: float = 300.0
    max_retries: int = 2
    # Generations mostly wait on the remote API (about 1 MB of memory each, see docs/benchmarks.md), so many
    # can run at once; the limit only bounds memory when a crowd arrives.
    concurrency: int = 64
    max_upload_mb: float = 30.0
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
    def upload_quota_bytes(self) -> int:
        return int(self.upload_quota_mb * 1024 * 1024)


# Environment variable -> (field, parser). `.env.example` documents each one.
_VARIABLES: dict[str, str] = {
    "SEEDREAM_API_KEY": "api_key",
    "SEEDREAM_API_URL": "api_url",
    "SEEDREAM_CONNECT_TIMEOUT": "connect_timeout",
    "SEEDREAM_READ_TIMEOUT": "read_timeout",
    "SEEDREAM_MAX_RETRIES": "max_retries",
    "SEEDREAM_CONCURRENCY": "concurrency",
    "SEEDREAM_MAX_UPLOAD_MB": "max_upload_mb",
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
        concurrency=int(_number(raw, "SEEDREAM_CONCURRENCY", Settings.concurrency, positive=True, whole=True)),
        max_upload_mb=_number(raw, "SEEDREAM_MAX_UPLOAD_MB", Settings.max_upload_mb, positive=True),
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
    if value < 0 or (positive and value == 0) or value != value or value == float("inf"):
        raise ConfigError(f"{name} must be {'greater than 0' if positive else '0 or more'}, got {text!r}.")
    return value
