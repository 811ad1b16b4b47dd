"""Refusals of the quota gate: each says which limit, when it lifts, and that the visitor's own key lifts it.

They live here, not in seedream_ui/errors.py, only while that module is being rewritten; they subclass the
project's `SeedreamError`, so handlers that show a SeedreamError's message show these too.
"""

from __future__ import annotations

from datetime import datetime

from seedream_ui.errors import SeedreamError

OWN_KEY_HINT = "Your own API key (Advanced settings) lifts the limit."


class QuotaError(SeedreamError):
    """Base class: nothing was sent to the API."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class QuotaExceededError(QuotaError):
    """A limit on the server's key would be passed.

    `limit` is "budget", "day", "hour" or "concurrency"; `resets_at` is when `available_then` images can be made
    again (None for concurrency, which lifts when a generation finishes, or when no wait helps).
    """

    def __init__(
        self, message: str, *, limit: str, resets_at: datetime | None = None, available_then: int | None = None
    ) -> None:
        super().__init__(message)
        self.limit = limit
        self.resets_at = resets_at
        self.available_then = available_then


class KeyPausedError(QuotaError):
    """Too many of this visitor's own keys were rejected recently: the key box is paused until `until`."""

    def __init__(self, message: str, *, until: datetime) -> None:
        super().__init__(message)
        self.until = until


class QuotaUnavailableError(QuotaError):
    """The usage store cannot be reached, so the server's key is not used (it fails closed)."""


class StoreError(Exception):
    """Raised by a store when its database or server fails; the gate turns it into QuotaUnavailableError."""
