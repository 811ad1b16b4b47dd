"""The recipe of a generation: everything needed to make it again, as typed, versioned JSON.

One format comes out ("Copy recipe", a share's recipe.json, the shared zip); two come in: that format and the
`request.json` of the page's zip (the API body with uploads named, see outputs.request_record). Both are hostile
input: types, sizes and the API's rules are checked before anything is used, and nothing else is kept, so a
recipe can never carry an API key or who made it.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from seedream_ui.errors import ValidationError
from seedream_ui.formats import is_http_url, split_data_uri
from seedream_ui.request import GenerateRequest, OptimizeMode, SequentialMode
from seedream_ui.shares.recipe_checks import (
    MAX_DEPTH,
    MAX_NAME_CHARS,
    checked_text,
    clean_name,
    created_at,
    depth,
    invalid,
    iso,
    json_object,
    load_json,
    no_unknown_keys,
    reference_list,
    show,
    utc,
)
from seedream_ui.sizes import DEFAULT_SIZE

RECIPE_VERSION = 1
RECIPE_KIND = "seedream-recipe"
MAX_PROMPT_CHARS = 20_000  # 30 times the recommended length; more is not a prompt
MAX_URL_CHARS = 2048
# An upload's stored copy inside a share: chosen by the store, so anything else is forged.
STORED_FILE = re.compile(r"reference-(?:[1-9]|1[0-4])\.(?:jpg|png|webp|gif|bmp|tiff)")
# Stands in for an upload while the API's rules are checked (their content is not part of a recipe).
_UPLOAD_STANDIN = "https://upload.placeholder/"
_RECIPE_KEYS = frozenset(
    {"kind", "version", "prompt", "size", "references", "watermark", "optimize_prompt_mode",
     "sequential_image_generation", "max_images", "created"}
)
_REQUEST_KEYS = frozenset(
    {"prompt", "size", "image", "watermark", "optimize_prompt_options", "sequential_image_generation",
     "sequential_image_generation_options"}
)
# outputs.request_record names an upload "cat.png (image/png, 1.2 MB, sent inline)".
_INLINE_LABEL = re.compile(r"(?P<name>.*) \([^()]*sent inline\)", re.DOTALL)


@dataclass(frozen=True)
class UrlReference:
    """A reference given as an http(s) URL: kept exactly as sent (the server never fetches it)."""

    url: str


@dataclass(frozen=True)
class UploadReference:
    """An uploaded reference: its file name, and inside a share the name of its stored copy."""

    name: str
    file: str | None = None


Reference = UrlReference | UploadReference


@dataclass(frozen=True)
class Recipe:
    prompt: str
    size: str = DEFAULT_SIZE
    references: tuple[Reference, ...] = field(default=())  # in the order they were sent
    watermark: bool = True
    optimize_prompt_mode: OptimizeMode | None = None
    sequential_image_generation: SequentialMode = "disabled"
    max_images: int | None = None
    created: datetime | None = None  # UTC

    @property
    def uploads(self) -> tuple[UploadReference, ...]:
        return tuple(r for r in self.references if isinstance(r, UploadReference))

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(r.url for r in self.references if isinstance(r, UrlReference))

    def url_lines(self) -> str:
        """The value for the page's "Reference image URLs" box."""
        return "\n".join(self.urls)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": RECIPE_KIND,
            "version": RECIPE_VERSION,
            "prompt": self.prompt,
            "size": self.size,
            "references": [_reference_dict(r) for r in self.references],
            "watermark": self.watermark,
            "optimize_prompt_mode": self.optimize_prompt_mode,
            "sequential_image_generation": self.sequential_image_generation,
            "max_images": self.max_images,
            "created": iso(self.created) if self.created else None,
        }

    def to_json(self) -> str:
        """The "Copy recipe" text (and a share's recipe.json)."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def request_record(self) -> dict[str, Any]:
        """The request.json shape (the API body, uploads named), as the page's zip has it."""
        images = tuple(r.url if isinstance(r, UrlReference) else _UPLOAD_STANDIN for r in self.references)
        record = self._request(images).to_payload()
        if self.references:
            record["image"] = [
                r.url if isinstance(r, UrlReference) else f"{r.name} (uploaded file, sent inline)"
                for r in self.references
            ]
        return record

    def _request(self, images: tuple[str, ...]) -> GenerateRequest:
        return GenerateRequest(
            prompt=self.prompt,
            size=self.size,
            images=images,
            watermark=self.watermark,
            optimize_prompt_mode=self.optimize_prompt_mode,
            sequential_image_generation=self.sequential_image_generation,
            max_images=self.max_images,
        )


def recipe_from_request(
    request: GenerateRequest, reference_names: tuple[str, ...] | list[str] = (), created: datetime | None = None
) -> Recipe:
    """The recipe of a request that was sent: URLs as given, data URIs as uploads named from `reference_names`."""
    names = list(reference_names) + [""] * (len(request.images) - len(reference_names))
    references: list[Reference] = [
        UrlReference(value) if is_http_url(value) else UploadReference(clean_name(name, index))
        for index, (value, name) in enumerate(zip(request.images, names, strict=False), start=1)
    ]
    return Recipe(
        prompt=request.prompt,
        size=request.size,
        references=tuple(references),
        watermark=request.watermark,
        optimize_prompt_mode=request.optimize_prompt_mode,
        sequential_image_generation=request.sequential_image_generation,
        max_images=request.max_images,
        created=utc(created or datetime.now(UTC)),
    )


