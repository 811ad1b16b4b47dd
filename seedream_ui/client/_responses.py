"""What a generation returns, and how one element of the answer's `images` list becomes a checked image."""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from PIL import Image, UnidentifiedImageError

from seedream_ui.errors import InvalidResponseError
from seedream_ui.formats import is_http_url, split_data_uri
from seedream_ui.request import GenerateRequest
from seedream_ui.sizes import MAX_PIXELS

# Work on inline images bigger than this goes to a worker thread so the event loop (the UI) stays responsive.
_OFFLOAD_BYTES = 4 * 1024 * 1024
_FORMAT_ALIASES = {"mpo": "jpeg"}  # multi-picture JPEG is a JPEG to everyone who opens it
_EXTENSIONS = {"jpeg": "jpg"}

T = TypeVar("T")


@dataclass(frozen=True)
class GeneratedImage:
    """One generated image, checked to decode. `url` is set when the API answered with a URL."""

    data: bytes = field(repr=False)
    format: str  # lower-case Pillow format name: "jpeg", "png", "webp", ...
    width: int
    height: int
    url: str | None = None

    @property
    def mime_type(self) -> str:
        return Image.MIME.get(self.format.upper(), f"image/{self.format}")

    @property
    def extension(self) -> str:
        return _EXTENSIONS.get(self.format, self.format)


@dataclass(frozen=True)
class GenerationResult:
    """What one `generate()` call produced.

    `failures` holds a short message per returned image that could not be used (e.g. a result URL that
    answered 404) when others could; `warnings` are notes about the request that did not stop it.
    """

    images: tuple[GeneratedImage, ...]
    elapsed: float
    request: GenerateRequest
    failures: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def image_source(item: object) -> tuple[str | None, str | None]:
    """(URL, inline Base64 or data URI) found in one element of `images`; either may be None."""
    if isinstance(item, str):
        text = item.strip()
        return (text, None) if is_http_url(text) else (None, text)
    if not isinstance(item, dict):
        return None, None
    url: str | None = None
    inline: str | None = None
    # OpenAI-style keys first, then common spellings; values are classified by content, not by key.
    for name in ("url", "image_url", "b64_json", "base64", "b64", "image_base64", "data", "image", "content"):
        value = item.get(name)
        if isinstance(value, dict):
            nested_url, nested_inline = image_source(value)
            url, inline = url or nested_url, inline or nested_inline
        elif isinstance(value, str) and value.strip():
            found_url, found_inline = image_source(value)
            url, inline = url or found_url, inline or found_inline
    return url, inline


def decode_inline(text: str, url: str | None = None, max_pixels: int | None = None) -> GeneratedImage:
    parts = split_data_uri(text)
    payload = parts[1] if parts else text
    payload = "".join(payload.split())  # line-wrapped Base64 is common
    if "-" in payload or "_" in payload:
        payload = payload.replace("-", "+").replace("_", "/")  # URL-safe alphabet
    payload += "=" * (-len(payload) % 4)
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidResponseError("neither a URL nor valid Base64.") from None
    return checked_image(data, url, max_pixels)


def checked_image(data: bytes, url: str | None = None, max_pixels: int | None = None) -> GeneratedImage:
    """Read the header and check the structure without decoding pixels (cheap even at 4K).

    The size is read from the header, so an image of too many pixels is refused before anything decodes it.
    """
    if not data:
        raise InvalidResponseError("empty.")
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = (image.format or "").lower()
            width, height = image.size
            if max_pixels is not None and width * height > max_pixels:
                raise InvalidResponseError(
                    f"{width}x{height} pixels, more than any Seedream image ({MAX_PIXELS:,} at most); not used."
                )
            image.verify()
    except InvalidResponseError:
        raise
    except Image.DecompressionBombError:
        raise InvalidResponseError(f"far more pixels than any Seedream image ({MAX_PIXELS:,} at most); not used.") from None
    except UnidentifiedImageError:
        raise InvalidResponseError("not an image (it does not decode).") from None
    except Exception:  # Pillow raises many types for corrupt files
        raise InvalidResponseError("a corrupt or incomplete image (it does not decode).") from None
    fmt = _FORMAT_ALIASES.get(fmt, fmt)
    return GeneratedImage(data=data, format=fmt, width=width, height=height, url=url)


async def maybe_offload(size: int, func: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(func, *args) if size > _OFFLOAD_BYTES else func(*args)


def describe(item: object) -> str:
    if isinstance(item, dict):
        return "an object with keys " + ", ".join(sorted(map(str, item))[:6]) if item else "an empty object"
    return f"a {type(item).__name__}"
