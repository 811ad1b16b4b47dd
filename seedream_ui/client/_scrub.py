"""Secrets never leave: URLs shown or logged without credentials or query, and the key scrubbed from echoes.

Some gateways echo the request (headers, URL) in their error bodies, and not always verbatim: URL-encoded
(`Bearer%20<key>`), JSON-escaped, HTML-escaped or Base64 (a Basic `user:key` header, a dumped request).
`Scrubber` finds the secret in each of those forms.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import re
from functools import lru_cache
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

MASK = "***"
# Shorter fragments (a query value like "1", a tiny Base64 core) would mask ordinary text.
_MIN_SECRET = 6
_MIN_BASE64_CORE = 8


def public_host(url: str) -> str:
    """host[:port] of a URL, without user:password@ (what messages name)."""
    parts = urlsplit(url)
    return parts.netloc.rpartition("@")[2] or url.partition("?")[0].rpartition("@")[2]


def public_url(url: str) -> str:
    """A URL without credentials, query string or fragment: safe to show a visitor or write to a log."""
    parts = urlsplit(url)
    if not parts.netloc:
        return url.partition("?")[0].partition("#")[0].rpartition("@")[2]
    return f"{parts.scheme}://{public_host(url)}{parts.path}"


def url_secrets(url: str) -> tuple[str, ...]:
    """The secret parts of a URL (password, user, query values) that an echo could carry."""
    parts = urlsplit(url)
    found = [parts.password or "", parts.username or ""]
    found += [value for _, value in parse_qsl(parts.query, keep_blank_values=False)]
    return tuple(value for value in found if len(value) >= _MIN_SECRET)


def _base64_cores(data: bytes) -> list[str]:
    """The part of the Base64 of `data` that is the same wherever `data` sits in a longer encoded text.

    Base64 turns 3 bytes into 4 characters, so text containing `data` encodes it in one of 3 alignments;
    for each, the characters made only of `data`'s own bits appear in any encoding of any text around it
    (a `Bearer <key>` header, `user:key` of Basic auth, a whole dumped request).
    """
    cores = []
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + data).decode()
        start = -(-offset * 8 // 6)  # first character not touched by the padding bytes
        end = (offset + len(data)) * 8 // 6  # last character made only of data bits
        core = encoded[start:end]
        if len(core) >= _MIN_BASE64_CORE:
            cores += [core, core.replace("+", "-").replace("/", "_")]
    return cores


def _forms(secret: str) -> set[str]:
    """Every spelling of `secret` an echo could use."""
    json_escaped = json.dumps(secret)[1:-1]
    forms = {
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        "".join(f"%{byte:02X}" for byte in secret.encode()),  # every character percent-encoded
        json_escaped,
        json_escaped.replace("/", "\\/"),
        json.dumps(json_escaped)[1:-1],  # JSON inside a JSON string
        html.escape(secret),
    }
    forms.update(_base64_cores(secret.encode()))
    return {form for form in forms if form}


@lru_cache(maxsize=256)
def _pattern(secrets: tuple[str, ...]) -> re.Pattern[str] | None:
    forms = set().union(*(_forms(secret) for secret in secrets if secret))
    if not forms:
        return None
    # Longest first, so a whole encoded form is masked rather than the plain key inside it; hex digits of
    # percent-encoding may be either case, and masking a little too much is harmless.
    alternatives = sorted(forms, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, alternatives)), re.IGNORECASE)


def scrub(text: str, *secrets: str | None) -> str:
    """`text` with each secret masked in every form an echo could use."""
    pattern = _pattern(tuple(sorted({secret for secret in secrets if secret})))
    return pattern.sub(MASK, text) if pattern is not None and text else text


def scrub_value(value: object, *secrets: str | None) -> object:
    """`value` with the secrets masked in every string in it, keeping its type (a dict stays a dict)."""
    if isinstance(value, str):
        return scrub(value, *secrets)
    if isinstance(value, dict):
        return {scrub_value(name, *secrets): scrub_value(item, *secrets) for name, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(scrub_value(item, *secrets) for item in value)
    return value


class PublicURLs(logging.Filter):
    """Rewrites URLs in httpx's own log lines ("HTTP Request: POST <url> ...") to their public form.

    httpx logs every request's full URL at INFO: the API URL's user:password@ and ?api_key=, and the
    signature in a result URL's query, would otherwise reach the log.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                public_url(str(arg)) if _looks_like_url(arg) else arg for arg in record.args
            )
        return True


def _looks_like_url(value: object) -> bool:
    text = str(value) if type(value).__name__ == "URL" or isinstance(value, str) else ""
    return text.startswith(("http://", "https://")) and ("@" in text or "?" in text or "#" in text)


def install_log_filter() -> None:
    """Once per process: httpx's logger gets the PublicURLs filter."""
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(existing, PublicURLs) for existing in httpx_logger.filters):
        httpx_logger.addFilter(PublicURLs())
