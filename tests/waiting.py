"""Waiting for an event instead of sleeping a fixed time: poll a condition until it holds, with a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], T], timeout: float = 30.0, interval: float = 0.01) -> T:
    """The condition's first truthy value; AssertionError if it stays falsy for `timeout` seconds.

    The deadline only bounds a test that would otherwise hang: on time it returns as soon as the event happens.
    """
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"still waiting after {timeout:g} s for {getattr(condition, '__name__', condition)}"
        time.sleep(interval)
    return value
