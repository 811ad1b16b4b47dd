"""When a request may be sent again, and how long to wait first."""

from __future__ import annotations

import email.utils
import math
import random
from datetime import UTC, datetime

# Statuses on which the paid POST is sent again: those that mean the request was turned away before any work
# (RFC 9110/6585; the router documents no semantics of its own). 429: refused by rate limiting. 503: the
# service would not take the request now. Not 502 or 504: a gateway says those after it forwarded the
# request upstream (502: the upstream's answer was unusable; 504: it did not answer in time), so the
# upstream may be generating, and billing, the first try still. Result downloads are free GETs and retry
# every 5xx.
RETRY_STATUSES: frozenset[int] = frozenset({429, 503})


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date. None if absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def backoff(attempt: int, base: float, cap: float) -> float:
    """Full-jitter exponential back-off: spreads out clients that failed at the same moment."""
    return random.uniform(0.0, min(cap, base * 2 ** (attempt - 1)))
