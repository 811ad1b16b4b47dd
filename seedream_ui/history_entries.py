"""What the browser keeps of the history (ui_history.py): one entry per generation, newest first,
`{"id": <history entry id>, "made": <Generation.created, ISO>, "caption": <the gallery caption>}`.

Plain functions, no Gradio: the value comes from the visitor's localStorage, so anything may arrive. Also which
of Gradio's cache folders serve a history ("Forget my history" removes them) and what forgetting says.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from seedream_ui import generation as gen
from seedream_ui.outputs import saved_copies
from seedream_ui.shares import Share

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


def restored_folder(output_root: Path, entry_id: str) -> Path:
    """Where a reload links an entry's files in Gradio's cache: named by a hash, so a URL never carries the id."""
    return output_root / f"history-{hashlib.sha256(entry_id.encode()).hexdigest()[:32]}"


def served_folders(output_root: Path, generations: Sequence[gen.Generation], kept: Mapping[str, Share]) -> set[Path]:
    """The cache folders that serve these generations and kept entries, to remove when they are forgotten.

    A generation's own folder (made in this tab, or a restored copy), each entry's restored copy, and the folder
    an earlier visit wrote the entry's results to: found by the results' names and kept only if it holds the
    very same file (the entry links it), never another visitor's generation of the same second.
    Only direct children of `output_root`.
    """
    folders = {g.files[0].parent for g in generations if g.files}
    for entry_id, entry in kept.items():
        folders.add(restored_folder(output_root, entry_id))
        for image in entry.images:
            for candidate in saved_copies(output_root, image.file):
                if _same_file(candidate, entry.folder / image.file):
                    folders.add(candidate.parent)
    root = output_root.resolve()
    return {folder for folder in folders if folder.resolve().parent == root and folder.is_dir()}


def folders_in_use(shown: Any, references: Any) -> set[Path]:
    """The folders of what the page shows: the results on screen and the form's references stay."""
    paths: Iterable[Any] = [*(shown.files if isinstance(shown, gen.Generation) else ()),
                            *(references if isinstance(references, list) else ())]  # fmt: skip
    return {Path(path).resolve().parent for path in paths if isinstance(path, (str, Path))}


def forgotten_count(generations: Sequence[gen.Generation], saved: Any) -> int:
    """How many generations a visitor forgets: this tab's and the browser's, each once."""
    return len({made(g) for g in generations} | {entry["made"] for entry in entries(saved)})


def forgot_message(count: int, on_server: bool) -> str:
    if count == 0:
        return "Your history is already empty: there was nothing to forget."
    plural = "" if count == 1 else "s"
    if not on_server:
        return f"Forgot {count} generation{plural} from this tab."
    return f"Forgot {count} generation{plural} from this browser and the server; links you shared still work."


class ForgetMarks:
    """When each session last forgot its history, so that keeping a generation that was under way meanwhile
    does not bring it back (the two steps are separate events and may overlap). Marks older than `keep_s` go."""

    def __init__(self, keep_s: float = 600.0, clock: Any = time.monotonic) -> None:
        self._at: dict[str, float] = {}
        self.keep_s, self.clock = keep_s, clock

    def now(self) -> float:
        return float(self.clock())

    def mark(self, session: str | None) -> None:
        if not session:
            return  # without a session there is no keep of the same session to stop
        now = self.now()
        self._at = {s: at for s, at in self._at.items() if now - at < self.keep_s}
        self._at[session] = now

    def since(self, session: str | None, started: float) -> bool:
        """Whether the session forgot its history after `started` (a `now()`)."""
        return bool(session) and self._at.get(session or "", float("-inf")) >= started


def _same_file(one: Path, other: Path) -> bool:
    try:
        return os.path.samefile(one, other)
    except OSError:
        return False
