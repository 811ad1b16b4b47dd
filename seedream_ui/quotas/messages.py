"""What a refused visitor reads: which limit, when it lifts ("3 more images after 14:05 UTC"), and the way out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from seedream_ui.quotas.errors import OWN_KEY_HINT, KeyPausedError, QuotaExceededError
from seedream_ui.quotas.limits import DAY, HOUR, Limits, plural, usd
from seedream_ui.quotas.store import Ask, Usage


def refusal(limit: str, usage: Usage, ask: Ask, limits: Limits) -> QuotaExceededError:
    if limit == "budget":
        return _budget(usage, ask, limits)
    if limit == "concurrency":
        return QuotaExceededError(
            f"Limit of {plural(limits.concurrency, 'generation')} at once per visitor on the demo's key: "
            f"another can start when one of yours finishes. {OWN_KEY_HINT}",
            limit=limit,
        )
    window, cap, name = (HOUR, limits.images_per_hour, "hourly") if limit == "hour" else (
        DAY, limits.images_per_day, "daily (24-hour)")
    unit = "per hour" if limit == "hour" else "per 24 hours"
    if ask.images > cap:
        return QuotaExceededError(
            f"This needs up to {plural(ask.images)}, more than the {name} limit of {plural(cap)} {unit} on the "
            f"demo's key: lower max images. {OWN_KEY_HINT}",
            limit=limit,
        )
    left = max(0, cap - usage.images_since(ask.now - window))
    at, available = _when_available(usage, ask.now, window, cap, ask.images)
    needs = f" and this needs up to {plural(ask.images)}" if ask.images > 1 else ""
    return QuotaExceededError(
        f"{name.capitalize()} limit reached: {left} of {plural(cap)} {unit} left on the demo's key{needs}. "
        f"{plural(available, 'more image')} after {clock_text(at, ask.now)}. {OWN_KEY_HINT}",
        limit=limit,
        resets_at=at,
        available_then=available,
    )


def _budget(usage: Usage, ask: Ask, limits: Limits) -> QuotaExceededError:
    left = max(0, limits.budget_micros - usage.spent_micros)
    midnight = datetime.fromtimestamp(ask.now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    midnight += timedelta(days=1)
    available = limits.budget_micros // ask.price_micros if ask.price_micros else 0
    needs = f", and this needs up to {usd(ask.cost_micros)}" if left else ""
    return QuotaExceededError(
        f"The demo's daily spending limit of {usd(limits.budget_micros)} is reached ({usd(left)} left{needs}). "
        f"{plural(available, 'more image')} after {clock_text(midnight, ask.now)}. {OWN_KEY_HINT}",
        limit="budget",
        resets_at=midnight,
        available_then=available,
    )


def _when_available(usage: Usage, now: float, window: float, cap: int, needed: int) -> tuple[datetime, int]:
    """The first moment enough of the window's images expire for `needed` more, and how many fit then.

    Images still in flight count as used: they may yet come back, and if they do not, the wait is shorter.
    """
    events = [(at, images) for at, images in usage.events if at > now - window]
    used = sum(images for _, images in events)
    at = now
    for reserved_at, images in events:
        used -= images
        at = reserved_at + window
        if cap - used >= needed:
            break
    return datetime.fromtimestamp(at, UTC), cap - used


def key_paused(failures: list[float], limits: Limits, now: float) -> KeyPausedError:
    # The pause lifts when the oldest failure that keeps the count at the limit leaves the window.
    until = datetime.fromtimestamp(failures[-limits.key_failures] + limits.key_failure_window, UTC)
    minutes = round(limits.key_failure_window / 60)
    return KeyPausedError(
        f"Too many rejected API keys: the limit is {limits.key_failures} failed keys in {minutes} minutes. "
        f"The key box is paused until {clock_text(until, now)}; the demo's own key still works meanwhile.",
        until=until,
    )


def clock_text(moment: datetime, now: float) -> str:
    """"14:05 UTC", or "14:05 UTC tomorrow" when that is another UTC day. Rounded up to the minute."""
    if moment.second or moment.microsecond:
        moment = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
    today = datetime.fromtimestamp(now, UTC).date()
    suffix = "" if moment.date() == today else " tomorrow" if moment.date() == today + timedelta(days=1) else (
        f" on {moment:%Y-%m-%d}")
    return f"{moment:%H:%M} UTC{suffix}"
