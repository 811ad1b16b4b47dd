"""The wait estimate, captions and status lines of issue 12 (seedream_ui/waits.py), and its setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from seedream_ui import waits
from seedream_ui.config import load_settings
from seedream_ui.errors import ConfigError


def test_the_estimate_is_the_median_of_recent_generations_of_the_same_size_and_count() -> None:
    times = waits.WaitTimes()
    assert waits.estimate_text(times, "2560x1440", "disabled", 4) == waits.TYPICAL  # none yet: published figures
    for seconds in (20.0, 40.0, 30.0):
        times.record(waits.wait_key("2560x1440", "disabled", 4), seconds)
    times.record(waits.wait_key("2560x1440", "auto", 3), 90.0)  # a sequence is another kind
    assert waits.estimate_text(times, "2560x1440", "disabled", 4) == (
        "about 30 s here for 2560x1440 (median of the last 3)"
    )
    assert waits.estimate_text(times, "2560x1440", "auto", 3) == (
        "about 90 s here for 2560x1440, up to 3 images (the last generation)"
    )


def test_the_memory_of_waits_stays_small() -> None:
    times = waits.WaitTimes()
    for n in range(waits.KINDS + 10):
        for _ in range(waits.SAMPLES + 3):
            times.record(f"{n}", 1.0)
    assert times.estimate("0") is None  # the least recently used kinds go first
    assert times.estimate(f"{waits.KINDS + 9}") == (1.0, waits.SAMPLES)


def test_results_of_a_sequence_are_labelled_n_of_total() -> None:
    files = [Path("/r/a.jpg"), Path("/r/b.jpg")]
    assert waits.result_captions(files) == [("/r/a.jpg", "1 of 2 · a.jpg"), ("/r/b.jpg", "2 of 2 · b.jpg")]
    assert waits.result_captions(files[:1]) == [("/r/a.jpg", "a.jpg")]


def test_the_sequence_hint_says_how_to_ask_for_n_images() -> None:
    assert "e.g. 'a series of 3 images'" in waits.sequence_hint(3)


def test_preview_latency_comes_from_the_environment_and_is_checked() -> None:
    assert load_settings({"SEEDREAM_PREVIEW_LATENCY": "30"}, dotenv_path=None).preview_latency == 30.0
    assert load_settings({}, dotenv_path=None).preview_latency == 0.0
    with pytest.raises(ConfigError, match="SEEDREAM_PREVIEW_LATENCY must be 0 or more"):
        load_settings({"SEEDREAM_PREVIEW_LATENCY": "-1"}, dotenv_path=None)
