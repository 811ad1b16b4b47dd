"""From what the API (or the network) did to one APIError with a message written for a person."""

from __future__ import annotations

import json
import math
import re

import httpx

from seedream_ui.client._retry import parse_retry_after
from seedream_ui.client._scrub import scrub, scrub_value
from seedream_ui.client._wire import Answer
from seedream_ui.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ContentPolicyError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)

# The API key, and the secret parts of SEEDREAM_API_URL (password, query values).
Secrets = tuple[str, ...]

GATEWAY_NOT_RETRIED = (
    "Not retried automatically: a gateway may already have passed the request on, so Seedream may still be "
    "making (and billing) the image."
)
_CONTENT_POLICY = re.compile(r"sensitive|content[ _-]?policy|safety|moderation", re.IGNORECASE)


def transport_error(
    exc: httpx.RequestError,
    attempts: int,
    *,
    host: str,
    connect_timeout: float,
    read_timeout: float,
    unsent: bool = False,
) -> APIError:
    """The error for a request that got no (complete) HTTP answer, in words; never the exception's own text."""
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    if isinstance(exc, httpx.ConnectTimeout):
        return APITimeoutError(f"Could not connect to Seedream at {host} within {seconds(connect_timeout)}{tries}.")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return APIConnectionError(f"Cannot call {host}: the API URL must start with http:// or https://.")
    if isinstance(exc, httpx.ConnectError):
        reason = connect_reason(str(exc))
        return APIConnectionError(f"Could not connect to Seedream at {host}{tries}{f' ({reason})' if reason else ''}.")
    if isinstance(exc, httpx.PoolTimeout):
        return APITimeoutError("Too many generations at once: no connection became free in time. Try again.")
    if unsent:
        return APIConnectionError(
            f"Seedream closed the connection before the request was sent{tries}; nothing was generated. Try again."
        )
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"Seedream did not answer within {seconds(read_timeout)}.")
    if isinstance(exc, httpx.DecodingError):
        return InvalidResponseError("Seedream's answer could not be decompressed (it is not valid gzip, deflate or br).")
    # Read errors, dropped connections, protocol errors: the request went out, so the work may be done.
    return APIConnectionError(
        "The connection to Seedream broke before its answer was complete. "
        "Not retried automatically: the image may already have been generated and billed."
    )


# What an OS or TLS error text means, for a person; anything else is left unsaid (it is in the log).
_CONNECT_REASONS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("refused",), "the connection was refused"),
    (
        ("name or service not known", "nodename nor servname", "getaddrinfo", "name resolution", "no address"),
        "its host name could not be resolved",
    ),
    (("certificate",), "its TLS certificate was not accepted"),
    (("ssl", "tls", "handshake"), "the secure connection (TLS) could not be set up"),
    (("unreachable", "no route to host"), "the network cannot reach it"),
    (("reset",), "the connection was reset"),
)


def connect_reason(text: str) -> str | None:
    lowered = text.lower()
    return next((reason for needles, reason in _CONNECT_REASONS if any(n in lowered for n in needles)), None)


