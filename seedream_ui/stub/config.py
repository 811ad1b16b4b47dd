"""How a stand-in behaves: its StubConfig, and the per-request X-Stub-* headers that override it."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from seedream_ui.stub.faults import FAULTS
from seedream_ui.stub.rules import InvalidArgument

__all__ = ["IMAGE_FORMATS", "RESPONSE_FORMATS", "Options", "StubConfig", "check_choice", "request_options"]

RESPONSE_FORMATS: tuple[str, ...] = ("url", "b64", "data-uri", "object-url", "object-b64", "mixed")
IMAGE_FORMATS: tuple[str, ...] = ("jpeg", "png")
_MB = 1024 * 1024
MAX_TOKEN_CHARS = 256


@dataclass(frozen=True)
class StubConfig:
    """How the stand-in behaves when a request's X-Stub-* headers do not say otherwise (one per server)."""

    api_key: str | None = field(default=None, repr=False)  # None: any non-empty bearer token is accepted
    latency: float = 0.0
    fault: str = "ok"
    response_format: str = "url"
    image_format: str = "jpeg"
    retry_after: float | str = 1
    hang_seconds: float = 3600.0
    # What it remembers (see records.py): the last requests, the newest bodies whole up to a total size, and
    # the newest images it serves. The defaults keep the offline preview's stand-in under ~100 MB however long
    # the app runs.
    max_body_bytes: int = 200 * _MB  # 14 references of 10 MB in Base64 (187 MB) and room for the rest
    max_records: int = 200
    whole_body_bytes: int = 32 * _MB
    max_stored_images: int = 200
    max_stored_image_bytes: int = 64 * _MB

    def __post_init__(self) -> None:
        check_choice("fault", self.fault, FAULTS)
        check_choice("response_format", self.response_format, RESPONSE_FORMATS)
        check_choice("image_format", self.image_format, IMAGE_FORMATS)
        if self.latency < 0 or self.hang_seconds < 0:
            raise ValueError("latency and hang_seconds must not be negative")
        counts, sizes = (self.max_records, self.max_stored_images), (self.whole_body_bytes, self.max_stored_image_bytes)
        if min(counts) < 1 or min(sizes) < 0:
            raise ValueError("max_records and max_stored_images must be >= 1, the byte limits >= 0")


def check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


@dataclass(frozen=True)
class Options:
    """The per-request knobs: X-Stub-* headers over the server's StubConfig."""

    latency: float
    response_format: str
    image_format: str
    retry_after: str
    token: str | None


def request_options(headers: Mapping[str, str], config: StubConfig) -> Options:
    """The knobs of one request (header names lower-case), or InvalidArgument naming a bad header."""
    latency_text = headers.get("x-stub-latency")
    try:
        latency = float(latency_text) if latency_text is not None else config.latency
    except ValueError:
        raise InvalidArgument("X-Stub-Latency", "X-Stub-Latency must be a number of seconds.") from None
    response_format = headers.get("x-stub-response-format", config.response_format)
    if response_format not in RESPONSE_FORMATS:
        choices = ", ".join(RESPONSE_FORMATS)
        raise InvalidArgument("X-Stub-Response-Format", f"X-Stub-Response-Format must be one of {choices}.")
    image_format = headers.get("x-stub-image-format", config.image_format)
    if image_format not in IMAGE_FORMATS:
        raise InvalidArgument("X-Stub-Image-Format", f"X-Stub-Image-Format must be one of {', '.join(IMAGE_FORMATS)}.")
    if not math.isfinite(latency):
        raise InvalidArgument("X-Stub-Latency", "X-Stub-Latency must be a finite number of seconds.")
    retry_after = headers.get("x-stub-retry-after", _seconds_text(config.retry_after))
    token = headers.get("x-stub-token")
    if token is not None and len(token) > MAX_TOKEN_CHARS:  # it rides in every image's marker
        raise InvalidArgument("X-Stub-Token", f"X-Stub-Token must be at most {MAX_TOKEN_CHARS} characters.")
    return Options(max(0.0, latency), response_format, image_format, retry_after[:40], token)


def _seconds_text(value: float | str) -> str:
    if isinstance(value, str):
        return value
    return str(int(value)) if float(value).is_integer() else str(value)
