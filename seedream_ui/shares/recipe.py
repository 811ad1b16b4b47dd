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
from seedream_ui.request import MAX_REFERENCES, GenerateRequest, OptimizeMode, SequentialMode
from seedream_ui.sizes import DEFAULT_SIZE

RECIPE_VERSION = 1
RECIPE_KIND = "seedream-recipe"
MAX_RECIPE_BYTES = 256 * 1024  # a recipe names its uploads, so real ones are a few KB
MAX_PROMPT_CHARS = 20_000  # 30 times the recommended length; more is not a prompt
MAX_URL_CHARS = 2048
MAX_NAME_CHARS = 200
MAX_DEPTH = 20  # JSON nesting; a recipe needs 3
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
            "created": _iso(self.created) if self.created else None,
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
        UrlReference(value) if is_http_url(value) else UploadReference(_clean_name(name, index))
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
        created=_utc(created or datetime.now(UTC)),
    )


def parse_recipe(source: str | bytes | Mapping[str, Any]) -> Recipe:
    """A checked Recipe from recipe JSON or a zip's request.json (text, bytes or an already-parsed dict).

    Raises ValidationError (field "recipe") saying what is wrong; nothing of the input is kept beyond the
    recipe's own fields.
    """
    data = _load(source) if isinstance(source, (str, bytes)) else source
    if not isinstance(data, Mapping):
        raise _invalid("it must be a JSON object ({...}).")
    if _depth(data) > MAX_DEPTH:
        raise _invalid("it is nested too deeply.")
    if "kind" in data or "version" in data:
        return _from_recipe(data)
    if "prompt" in data:
        return _from_request_record(data)
    raise _invalid("it is neither a Seedream recipe nor a request.json (no \"prompt\").")


# ---- the two formats --------------------------------------------------------------------------------------


def _from_recipe(data: Mapping[str, Any]) -> Recipe:
    if data.get("kind", RECIPE_KIND) != RECIPE_KIND:
        raise _invalid(f"\"kind\" must be {RECIPE_KIND!r}.")
    version = data.get("version")
    if version != RECIPE_VERSION or isinstance(version, bool):
        raise _invalid(f"recipe version {_show(version)} is not supported; this demo reads version {RECIPE_VERSION}.")
    _no_unknown_keys(data, _RECIPE_KEYS)
    references = _list(data.get("references", []), "references")
    return _checked(
        Recipe(
            prompt=_text(data.get("prompt"), "prompt", MAX_PROMPT_CHARS),
            size=_text(data.get("size", DEFAULT_SIZE), "size", 64),
            references=tuple(_reference(item, i) for i, item in enumerate(references, start=1)),
            watermark=data.get("watermark", True),
            optimize_prompt_mode=data.get("optimize_prompt_mode"),
            sequential_image_generation=data.get("sequential_image_generation", "disabled"),
            max_images=data.get("max_images"),
            created=_created(data.get("created")),
        )
    )