def parse_recipe(source: str | bytes | Mapping[str, Any]) -> Recipe:
    """A checked Recipe from recipe JSON or a zip's request.json (text, bytes or an already-parsed dict).

    Raises ValidationError (field "recipe") saying what is wrong; nothing of the input is kept beyond the
    recipe's own fields.
    """
    data = load_json(source) if isinstance(source, (str, bytes)) else source
    if not isinstance(data, Mapping):
        raise invalid("it must be a JSON object ({...}).")
    if depth(data) > MAX_DEPTH:
        raise invalid("it is nested too deeply.")
    if "kind" in data or "version" in data:
        return _from_recipe(data)
    if "prompt" in data:
        return _from_request_record(data)
    raise invalid("it is neither a Seedream recipe nor a request.json (no \"prompt\").")


# ---- the two formats --------------------------------------------------------------------------------------


def _from_recipe(data: Mapping[str, Any]) -> Recipe:
    if data.get("kind", RECIPE_KIND) != RECIPE_KIND:
        raise invalid(f"\"kind\" must be {RECIPE_KIND!r}.")
    version = data.get("version")
    if version != RECIPE_VERSION or isinstance(version, bool):
        raise invalid(f"recipe version {show(version)} is not supported; this demo reads version {RECIPE_VERSION}.")
    no_unknown_keys(data, _RECIPE_KEYS)
    references = reference_list(data.get("references", []), "references")
    return _checked(
        Recipe(
            prompt=checked_text(data.get("prompt"), "prompt", MAX_PROMPT_CHARS),
            size=checked_text(data.get("size", DEFAULT_SIZE), "size", 64),
            references=tuple(_reference(item, i) for i, item in enumerate(references, start=1)),
            watermark=data.get("watermark", True),
            optimize_prompt_mode=data.get("optimize_prompt_mode"),
            sequential_image_generation=data.get("sequential_image_generation", "disabled"),
            max_images=data.get("max_images"),
            created=created_at(data.get("created")),
        )
    )


def _from_request_record(data: Mapping[str, Any]) -> Recipe:
    no_unknown_keys(data, _REQUEST_KEYS)
    images = reference_list(data.get("image", []), "image")
    optimize = json_object(data.get("optimize_prompt_options", {}), "optimize_prompt_options")
    sequence = json_object(data.get("sequential_image_generation_options", {}), "sequential_image_generation_options")
    return _checked(
        Recipe(
            prompt=checked_text(data.get("prompt"), "prompt", MAX_PROMPT_CHARS),
            size=checked_text(data.get("size", DEFAULT_SIZE), "size", 64),
            references=tuple(_record_image(item, i) for i, item in enumerate(images, start=1)),
            watermark=data.get("watermark", True),
            optimize_prompt_mode=optimize.get("mode"),
            sequential_image_generation=data.get("sequential_image_generation", "disabled"),
            max_images=sequence.get("max_images"),
        )
    )


def _checked(recipe: Recipe) -> Recipe:
    """Apply the API's own rules (request.py owns them) and keep the normalised values."""
    images = tuple(r.url if isinstance(r, UrlReference) else _UPLOAD_STANDIN for r in recipe.references)
    try:
        valid = recipe._request(images).validated()
    except ValidationError as exc:
        raise invalid(exc.message) from None
    return replace(
        recipe,
        prompt=valid.prompt,
        size=valid.size,
        watermark=valid.watermark,
        optimize_prompt_mode=valid.optimize_prompt_mode,
        sequential_image_generation=valid.sequential_image_generation,
        max_images=valid.max_images,
    )


def _reference(item: object, index: int) -> Reference:
    if not isinstance(item, Mapping):
        raise invalid(f"reference {index} must be an object with \"url\" or \"upload\".")
    if set(item) == {"url"}:
        return UrlReference(_url(item["url"], index))
    if "upload" in item and set(item) <= {"upload", "file"}:
        stored = item.get("file")
        if stored is not None and (not isinstance(stored, str) or not STORED_FILE.fullmatch(stored)):
            raise invalid(f"reference {index} names a stored file that this demo never writes.")
        return UploadReference(clean_name(checked_text(item["upload"], f"reference {index}", MAX_NAME_CHARS), index), stored)
    raise invalid(f"reference {index} must have exactly \"url\", or \"upload\" (and optionally \"file\").")


def _record_image(item: object, index: int) -> Reference:
    text = checked_text(item, f"reference {index}", MAX_URL_CHARS)
    if is_http_url(text.strip()):
        return UrlReference(_url(text, index))
    if split_data_uri(text) is not None or len(text) > MAX_NAME_CHARS * 2:
        raise invalid(f"reference {index} is inline image data; add the image to the page instead.")
    match = _INLINE_LABEL.fullmatch(text)
    return UploadReference(clean_name(match.group("name") if match else text, index))


def _url(value: object, index: int) -> str:
    url = checked_text(value, f"reference {index}", MAX_URL_CHARS).strip()
    if not is_http_url(url) or any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in url):
        raise invalid(f"reference {index} is not an http(s) URL.")
    return url


def _reference_dict(reference: Reference) -> dict[str, str]:
    if isinstance(reference, UrlReference):
        return {"url": reference.url}
    return {"upload": reference.name} | ({"file": reference.file} if reference.file else {})
