"""Reading and parsing request bodies so that no input costs the stand-in more than a bounded amount.

Every problem here becomes a 4xx with a JSON error, never a 500: a body over the size cap (413), bytes that
are not UTF-8 JSON, NaN or Infinity (not JSON), numbers too large for a float, nesting deeper than any
request of the API needs, or more values than any request of the API holds (a 200 MB array of small numbers
would take gigabytes as Python objects). Lone UTF-16 surrogates ("\\ud800") are replaced by U+FFFD, as Go's
encoding/json does, so that what was received can always be drawn, logged and listed again.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

__all__ = ["MAX_DEPTH", "MAX_VALUES", "Parsed", "parse_body", "read_body"]

MAX_DEPTH = 32  # the API's deepest field is 2 levels down
MAX_VALUES = 100_000  # separators counted before parsing; a request of the API has fewer than 50 values
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


async def read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is known to be larger than `limit` bytes (nothing more is read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


@dataclass(frozen=True)
class Parsed:
    """A body as parsed: `value` when it is JSON within bounds, else `problem` says why not."""

    value: Any = None
    problem: str | None = None


def parse_body(raw: bytes) -> Parsed:
    if raw.count(b",") + raw.count(b":") > 2 * MAX_VALUES:
        return Parsed(problem=f"The body holds more than {MAX_VALUES} JSON values; the API needs a few.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return Parsed(problem="The body is not UTF-8 text.")
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        return Parsed(problem=f"The body nests deeper than {MAX_DEPTH} levels.")
    except ValueError as error:  # JSONDecodeError, NaN, 1e999, an integer of more than 4300 digits
        return Parsed(problem=f"The body is not valid JSON ({_first_line(error)}).")
    if _depth_exceeds(value, MAX_DEPTH):
        return Parsed(problem=f"The body nests deeper than {MAX_DEPTH} levels.")
    if _SURROGATE_ESCAPE.search(raw):
        value = _mend(value)
    return Parsed(value)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"the number {text[:20]} is too large")
    return number


def _first_line(error: ValueError) -> str:
    return str(error).splitlines()[0][:120] if str(error) else type(error).__name__


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether containers nest more than `limit` deep (iterative: a deep body must not exhaust the stack)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def _mend(value: Any) -> Any:
    """Lone surrogates replaced by U+FFFD; recursion is safe here because the depth was checked first."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list):
        return [_mend(item) for item in value]
    if isinstance(value, dict):
        return {_mend(key): _mend(item) for key, item in value.items()}
    return value
