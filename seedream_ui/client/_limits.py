"""Bounds on what the upstream may send back: the one place these numbers live.

A generation's answer comes from a server we do not control (or a gateway in between); none of these should
ever bind for a real Seedream answer, and each keeps a broken or hostile one from filling memory.
"""

from __future__ import annotations

from dataclasses import dataclass

from seedream_ui.request import MAX_TOTAL_IMAGES
from seedream_ui.sizes import MAX_PIXELS

MIB = 1024 * 1024


@dataclass(frozen=True)
class ResultLimits:
    # The JSON answer: 15 inline 4K JPEGs in Base64 are ~40 MB.
    max_json_bytes: int = 64 * MIB
    # One result image, downloaded or inline: a 4K JPEG is ~2-8 MB, a 4K PNG up to ~40 MB.
    max_image_bytes: int = 50 * MIB
    # The API's largest size is 16,777,216 px; "2K"/"4K" let the model pick the exact size, so allow some slack.
    max_image_pixels: int = MAX_PIXELS * 5 // 4
    # A sequence returns at most 15 images (references + results); more than a request can produce is
    # cut to what it can, before anything is downloaded.
    max_images: int = MAX_TOTAL_IMAGES
    # An error answer is read only for its message.
    max_error_bytes: int = 1 * MIB


DEFAULT_LIMITS = ResultLimits()
