"""The rules of the API reference page, written straight from it and independently of seedream_ui/request.py.

Contract tests then catch a bug in our own validator instead of mirroring it. Where the page is silent, the
stand-in's choice is named here with the reason (see `MAX_REFERENCE_BYTES` and the `MAX_*` limits below).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from seedream_ui.formats import sniff_format
from seedream_ui.stub.images import Reference

__all__ = [
    "DEFAULT_SIZE",
    "MAX_PIXELS",
    "MAX_PROMPT_CHARS",
    "MAX_RATIO",
    "MAX_REFERENCES",
    "MAX_REFERENCE_BYTES",
    "MAX_TOTAL_IMAGES",
    "MAX_URL_CHARS",
    "MIN_PIXELS",
    "NAMED_SIZES",
    "InvalidArgument",
    "Plan",
    "describe_value",
    "lenient_plan",
    "validate_body",
]

# The page's rules.
MIN_PIXELS, MAX_PIXELS = 3_686_400, 16_777_216
MAX_RATIO = 16
MAX_REFERENCES = 14
MAX_TOTAL_IMAGES = 15  # references + generated images (Seedream 4.x docs)
NAMED_SIZES = {"2K": (2048, 2048), "4K": (4096, 4096)}
DEFAULT_SIZE = (2048, 2048)
# Where the page is silent: the stand-in's own bounds, each generous against what the real API accepts.
MAX_REFERENCE_BYTES = 10 * 1024 * 1024  # per decoded reference: ModelArk's documented limit (api-notes.md)
# The page only recommends <= 600 words; the real limit is undocumented. A 10,000-word prompt (~90 KB) is
# accepted whole; 1 MiB characters bounds what the stand-in must hold and hash (it draws only the start).
MAX_PROMPT_CHARS = 1024 * 1024
# An http(s) reference the API must fetch: common servers and CDNs refuse request lines past ~8 KB.
MAX_URL_CHARS = 8192
_MAX_SIZE_CHARS = 20  # "16777216x1" is 10; longer digit strings are no size (and int() of 5000 digits fails)
_CANONICAL_SIZE = re.compile(r"^([1-9][0-9]*)x([1-9][0-9]*)$")
_DATA_URI = re.compile(r"^data:image/[a-z0-9.+-]+(;[^;,]*)*;base64,", re.IGNORECASE)


class InvalidArgument(Exception):
    """A request the real API would refuse with 400 INVALID_ARGUMENT."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class Plan:
    """What a valid request asks for."""

    prompt: str
    width: int
    height: int
    references: tuple[Reference, ...]
    watermark: bool
    count: int


def validate_body(body: dict[str, Any]) -> Plan:
    """The plan of a request body, or InvalidArgument naming the first field that breaks a rule."""
    prompt = _prompt(body)
    width, height = _size(body.get("size", "2048x2048"))
    references = _references(body["image"]) if "image" in body else ()
    watermark = body.get("watermark", True)
    if not isinstance(watermark, bool):
        raise InvalidArgument("watermark", f"watermark must be true or false, not {describe_value(watermark)}.")
    if "optimize_prompt_options" in body:
        _optimize_options(body["optimize_prompt_options"])
    mode = body.get("sequential_image_generation", "disabled")
    if mode not in ("auto", "disabled"):
        raise InvalidArgument(
            "sequential_image_generation",
            f"sequential_image_generation must be \"auto\" or \"disabled\", not {describe_value(mode)}.",
        )
    max_images = _max_images(body, len(references))
    count = (max_images or 1) if mode == "auto" else 1
    return Plan(prompt, width, height, references, watermark, count)


def lenient_plan(body: Any) -> Plan:
    """The request's plan when it is valid, else one 2048x2048 image (faults answer any body)."""
    if isinstance(body, dict):
        try:
            return validate_body(body)
        except InvalidArgument:
            pass
    prompt = body.get("prompt") if isinstance(body, dict) else None
    return Plan(prompt if isinstance(prompt, str) and prompt.strip() else "(no prompt)", *DEFAULT_SIZE, (), True, 1)


def _prompt(body: dict[str, Any]) -> str:
    if "prompt" not in body:
        raise InvalidArgument("prompt", "prompt is required: describe the image to generate.")
    prompt = body["prompt"]
    if not isinstance(prompt, str):
        raise InvalidArgument("prompt", f"prompt must be a string, not {describe_value(prompt)}.")
    if not prompt.strip():
        raise InvalidArgument("prompt", "prompt is blank: describe the image to generate.")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidArgument(
            "prompt", f"prompt is {len(prompt)} characters; Seedream recommends at most 600 words ({MAX_PROMPT_CHARS} "
            "characters is the stand-in's hard limit)."
        )
    return prompt


