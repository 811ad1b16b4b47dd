"""Pictures for the stand-in API: cheap, legible placeholders that carry a machine-readable marker.

Each picture shows "STAND-IN", the prompt, its size, "image i of N", thumbnails of the reference images and,
when asked, an "AI generated" mark. The marker (JSON) rides in a JPEG COM segment or a PNG tEXt chunk so that
tests can tell which request and which index produced an image without looking at pixels.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from PIL import Image, PngImagePlugin

from seedream_ui.stub.draw import Layout, draw_picture, reference_tile

__all__ = ["MARKER_KEY", "ImageFormat", "PictureSet", "Reference", "encode_marker", "read_marker", "render_set"]

MARKER_KEY = "seedream-stub"
# A JPEG COM segment holds at most 65533 bytes; leave room so that Pillow never has to split it.
_MAX_MARKER_BYTES = 60_000

# The marker must fit in one JPEG comment whatever the request held: 14 URLs of up to 2048 characters do.
_SHOWN_URL = 2048

ImageFormat = Literal["jpeg", "png"]


@dataclass(frozen=True)
class Reference:
    """One reference image of a request: decoded Base64 bytes, or a URL the stand-in never fetches."""

    kind: Literal["base64", "url"]
    data: bytes = b""
    url: str = ""
    format: str | None = None

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "?"

    def describe(self) -> dict[str, Any]:
        """What the marker says about this reference (never the bytes themselves)."""
        if self.kind == "url":
            return {"kind": "url", "url": self.url[:_SHOWN_URL], "host": self.host}
        digest = hashlib.sha256(self.data).hexdigest()[:16]
        return {"kind": "base64", "format": self.format, "bytes": len(self.data), "sha256": digest}


@dataclass(frozen=True)
class PictureSet:
    """Everything needed to draw the N images of one request."""

    prompt: str
    width: int
    height: int
    count: int
    references: tuple[Reference, ...] = ()
    watermark: bool = True
    request_id: str = ""
    token: str = ""

    def marker(self, index: int) -> dict[str, Any]:
        """The marker of image `index` (1-based, as drawn: "image 1 of N")."""
        return {
            "request_id": self.request_id,
            "token": self.token,
            "prompt": self.prompt,
            "size": f"{self.width}x{self.height}",
            "index": index,
            "count": self.count,
            "references": [ref.describe() for ref in self.references],
            "watermark": self.watermark,
        }


def render_set(
    pictures: PictureSet, image_format: ImageFormat = "jpeg", indices: Sequence[int] | None = None
) -> list[bytes]:
    """Encode the images of a request (all N, or only `indices`, 1-based); references are decoded once."""
    indices = range(1, pictures.count + 1) if indices is None else indices
    if not indices:
        return []
    layout = Layout.for_size(pictures.width, pictures.height, len(pictures.references))
    tiles = [reference_tile(ref, number, layout.tile) for number, ref in enumerate(pictures.references, 1)]
    return [
        _encode(draw_picture(pictures, index, layout, tiles), pictures.marker(index), image_format) for index in indices
    ]


def encode_marker(marker: dict[str, Any]) -> bytes:
    """ASCII JSON (PNG tEXt is Latin-1), shortening an enormous prompt so the marker always fits."""
    prompt = str(marker.get("prompt", ""))
    if len(prompt) > _MAX_MARKER_BYTES:  # cut first: dumping a 10 MB prompt again and again costs seconds
        marker = {**marker, "prompt": prompt[:_MAX_MARKER_BYTES], "prompt_truncated": True}
    data = json.dumps(marker, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    prompt = str(marker.get("prompt", ""))
    while len(data) > _MAX_MARKER_BYTES and prompt:
        prompt = prompt[: len(prompt) // 2]
        marker = {**marker, "prompt": prompt, "prompt_truncated": True}
        data = json.dumps(marker, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    return data


def read_marker(image_bytes: bytes) -> dict[str, Any] | None:
    """The marker of an image made by the stand-in, or None for any other bytes."""
    try:
        with Image.open(io.BytesIO(image_bytes)) as image:
            raw = image.info.get("comment") if image.format == "JPEG" else image.info.get(MARKER_KEY)
    except Exception:  # anything Pillow cannot open simply has no marker
        return None
    if raw is None:
        return None
    try:
        marker = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return marker if isinstance(marker, dict) and "request_id" in marker else None


def _encode(image: Image.Image, marker: dict[str, Any], image_format: ImageFormat) -> bytes:
    data = encode_marker(marker)
    buffer = io.BytesIO()
    if image_format == "png":
        info = PngImagePlugin.PngInfo()
        info.add_text(MARKER_KEY, data.decode("ascii"))
        image.save(buffer, "PNG", pnginfo=info, compress_level=1)  # speed over size: these are placeholders
    else:
        image.save(buffer, "JPEG", quality=90, comment=data)
    return buffer.getvalue()
