"""When a request may be sent again, and how long to wait first."""

from __future__ import annotations

import email.utils
import math
import random
from datetime import UTC, datetime

# Statuses that mean "the generation did not happen; asking again is safe and may work".
RETRY_STATUSES: frozenset[int] = frozenset({429, 502, 503, 504})


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
