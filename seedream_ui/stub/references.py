"""Summaries of reference images for the stand-in's records: enough to check what was sent, not the bytes.

A request may carry 14 references of ~14 MB of Base64 each; records keep this instead (kind, format, length,
hash), so that what the stand-in remembers does not grow with what it was sent.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Any
from urllib.parse import urlsplit

from seedream_ui.formats import sniff_format

__all__ = ["summarise_reference", "summarise_references"]

_DATA_URI = re.compile(r"^data:([^;,]*)(;[^;,]*)*;base64,", re.IGNORECASE)
_SHOWN_URL = 200  # a URL is shown up to this many characters; a longer one only by its length and hash


def summarise_references(body: Any) -> list[dict[str, Any]]:
    """The summary of each item of `body["image"]` (an empty list when there is no such array)."""
    images = body.get("image") if isinstance(body, dict) else None
    return [summarise_reference(item) for item in images] if isinstance(images, list) else []


def summarise_reference(item: object) -> dict[str, Any]:
    """{"kind", "format", "length", "sha256"} of one reference as sent; a URL also keeps its host and start."""
    if not isinstance(item, str):
        return {"kind": "invalid", "format": None, "length": None, "sha256": None, "type": type(item).__name__}
    summary: dict[str, Any] = {"kind": "base64", "format": None, "length": len(item), "sha256": _digest(item)}
    if item[:8].lower().startswith(("http://", "https://")):
        summary.update(kind="url", url=item[:_SHOWN_URL], host=_host(item))
        return summary
    match = _DATA_URI.match(item[:300])
    if match:
        summary.update(kind="data-uri", media_type=match.group(1).lower())
    summary["format"] = _format(item[match.end() if match else 0:][:32])
    return summary


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _host(url: str) -> str | None:
    try:
        return urlsplit(url[:2048]).hostname
    except ValueError:
        return None


def _format(head: str) -> str | None:
    """The image format from the first Base64 characters (24 of them decode to the 18 bytes sniffing needs)."""
    try:
        return sniff_format(base64.b64decode(head[:24], validate=True))
    except (binascii.Error, ValueError):
        return None
