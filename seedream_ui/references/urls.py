"""Reference URLs: passed on unchanged (this server never fetches a URL a user typed), but checked first."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from seedream_ui.errors import ValidationError
from seedream_ui.formats import is_http_url


def parse_url_lines(text: str) -> list[str]:
    """URLs from a text box, one per line; blank lines and surrounding spaces are ignored."""
    urls: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        url = line.strip()
        if not url:
            continue
        problem = url_problem(url)
        if problem:
            raise ValidationError(f"Line {number} ({shorten(url)!r}) {problem}", field="image")
        urls.append(url)
    return urls


def url_problem(url: str) -> str | None:
    """Why `url` is not a usable http(s) URL, or None if it is one."""
    if not is_http_url(url):
        return "is not an http:// or https:// URL."
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return "contains spaces; percent-encode them (%20) or remove them."
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return "is not a well-formed URL."
    if not parts.hostname:
        return "has no host name."
    return None


def shorten(text: str, limit: int = 80) -> str:
    text = re.sub(r"\s+", " ", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
