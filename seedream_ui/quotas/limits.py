"""The numbers the gate enforces, in whole images and micro-dollars (integers add up exactly in every store)."""

from __future__ import annotations

from dataclasses import dataclass

from seedream_ui.config import Settings

HOUR = 3600.0
DAY = 86400.0
MICROS = 1_000_000
# Usage rows are kept this long, for the operator's 7-day report.
KEEP_SECONDS = 8 * DAY


@dataclass(frozen=True)
class Limits:
    """0 means unlimited for every limit."""

    images_per_hour: int = 15
    images_per_day: int = 40  # any 24 hours, per visitor
    concurrency: int = 2  # generations in flight per visitor
    budget_micros: int = 0  # USD per UTC day, for the whole demo
    price_micros: int = 40_000  # USD per image, an estimate
    key_failures: int = 5  # rejected own keys ...
    key_failure_window: float = 600.0  # ... within this many seconds pause the key box
    # An in-flight reservation whose process died is released after this; its images stay counted.
    lease_seconds: float = 900.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        # A generation can take every retry at the full read timeout; the lease must outlive it.
        lease = (settings.connect_timeout + settings.read_timeout) * (settings.max_retries + 1) + 60
        return cls(
            images_per_hour=settings.visitor_images_per_hour,
            images_per_day=settings.visitor_images_per_day,
            concurrency=settings.visitor_concurrency,
            budget_micros=to_micros(settings.effective_daily_budget),
            price_micros=to_micros(settings.price_per_image),
            lease_seconds=lease,
        )


def to_micros(usd: float) -> int:
    return round(usd * MICROS)


def usd(micros: int) -> str:
    """"$0.04", "$12.50"; sub-cent amounts keep their digits ("$0.004")."""
    value = micros / MICROS
    text = f"{value:,.2f}"
    if micros and value < 0.01:
        text = f"{value:.6f}".rstrip("0")
    return f"${text}"


def plural(count: int, word: str = "image") -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def budget_notice(settings: Settings) -> str | None:
    """The start-up line when the server has a key and no SEEDREAM_DAILY_BUDGET: the default cap in force."""
    if settings.offline or settings.daily_budget is not None:
        return None
    cap = to_micros(settings.effective_daily_budget)
    price = to_micros(settings.price_per_image)
    images = f" (about {plural(cap // price)} at {usd(price)} each)" if price else ""
    return (
        f"SEEDREAM_DAILY_BUDGET is not set: spending on the server's key is capped at {usd(cap)} per UTC day"
        f"{images}. Set SEEDREAM_DAILY_BUDGET to change it, or to 0 for no cap."
    )