def status_error(response: Answer, secrets: Secrets, attempts: int, *, api_url: str) -> APIError:
    status = response.status_code
    # Scrubbed before parsing (escaped forms), and after (a \\u-escaped key only shows once parsed).
    body = scrub_value(json_or_text(scrub(response.text, *secrets)), *secrets)
    message = api_message(body)
    said = f": {message}" if message else "."
    if status in (400, 403, 422) and is_content_policy(body):
        return ContentPolicyError(
            f"Seedream declined the request under its content policy{said}", status_code=status, body=body
        )
    if status == 401:
        return AuthenticationError(
            "The API key was rejected (401). Check SEEDREAM_API_KEY or the key box.",
            status_code=status, body=body,
        )
    if status == 403:
        detail = f" {sentence(message)}" if message else ""
        return PermissionDeniedError(
            f"The API key is not allowed to do this (403).{detail} Check SEEDREAM_API_KEY or the key box.",
            status_code=status, body=body,
        )
    if status in (400, 422):
        return BadRequestError(
            f"Seedream rejected the request{said}" if message else f"Seedream rejected the request ({status}).",
            status_code=status, body=body,
        )
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if retry_after is not None:
            text = f"Rate limited by Seedream; retry after {seconds(retry_after)}."
        else:
            tries = f" after {attempts} attempts" if attempts > 1 else ""
            text = f"Rate limited by Seedream{tries}; wait a moment and try again."
        return RateLimitError(text, status_code=status, body=body, retry_after=retry_after)
    if status >= 500:
        tries = f" and did not recover after {attempts} attempts" if attempts > 1 else ""
        tail = f" It said: {sentence(message)}" if message else ""
        if status in (502, 504):
            tail += f" {GATEWAY_NOT_RETRIED}"
        return ServerError(f"Seedream had a server error ({status}){tries}.{tail}", status_code=status, body=body)
    if status == 404:
        return NotFoundError(
            f"Nothing answers at {api_url} (404). Check SEEDREAM_API_URL.", status_code=status, body=body
        )
    if 400 <= status < 500:
        return APIStatusError(f"Seedream rejected the request ({status}){said}", status_code=status, body=body)
    return APIStatusError(
        f"Seedream answered with an unexpected status ({status}){said}", status_code=status, body=body
    )


def api_message(body: object) -> str | None:
    """The human message in an error body: {"message"}, {"error": {...}}, {"error": "..."}, {"detail"}, {"reason"}."""
    if isinstance(body, str):
        return snippet(body) if body.strip() else None
    if not isinstance(body, dict):
        return None
    for name in ("message", "error", "detail", "error_message", "msg", "reason", "description"):
        value = body.get(name)
        if isinstance(value, str) and value.strip():
            return snippet(value.strip())
        if isinstance(value, dict):
            nested = api_message(value)
            if nested:
                return nested
        if isinstance(value, list) and value:
            # FastAPI/pydantic style: [{"loc": [...], "msg": "..."}]
            parts = [_list_entry(entry) for entry in value[:3]]
            return snippet("; ".join(part for part in parts if part)) or None
    return None


def _list_entry(entry: object) -> str:
    if isinstance(entry, dict):
        message = entry.get("msg") or entry.get("message") or ""
        location = entry.get("loc")
        if isinstance(location, list) and location:
            return f"{'.'.join(str(part) for part in location)}: {message}"
        return str(message)
    return str(entry)


def is_content_policy(body: object) -> bool:
    if not isinstance(body, dict):
        return False
    texts: list[str] = []
    for name in ("reason", "message", "code", "type", "error", "detail"):
        value = body.get(name)
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict) and is_content_policy(value):
            return True
    return any(_CONTENT_POLICY.search(text) for text in texts)


def json_or_text(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return text


def scrub_exception(exc: APIError, secrets: Secrets) -> None:
    """Last line of defence: whatever path built this error, no secret leaves in it, in any encoding."""
    if exc.__suppress_context__:
        # Raised `from None` in an httpx handler: the hidden context still holds the request and its headers.
        exc.__context__ = None
    exc.message = scrub(exc.message, *secrets)
    exc.args = tuple(scrub(arg, *secrets) if isinstance(arg, str) else arg for arg in exc.args)
    if exc.body is not None:
        exc.body = scrub_value(exc.body, *secrets)


def snippet(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def summary(body: object) -> object:
    """An error body for an exception, without megabytes of Base64."""
    if isinstance(body, dict):
        return {name: value if len(repr(value)) < 300 else "…" for name, value in body.items()}
    return snippet(repr(body))


def seconds(value: float) -> str:
    """3 -> "3 s", 0.25 -> "0.25 s", 12.4 -> "13 s": exact when small, rounded up (never too short) when not."""
    return f"{math.ceil(value)} s" if value >= 10 or value == int(value) else f"{value:.3g} s"