def _from_request_record(data: Mapping[str, Any]) -> Recipe:
    _no_unknown_keys(data, _REQUEST_KEYS)
    images = _list(data.get("image", []), "image")
    optimize = _object(data.get("optimize_prompt_options", {}), "optimize_prompt_options")
    sequence = _object(data.get("sequential_image_generation_options", {}), "sequential_image_generation_options")
    return _checked(
        Recipe(
            prompt=_text(data.get("prompt"), "prompt", MAX_PROMPT_CHARS),
            size=_text(data.get("size", DEFAULT_SIZE), "size", 64),
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
        raise _invalid(exc.message) from None
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
        raise _invalid(f"reference {index} must be an object with \"url\" or \"upload\".")
    if set(item) == {"url"}:
        return UrlReference(_url(item["url"], index))
    if "upload" in item and set(item) <= {"upload", "file"}:
        stored = item.get("file")
        if stored is not None and (not isinstance(stored, str) or not STORED_FILE.fullmatch(stored)):
            raise _invalid(f"reference {index} names a stored file that this demo never writes.")
        return UploadReference(_clean_name(_text(item["upload"], f"reference {index}", MAX_NAME_CHARS), index), stored)
    raise _invalid(f"reference {index} must have exactly \"url\", or \"upload\" (and optionally \"file\").")


def _record_image(item: object, index: int) -> Reference:
    text = _text(item, f"reference {index}", MAX_URL_CHARS)
    if is_http_url(text.strip()):
        return UrlReference(_url(text, index))
    if split_data_uri(text) is not None or len(text) > MAX_NAME_CHARS * 2:
        raise _invalid(f"reference {index} is inline image data; add the image to the page instead.")
    match = _INLINE_LABEL.fullmatch(text)
    return UploadReference(_clean_name(match.group("name") if match else text, index))


def _url(value: object, index: int) -> str:
    url = _text(value, f"reference {index}", MAX_URL_CHARS).strip()
    if not is_http_url(url) or any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in url):
        raise _invalid(f"reference {index} is not an http(s) URL.")
    return url


# ---- small checks -----------------------------------------------------------------------------------------


def _load(source: str | bytes) -> object:
    if len(source) > MAX_RECIPE_BYTES:
        raise _invalid(f"it is {len(source) // 1024:,} KB; a recipe is at most {MAX_RECIPE_BYTES // 1024} KB.")
    try:
        text = source.decode("utf-8-sig") if isinstance(source, bytes) else source
        return json.loads(text, parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise _invalid("it is not UTF-8 text.") from None
    except RecursionError:
        raise _invalid("it is nested too deeply.") from None
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity, integers with thousands of digits
        raise _invalid(f"it is not valid JSON ({str(exc).split(':')[0]}).") from None


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a number JSON allows")


def _no_unknown_keys(data: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(str(key)[:40] for key in data if key not in allowed)
    if unknown:
        raise _invalid(f"unknown field(s): {', '.join(unknown[:5])}.")


def _text(value: object, name: str, limit: int) -> str:
    if not isinstance(value, str):
        raise _invalid(f"\"{name}\" must be text, not {_kind(value)}.")
    if len(value) > limit:
        raise _invalid(f"\"{name}\" is {len(value):,} characters; at most {limit:,} are accepted.")
    return value


def _list(value: object, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise _invalid(f"\"{name}\" must be a list, not {_kind(value)}.")
    if len(value) > MAX_REFERENCES:
        raise _invalid(f"\"{name}\" has {len(value)} references; Seedream 4.5 takes at most {MAX_REFERENCES}.")
    return value


def _object(value: object, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _invalid(f"\"{name}\" must be an object, not {_kind(value)}.")
    return value


def _created(value: object) -> datetime | None:
    if value is None:
        return None
    text = _text(value, "created", 40)
    try:
        return _utc(datetime.fromisoformat(text))
    except ValueError:
        raise _invalid("\"created\" must be a date and time like 2026-11-29T15:30:12Z.") from None


def _clean_name(name: str, index: int) -> str:
    """A display name only (stored copies get names of our own): no folders, no control characters."""
    base = re.split(r"[/\\]", name)[-1]
    kept = "".join(ch for ch in base if unicodedata.category(ch) not in ("Cc", "Cf", "Cs")).strip()
    return kept[:MAX_NAME_CHARS] or f"reference {index}"


def _reference_dict(reference: Reference) -> dict[str, str]:
    if isinstance(reference, UrlReference):
        return {"url": reference.url}
    return {"upload": reference.name} | ({"file": reference.file} if reference.file else {})


def _utc(moment: datetime) -> datetime:
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.replace(microsecond=0)


def _iso(moment: datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _depth(value: object, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, Mapping):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", bool: "true/false", int: "a number", float: "a number",
            type(None): "null"}.get(type(value), "text" if isinstance(value, str) else "something else")


def _show(value: object) -> str:
    return repr(value)[:40]


def _invalid(reason: str) -> ValidationError:
    return ValidationError(f"This recipe cannot be used: {reason}", field="recipe")
