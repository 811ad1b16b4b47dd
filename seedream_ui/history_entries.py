"""What the browser keeps of the history (ui_history.py): one entry per generation, newest first,
`{"id": <history entry id>, "made": <Generation.created, ISO>, "caption": <the gallery caption>}`.

Plain functions, no Gradio: the value comes from the visitor's localStorage, so anything may arrive.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from seedream_ui import generation as gen

MAX_CAPTION = 120


def made(generation: gen.Generation) -> str:
    """The key that matches an entry to its generation."""
    return generation.created.isoformat()


def parse_made(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def entries(saved: Any) -> list[dict[str, str]]:
    """The entries that have the expected shape, at most the history's length; anything else is dropped."""
    if not isinstance(saved, list):
        return []
    return [
        {"id": item["id"], "made": item["made"], "caption": str(item.get("caption", ""))[:MAX_CAPTION]}
        for item in saved[: gen.HISTORY_LIMIT]
        if isinstance(item, dict) and isinstance(item.get("id"), str) and isinstance(item.get("made"), str)
        and len(item["id"]) <= 64 and len(item["made"]) <= 40
    ]  # fmt: skip


def entry_for(saved: Any, generation: Any) -> str | None:
    """The id of the history entry the browser holds for a generation, if any."""
    if not isinstance(generation, gen.Generation):
        return None
    return next((entry["id"] for entry in entries(saved) if entry["made"] == made(generation)), None)