def _size(size: object) -> tuple[int, int]:
    if not isinstance(size, str):
        raise InvalidArgument(
            "size", f"size must be a string such as \"2K\" or \"2048x2048\", not {describe_value(size)}."
        )
    if size in NAMED_SIZES:
        return NAMED_SIZES[size]
    match = _CANONICAL_SIZE.match(size) if len(size) <= _MAX_SIZE_CHARS else None
    if not match:
        raise InvalidArgument(
            "size",
            f"size {describe_value(size)} is not \"2K\", \"4K\" or \"<width>x<height>\" "
            "(digits, a lowercase x, no spaces).",
        )
    width, height = int(match.group(1)), int(match.group(2))
    pixels = width * height
    if not MIN_PIXELS <= pixels <= MAX_PIXELS:
        raise InvalidArgument(
            "size", f"size {size} has {pixels} pixels; the total must be between {MIN_PIXELS} and {MAX_PIXELS}."
        )
    if width > MAX_RATIO * height or height > MAX_RATIO * width:
        raise InvalidArgument("size", f"size {size} is too narrow; the aspect ratio must be between 1:16 and 16:1.")
    return width, height


def _references(images: object) -> tuple[Reference, ...]:
    if not isinstance(images, list):
        raise InvalidArgument(
            "image", f"image must be an array of URLs or Base64 images, not {describe_value(images)}."
        )
    if not 1 <= len(images) <= MAX_REFERENCES:
        raise InvalidArgument(
            "image", f"image holds {len(images)} items; send 1 to {MAX_REFERENCES} reference images, or leave it out."
        )
    return tuple(_reference(item, f"image[{index}]") for index, item in enumerate(images))


def _reference(item: object, name: str) -> Reference:
    if not isinstance(item, str):
        raise InvalidArgument(name, f"{name} must be a string (a URL or Base64), not {describe_value(item)}.")
    if item[:8].lower().startswith(("http://", "https://")):
        if len(item) > MAX_URL_CHARS:
            raise InvalidArgument(name, f"{name} is a URL of {len(item)} characters; at most {MAX_URL_CHARS} work.")
        try:
            host = urlsplit(item).hostname
        except ValueError:  # e.g. an unclosed "[" of an IPv6 address: a 400 like any bad URL, not a crash
            raise InvalidArgument(name, f"{name} is not a well-formed URL.") from None
        if not host:
            raise InvalidArgument(name, f"{name} is a URL without a host.")
        return Reference("url", url=item)
    match = _DATA_URI.match(item)
    if item[:5].lower() == "data:" and not match:
        raise InvalidArgument(name, f"{name} is a data URI but not of the form data:image/<type>;base64,<data>.")
    payload = item[match.end():] if match else item
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgument(name, f"{name} is neither an http(s) URL nor valid Base64.") from None
    image_format = sniff_format(data[:16])
    if image_format is None:
        raise InvalidArgument(name, f"{name} is not a jpeg, png, webp, bmp, tiff or gif image.")
    if len(data) > MAX_REFERENCE_BYTES:
        raise InvalidArgument(name, f"{name} is {len(data)} bytes; each reference image may be at most 10 MB.")
    return Reference("base64", data=data, format=image_format)


def _optimize_options(options: object) -> None:
    if not isinstance(options, dict):
        raise InvalidArgument(
            "optimize_prompt_options", f"optimize_prompt_options must be an object, not {describe_value(options)}."
        )
    if "mode" in options and options["mode"] not in ("standard", "fast"):
        raise InvalidArgument(
            "optimize_prompt_options.mode",
            f"optimize_prompt_options.mode must be \"standard\" or \"fast\", not {describe_value(options['mode'])}.",
        )


def _max_images(body: dict[str, Any], references: int) -> int | None:
    if "sequential_image_generation_options" not in body:
        return None
    options = body["sequential_image_generation_options"]
    name = "sequential_image_generation_options"
    if not isinstance(options, dict):
        raise InvalidArgument(name, f"{name} must be an object, not {describe_value(options)}.")
    if "max_images" not in options:
        return None
    value = options["max_images"]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgument(
            f"{name}.max_images", f"max_images must be a whole number >= 1, not {describe_value(value)}."
        )
    if references + value > MAX_TOTAL_IMAGES:
        raise InvalidArgument(
            f"{name}.max_images",
            f"max_images is {value} with {references} reference images; together they may be at most "
            f"{MAX_TOTAL_IMAGES}, so ask for at most {max(0, MAX_TOTAL_IMAGES - references)}.",
        )
    return value


def describe_value(value: object) -> str:
    """A short JSON rendering of a value for an error message (a long string is cut before rendering)."""
    if isinstance(value, str) and len(value) > 60:
        value = value[:60]
    elif isinstance(value, list | dict):
        value = _shallow(value)
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _shallow(value: list[Any] | dict[str, Any]) -> object:
    """The first few items, one level deep: enough for a message, however large the value."""
    if isinstance(value, list):
        return [item if isinstance(item, bool | int | float | None) else "..." for item in value[:8]]
    return {str(key)[:20]: "..." for key in list(value)[:8]}
