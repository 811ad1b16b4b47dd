"""The typed request and every rule of the API reference page, checked before anything is sent."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import urlsplit

from seedream_ui.errors import ValidationError
from seedream_ui.formats import ALLOWED_FORMATS, is_base64, is_http_url, sniff_base64, split_data_uri
from seedream_ui.sizes import DEFAULT_SIZE, validate_size

MAX_REFERENCES = 14
# Seedream 4.x documentation: reference images plus generated images may not exceed 15.
MAX_TOTAL_IMAGES = 15
# Seedream 4.5 supports only "standard" prompt optimisation ("fast" is Seedream 4.0's: see api-notes.md).
OPTIMIZE_MODES: tuple[str, ...] = ("standard",)
UNSUPPORTED_OPTIMIZE_MODES: tuple[str, ...] = ("fast",)
SEQUENTIAL_MODES: tuple[str, ...] = ("disabled", "auto")
# The reference page recommends prompts of at most 300 Chinese characters or 600 English words.
RECOMMENDED_MAX_WORDS = 600
RECOMMENDED_MAX_CJK = 300
# Hard caps on what a visitor may send, far beyond any real use: 600 English words are ~4,000 characters, so
# 20,000 leaves a 5x margin, while a megabyte prompt (which costs every layer CPU and memory) is refused at once.
MAX_PROMPT_CHARS = 20_000
MAX_URL_CHARS = 8_192  # a common server limit for a request line; no image URL needs more
MAX_URL_LINES = 100  # lines in the URL box, blank ones included; at most 14 may hold URLs

SequentialMode = Literal["disabled", "auto"]
OptimizeMode = Literal["standard"]

_IMAGE_MIME = re.compile(r"image/[a-z0-9.+-]+", re.IGNORECASE)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class GenerateRequest:
    """One call to Seedream 4.5. Field names follow the API; `images` are URLs or data URIs.

    Build it, call `validated()` for a checked and normalised copy, then `to_payload()`.
    """

    prompt: str
    size: str = DEFAULT_SIZE
    images: tuple[str, ...] = field(default=(), repr=False)  # data URIs are megabytes; keep reprs short
    watermark: bool = True
    optimize_prompt_mode: OptimizeMode | None = None
    sequential_image_generation: SequentialMode = "disabled"
    max_images: int | None = None

    def validated(self) -> GenerateRequest:
        """A normalised copy, or ValidationError naming the first rule broken."""
        prompt = validate_prompt(self.prompt)
        size = validate_size(self.size)
        # Count the validated images: `images` may arrive as None (no references) or a list.
        images = validate_images(self.images)
        return replace(
            self,
            prompt=prompt,
            size=size,
            images=images,
            watermark=_validate_bool(self.watermark, "watermark"),
            optimize_prompt_mode=_validate_optimize_mode(self.optimize_prompt_mode),
            sequential_image_generation=_validate_sequential(self.sequential_image_generation),
            max_images=_validate_max_images(self.max_images, self.sequential_image_generation, len(images)),
        )

    def to_payload(self) -> dict[str, Any]:
        """Exactly the JSON body of the reference page; optional fields only when they are set."""
        payload: dict[str, Any] = {"prompt": self.prompt, "size": self.size}
        if self.images:
            payload["image"] = list(self.images)
        payload["watermark"] = self.watermark
        if self.optimize_prompt_mode:
            payload["optimize_prompt_options"] = {"mode": self.optimize_prompt_mode}
        payload["sequential_image_generation"] = self.sequential_image_generation
        if self.sequential_image_generation == "auto" and self.max_images is not None:
            payload["sequential_image_generation_options"] = {"max_images": self.max_images}
        return payload

    def expected_images(self) -> int:
        """How many images this request asks for at most (1 unless a sequence is allowed)."""
        if self.sequential_image_generation == "auto":
            return self.max_images or MAX_TOTAL_IMAGES - len(self.images)
        return 1

    def warnings(self) -> list[str]:
        """Things worth telling the user that do not stop the request."""
        note = prompt_length_warning(self.prompt)
        return [note] if note else []


def clean_prompt(prompt: str) -> str:
    """Drop control characters (they carry no meaning for the model) and surrounding spaces.

    Lone surrogates (Cs) go too: a browser can send half of an emoji pair, and UTF-8 cannot encode it.
    """
    kept = (ch for ch in prompt if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs"))
    return "".join(kept).strip()


def validate_prompt(prompt: object) -> str:
    if not isinstance(prompt, str):
        raise ValidationError(f"The prompt must be text, not {type_name(prompt)}.", field="prompt")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise ValidationError(
            f"The prompt is {len(prompt):,} characters long; the limit is {MAX_PROMPT_CHARS:,} "
            f"(Seedream recommends at most {RECOMMENDED_MAX_WORDS} words or {RECOMMENDED_MAX_CJK} Chinese characters).",
            field="prompt",
        )
    cleaned = clean_prompt(prompt)
    # Zero-width and direction marks alone (category Cf) are as blank as spaces to the model.
    if not cleaned or all(ch.isspace() or unicodedata.category(ch) == "Cf" for ch in cleaned):
        raise ValidationError("Write a prompt first: describe the image you want.", field="prompt")
    return cleaned


def prompt_stats(prompt: str) -> tuple[int, int]:
    """(English-style words, Chinese characters) in the prompt, as the recommendation counts them."""
    cjk = len(_CJK.findall(prompt))
    words = len(_CJK.sub(" ", prompt).split())
    return words, cjk


def prompt_length_warning(prompt: str) -> str | None:
    words, cjk = prompt_stats(prompt)
    if words > RECOMMENDED_MAX_WORDS or cjk > RECOMMENDED_MAX_CJK:
        return (
            f"The prompt is long ({words:,} words, {cjk:,} Chinese characters); Seedream recommends at most "
            f"{RECOMMENDED_MAX_WORDS} English words or {RECOMMENDED_MAX_CJK} Chinese characters, "
            "and may ignore the rest."
        )
    return None


def validate_images(images: object) -> tuple[str, ...]:
    if images is None:
        return ()
    if isinstance(images, str) or not isinstance(images, (list, tuple)):
        raise ValidationError("Reference images must be a list of URLs or data URIs.", field="image")
    if len(images) > MAX_REFERENCES:
        raise ValidationError(
            f"{len(images)} reference images given; Seedream 4.5 takes at most {MAX_REFERENCES}. "
            f"Remove {len(images) - MAX_REFERENCES}.",
            field="image",
        )
    return tuple(validate_image_item(item, index) for index, item in enumerate(images, start=1))


def validate_image_item(item: object, index: int = 1) -> str:
    """A reference must be an http(s) URL or Base64 (bare or as a data URI) of an allowed format."""
    if not isinstance(item, str) or not item.strip():
        raise ValidationError(f"Reference image {index} is empty; give a URL or an image file.", field="image")
    item = item.strip()
    if is_http_url(item):
        if not _url_host(item):
            raise ValidationError(
                f"Reference image {index} is not a URL with a host name: {item[:80]!r}.", field="image"
            )
        return item
    parts = split_data_uri(item)
    payload = parts[1] if parts else item
    fmt = sniff_base64(payload)
    if fmt is None:
        raise ValidationError(
            f"Reference image {index} is neither an http(s) URL nor an image in an accepted format "
            f"({', '.join(ALLOWED_FORMATS)}).",
            field="image",
        )
    if not is_base64(payload):
        raise ValidationError(
            f"Reference image {index} is not valid Base64 (it may be cut short or contain line breaks).",
            field="image",
        )
    if parts is not None and not _IMAGE_MIME.fullmatch(parts[0] or ""):
        # Judged by content, but the API reads only data:image/<format>;base64,... (not octet-stream or no type).
        return f"data:image/{fmt};base64,{payload}"
    return item


def _url_host(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:  # e.g. "https://[::1" (an unclosed IPv6 bracket)
        return None


def type_name(value: object) -> str:
    """How a wrong value is named in a message: its JSON type, never its (possibly huge) content."""
    names = {bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list", tuple: "a list",
             dict: "an object", type(None): "null"}  # fmt: skip
    return names.get(type(value), type(value).__name__)


def shown(value: object, limit: int = 40) -> str:
    """A short repr of a refused value: enough to recognise it, never a megabyte echoed back."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _validate_bool(value: object, name: str) -> bool:
    # Strict: the string "false" is truthy, so coercing would send the opposite of what was meant.
    if not isinstance(value, bool):
        raise ValidationError(f"{name} must be true or false, not {type_name(value)}.", field=name)
    return value


