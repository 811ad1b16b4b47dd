"""The small checks behind parse_recipe: each refuses with a ValidationError naming what is wrong."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from seedream_ui.errors import ValidationError
from seedream_ui.request import MAX_REFERENCES

MAX_RECIPE_BYTES = 256 * 1024  # a recipe names its uploads, so real ones are a few KB
MAX_NAME_CHARS = 200
MAX_DEPTH = 20  # JSON nesting; a recipe needs 3


def load_json(source: str | bytes) -> object:
    if len(source) > MAX_RECIPE_BYTES:
        raise invalid(f"it is {len(source) // 1024:,} KB; a recipe is at most {MAX_RECIPE_BYTES // 1024} KB.")
    try:
        text = source.decode("utf-8-sig") if isinstance(source, bytes) else source
        return json.loads(text, parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise invalid("it is not UTF-8 text.") from None
    except RecursionError:
        raise invalid("it is nested too deeply.") from None
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity, integers with thousands of digits
        raise invalid(f"it is not valid JSON ({str(exc).split(':')[0]}).") from None


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a number JSON allows")


def no_unknown_keys(data: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(str(key)[:40] for key in data if key not in allowed)
    if unknown:
        raise invalid(f"unknown field(s): {', '.join(unknown[:5])}.")


def checked_text(value: object, name: str, limit: int) -> str:
    if not isinstance(value, str):
        raise invalid(f"\"{name}\" must be text, not {_kind(value)}.")
    if len(value) > limit:
        raise invalid(f"\"{name}\" is {len(value):,} characters; at most {limit:,} are accepted.")
    return value


def reference_list(value: object, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise invalid(f"\"{name}\" must be a list, not {_kind(value)}.")
    if len(value) > MAX_REFERENCES:
        raise invalid(f"\"{name}\" has {len(value)} references; Seedream 4.5 takes at most {MAX_REFERENCES}.")
    return value


def json_object(value: object, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise invalid(f"\"{name}\" must be an object, not {_kind(value)}.")
    return value


def created_at(value: object) -> datetime | None:
    if value is None:
        return None
    text = checked_text(value, "created", 40)
    try:
        return utc(datetime.fromisoformat(text))
    except ValueError:
        raise invalid("\"created\" must be a date and time like 2026-11-29T15:30:12Z.") from None


def clean_name(name: str, index: int) -> str:
    """A display name only (stored copies get names of our own): no folders, no control characters."""
    base = re.split(r"[/\\]", name)[-1]
    kept = "".join(ch for ch in base if unicodedata.category(ch) not in ("Cc", "Cf", "Cs")).strip()
    return kept[:MAX_NAME_CHARS] or f"reference {index}"


def utc(moment: datetime) -> datetime:
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.replace(microsecond=0)


def iso(moment: datetime) -> str:
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def depth(value: object, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, Mapping):
        return max((depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((depth(v, level + 1) for v in value), default=level + 1)
    return level


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", bool: "true/false", int: "a number", float: "a number",
            type(None): "null"}.get(type(value), "text" if isinstance(value, str) else "something else")


def show(value: object) -> str:
    return repr(value)[:40]


def invalid(reason: str) -> ValidationError:
    return ValidationError(f"This recipe cannot be used: {reason}", field="recipe")
