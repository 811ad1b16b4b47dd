"""Recognise image formats from their bytes, never from file names."""

from __future__ import annotations

import base64
import binascii
import re

# The formats the API reference lists, by the name used in data URIs.
ALLOWED_FORMATS: tuple[str, ...] = ("jpeg", "png", "webp", "bmp", "tiff", "gif")

_BMP_DIB_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})
_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

_DATA_URI = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^;,]*)*?);base64,", re.IGNORECASE)


def sniff_format(head: bytes) -> str | None:
    """The format named by the magic bytes at the start of `head`, or None if it is not an allowed one."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    # "BM" alone is too weak (plain text can start with it): also require a known DIB header size.
    if head.startswith(b"BM") and int.from_bytes(head[14:18], "little") in _BMP_DIB_SIZES:
        return "bmp"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    return None


def is_http_url(value: str) -> bool:
    return value[:8].lower().startswith(("http://", "https://")) and len(value) > 8


def split_data_uri(value: str) -> tuple[str | None, str] | None:
    """(mime type, base64 payload) of a `data:...;base64,` URI, or None if `value` is not one."""
    match = _DATA_URI.match(value)
    if not match:
        return None
    return match.group("mime"), value[match.end():]


def sniff_base64(payload: str) -> str | None:
    """Sniff the format of Base64 text by decoding only its first bytes (cheap for multi-MB images)."""
    head = payload[:64].strip()
    head = head[: len(head) - len(head) % 4]
    try:
        return sniff_format(base64.b64decode(head, validate=True))
    except (binascii.Error, ValueError):
        return None


def is_base64(payload: str) -> bool:
    """Whether the whole of `payload` is well-formed Base64 (standard alphabet, padded).

    Checks the alphabet with bytes.translate, which is several times faster than decoding: this runs
    on every reference image of every request, and they can be megabytes each.
    """
    try:
        data = payload.encode("ascii")
    except UnicodeEncodeError:
        return False
    body = data.rstrip(b"=")
    if len(data) % 4 or len(data) - len(body) > 2 or not body:
        return False
    return not body.translate(None, _B64_ALPHABET)