def _validate_optimize_mode(mode: object) -> OptimizeMode | None:
    if mode is None or mode == "":
        return None
    if isinstance(mode, str) and mode in UNSUPPORTED_OPTIMIZE_MODES:
        # Refused rather than sent: the API may reject it or ignore it, and either way the visitor did not get
        # what they chose.
        raise ValidationError(
            f"Prompt optimisation mode {mode!r} is Seedream 4.0's; Seedream 4.5 supports only 'standard'. "
            "Use 'standard' or leave it out.",
            field="optimize_prompt_options",
        )
    if not isinstance(mode, str) or mode not in OPTIMIZE_MODES:
        raise ValidationError(
            f"Prompt optimisation mode {shown(mode)} is not one of: {', '.join(OPTIMIZE_MODES)}.",
            field="optimize_prompt_options",
        )
    return mode  # type: ignore[return-value]


def _validate_sequential(mode: object) -> SequentialMode:
    if not isinstance(mode, str) or mode not in SEQUENTIAL_MODES:
        raise ValidationError(
            f"sequential_image_generation must be 'auto' or 'disabled', not {shown(mode)}.",
            field="sequential_image_generation",
        )
    return mode  # type: ignore[return-value]


def _validate_max_images(value: object, sequential: object, references: int) -> int | None:
    if value is None:
        return None
    if sequential != "auto":
        raise ValidationError(
            "max_images only applies to image sequences; set sequential_image_generation to 'auto' or drop it.",
            field="max_images",
        )
    value = whole_number(value, "max_images", minimum=1)
    allowed = MAX_TOTAL_IMAGES - min(references, MAX_REFERENCES)
    if value > allowed:
        raise ValidationError(
            f"max_images {shown(value)} with {references} reference image(s) exceeds Seedream's limit of "
            f"{MAX_TOTAL_IMAGES} images in all; use at most {allowed}.",
            field="max_images",
        )
    return value


def whole_number(value: object, name: str, *, minimum: int) -> int:
    """An int, or a float with no fraction (JSON does not tell 3 from 3.0); never a rounded 2.5 or a string."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValidationError(f"{name} must be a whole number of at least {minimum}, not {shown(value)}.", field=name)
    return value
