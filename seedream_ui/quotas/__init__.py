"""Visitor quotas, the daily spend cap and cost estimates for the server's API key (issue 10).

The page asks `QuotaGate` before every generation on the server's key; see gate.py for the protocol.
"""

from seedream_ui.quotas.errors import (
    KeyPausedError,
    QuotaError,
    QuotaExceededError,
    QuotaUnavailableError,
)
from seedream_ui.quotas.gate import Charge, QuotaGate, Reservation, Standing
from seedream_ui.quotas.limits import Limits, budget_notice
from seedream_ui.quotas.store import QuotaStore, open_store

__all__ = [
    "Charge",
    "KeyPausedError",
    "Limits",
    "QuotaError",
    "QuotaExceededError",
    "QuotaGate",
    "QuotaStore",
    "QuotaUnavailableError",
    "Reservation",
    "Standing",
    "budget_notice",
    "open_store",
]
