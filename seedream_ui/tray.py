"""The reference tray (issue 12), as plain functions: every reference numbered in the order it is sent, its
preflight, and the tray's actions (remove, move earlier / later). No Gradio in here.

The order sent is the uploads first, then the URLs in line order (`generation.check_form`), so "Image 3" in a
prompt means the third of these. The preflight asks the send path's own functions (`references.stage.assess`,
`convert.output_size`, `core.check_request_decode`) from the file's header: it never decodes an image, and it
never fetches a URL (the API does; nothing here checks what is behind one).
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from seedream_ui.errors import ReferenceImageError
from seedream_ui.references.checks import orientation
from seedream_ui.references.convert import output_size
from seedream_ui.references.core import check_request_decode
from seedream_ui.references.limits import MAX_REFERENCE_BYTES, MAX_REFERENCE_PIXELS
from seedream_ui.references.stage import assess, read_file
from seedream_ui.references.urls import url_problem
from seedream_ui.request import MAX_REFERENCES

ACTIONS = frozenset({"remove", "earlier", "later"})
URL_NOTE = "fetched by the API, not checked here"
_ROTATED = frozenset({5, 6, 7, 8})  # EXIF orientations that swap width and height


@dataclass(frozen=True)
class Preflight:
    """What sending one reference will do, known before sending: its facts and a note, or why it is refused."""

    facts: str  # "PNG · 1024x768", or the URL's host
    note: str  # "sent as it is", "will be downscaled to 6000x4000", URL_NOTE, or the refusal
    refused: bool = False
    decode_pixels: int = 0  # pixels the send path will decode (it counts them against a per-request cap)


def preflight_file(path: str) -> Preflight:
    """The preflight of an uploaded file, from its header. Cached by path, size and modification time."""
    try:
        stat = os.stat(path)
    except OSError:
        return Preflight("", f"{Path(path).name} was not found.", refused=True)
    return _preflight_file(path, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=128)
def _preflight_file(path: str, size: int, mtime_ns: int) -> Preflight:
    label = Path(path).name
    try:
        data = read_file(Path(path), label)
        fmt, header, plan = assess(data, label, MAX_REFERENCE_BYTES, MAX_REFERENCE_PIXELS)
        turned = orientation(fmt, data, header) in _ROTATED
    except ReferenceImageError as exc:
        return Preflight("", str(exc), refused=True)

    def upright(size: tuple[int, int]) -> str:
        width, height = reversed(size) if turned else size
        return f"{width}x{height}"

    facts = f"{fmt.upper()} · {upright(header.size)}"
    if plan is None:
        return Preflight(facts, "sent as it is")
    out = output_size(fmt, header.size, MAX_REFERENCE_PIXELS)
    if out[0] * out[1] < header.width * header.height:
        note = f"will be downscaled to {upright(out)}"
    else:
        note = "will be re-encoded before sending"
    if len(data) > MAX_REFERENCE_BYTES:
        note += f" (over {MAX_REFERENCE_BYTES // 2**20} MB: made smaller until it fits)"
    return Preflight(facts, note, decode_pixels=plan.pixels)


def preflight_url(url: str) -> Preflight:
    problem = url_problem(url)
    if problem:
        return Preflight("", f"this URL {problem}", refused=True)  # the tray shows the URL itself above
    return Preflight(urlsplit(url).hostname or "", URL_NOTE)


def url_lines(text: object) -> list[str]:
    """The URLs in the box, in line order: blank lines and surrounding spaces ignored, as the send path does."""
    return [line.strip() for line in text.splitlines() if line.strip()] if isinstance(text, str) else []


def file_url(path: str) -> str:
    """The upload's address on this server, as Gradio itself serves it (the page adds its root)."""
    return f"/gradio_api/file={quote(path, safe='/')}"


def key(kind: str, value: str) -> str:
    """A short name for one reference, sent with an action so that a stale or forged one is ignored."""
    return hashlib.sha256(f"{kind}\0{value}".encode()).hexdigest()[:12]


def entries(uploads: Sequence[str], urls_text: object) -> list[dict[str, Any]]:
    """The tray's items, numbered in the order sent: uploads, then URLs. Values for the page's template."""
    urls = url_lines(urls_text)
    items: list[dict[str, Any]] = []
    decoded = 0
    for number, (kind, value) in enumerate([*(("upload", u) for u in uploads), *(("url", u) for u in urls)], 1):
        check = preflight_file(value) if kind == "upload" else preflight_url(value)
        if check.decode_pixels and not check.refused:
            decoded += check.decode_pixels
            try:
                check_request_decode(decoded, Path(value).name)
            except ReferenceImageError as exc:
                check = Preflight(check.facts, str(exc), refused=True)
        if number > MAX_REFERENCES:
            check = Preflight(check.facts, f"Seedream takes at most {MAX_REFERENCES} reference images.", True)
        group = uploads if kind == "upload" else urls
        place = number - 1 if kind == "upload" else number - 1 - len(uploads)
        items.append(
            {
                "number": number,
                "index": number - 1,
                "key": key(kind, value),
                "upload": kind == "upload",
                "name": Path(value).name if kind == "upload" else value,
                "thumb": file_url(value) if kind == "upload" else "",
                "facts": check.facts,
                "note": check.note,
                "refused": check.refused,
                "first": place == 0,  # it cannot move earlier: uploads are always sent before URLs
                "last": place == len(group) - 1,
            }
        )
    return items


def apply(uploads: Sequence[str], urls_text: object, action: object) -> tuple[list[str], str] | None:
    """(uploads, URL text) after a tray action, or None when the action is not one: a forged or stale action
    (wrong shape, index out of range, a key that no longer names the item there) changes nothing."""
    if not isinstance(action, dict):
        return None
    op, index, named = action.get("op"), action.get("index"), action.get("key")
    urls = url_lines(urls_text)
    total = len(uploads) + len(urls)
    if op not in ACTIONS or not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < total:
        return None
    on_upload = index < len(uploads)
    group = list(uploads) if on_upload else urls
    place = index if on_upload else index - len(uploads)
    if named != key("upload" if on_upload else "url", group[place]):
        return None
    if op == "remove":
        del group[place]
    else:
        other = place - 1 if op == "earlier" else place + 1
        if not 0 <= other < len(group):  # uploads and URLs do not cross: uploads are always sent first
            return None
        group[place], group[other] = group[other], group[place]
    return (group, "\n".join(urls)) if on_upload else (list(uploads), "\n".join(group))
