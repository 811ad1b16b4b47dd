"""The Seedream 4.5 API client: one pooled httpx.AsyncClient, typed results, one error hierarchy.

    async with SeedreamClient(api_key="...") as client:
        result = await client.generate(GenerateRequest(prompt="a lighthouse at dusk", size="2K"))
        result.images[0].data  # bytes, already checked to decode as an image

`SyncSeedreamClient` offers the same for scripts. Retries are deliberately narrow: a generation is paid
for, so a request is only sent again when the API certainly did not do the work (429, 502/503/504, or
no connection at all). The API key never appears in an exception, a log line or a repr.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import email.utils
import io
import json
import logging
import math
import random
import re
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from PIL import Image, UnidentifiedImageError

from seedream_ui.config import DEFAULT_API_URL, Settings
from seedream_ui.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ContentPolicyError,
    InvalidResponseError,
    RateLimitError,
    ServerError,
)
from seedream_ui.formats import is_http_url, split_data_uri
from seedream_ui.request import GenerateRequest

__all__ = [
    "DEFAULT_API_URL",
    "RETRY_STATUSES",
    "GeneratedImage",
    "GenerationResult",
    "SeedreamClient",
    "SyncSeedreamClient",
    "parse_retry_after",
]

logger = logging.getLogger("seedream_ui.client")

# Statuses that mean "the generation did not happen; asking again is safe and may work".
RETRY_STATUSES: frozenset[int] = frozenset({429, 502, 503, 504})
# Work on inline images bigger than this goes to a worker thread so the event loop (the UI) stays responsive.
_OFFLOAD_BYTES = 4 * 1024 * 1024
_NO_KEY_MESSAGE = (
    "No API key: set SEEDREAM_API_KEY in the environment or in .env, or paste your key in the key box."
)
_BAD_KEY_MESSAGE = (
    "The API key contains spaces, line breaks or non-ASCII characters and cannot be sent; paste it again."
)
_VISIBLE_ASCII = re.compile(r"^[\x21-\x7e]+$")
_CONTENT_POLICY = re.compile(r"sensitive|content[ _-]?policy|safety|moderation", re.IGNORECASE)
_FORMAT_ALIASES = {"mpo": "jpeg"}  # multi-picture JPEG is a JPEG to everyone who opens it
_EXTENSIONS = {"jpeg": "jpg"}

T = TypeVar("T")


# ----------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class GeneratedImage:
    """One generated image, checked to decode. `url` is set when the API answered with a URL."""

    data: bytes = field(repr=False)
    format: str  # lower-case Pillow format name: "jpeg", "png", "webp", ...
    width: int
    height: int
    url: str | None = None

    @property
    def mime_type(self) -> str:
        return Image.MIME.get(self.format.upper(), f"image/{self.format}")

    @property
    def extension(self) -> str:
        return _EXTENSIONS.get(self.format, self.format)


@dataclass(frozen=True)
class GenerationResult:
    """What one `generate()` call produced.

    `failures` holds a short message per returned image that could not be used (e.g. a result URL that
    answered 404) when others could; `warnings` are notes about the request that did not stop it.
    """

    images: tuple[GeneratedImage, ...]
    elapsed: float
    request: GenerateRequest
    failures: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


# ------------------------------------------------------------------------------------------------ client


class SeedreamClient:
    """Async client for the Seedream 4.5 endpoint. Share one instance: it pools connections.

    `api_key` may be left out and passed per call instead (the web UI has one client, many visitors).
    `http_client` lets tests inject an `httpx.AsyncClient(transport=httpx.MockTransport(...))`; an injected
    client is not closed by `aclose()`.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        api_url: str = DEFAULT_API_URL,
        connect_timeout: float = 10.0,
        read_timeout: float = 300.0,
        max_retries: int = 2,
        backoff_base: float = 0.5,
        backoff_max: float = 20.0,
        max_retry_after: float = 60.0,
        max_connections: int = 100,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        self._api_key = (api_key or "").strip() or None
        self.api_url = api_url
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self.max_connections = max_connections
        self._http = http_client
        self._owns_http = http_client is None
        self._http_loop: asyncio.AbstractEventLoop | None = None
        # Indirection so tests can observe back-off delays without waiting them out.
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        parts = urlsplit(api_url)
        self._host = parts.netloc or api_url
        self._endpoint = f"{parts.netloc}{parts.path}"  # what log lines name: never the query string

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> SeedreamClient:
        return cls(**{**_settings_options(settings), **overrides})

    @property
    def has_api_key(self) -> bool:
        return self._api_key is not None

    def __repr__(self) -> str:
        key = "<set>" if self._api_key else None
        return f"{type(self).__name__}(api_url={self.api_url!r}, api_key={key}, max_retries={self.max_retries})"

    async def __aenter__(self) -> SeedreamClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if not self._owns_http or self._http is None:
            return
        http, loop, self._http, self._http_loop = self._http, self._http_loop, None, None
        if loop is asyncio.get_running_loop():
            await http.aclose()
        elif loop is not None and loop.is_running():
            # The pool's sockets belong to the loop that opened them: close them there.
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(http.aclose(), loop))
        else:
            # That loop has ended and taken its sockets' transports with it; nothing left to close.
            logger.debug("Connection pool's event loop has ended; dropping the pool")

    # --------------------------------------------------------------------------------------- generate

    async def generate(
        self,
        request: GenerateRequest,
        *,
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> GenerationResult:
        """Send one generation request and return its checked images.

        Raises ValidationError before sending anything if the request breaks a rule, AuthenticationError
        if there is no usable key, and an APIError subclass for everything the API or the network did.
        """
        request = request.validated()
        warnings = tuple(request.warnings())
        key = self._key_for(api_key)
        started = time.perf_counter()
        try:
            response = await self._post(request.to_payload(), key, headers or {})
            images, failures = await self._read_images(response, key)
        except APIError as exc:
            _scrub_exception(exc, key)
            raise
        elapsed = time.perf_counter() - started
        logger.info(
            "Generated %d image(s) at %s in %.2f s (%d failed)", len(images), request.size, elapsed, len(failures)
        )
        return GenerationResult(images, elapsed, request, failures, warnings)

    def _key_for(self, override: str | None) -> str:
        key = (override or "").strip() or self._api_key
        if not key:
            raise AuthenticationError(_NO_KEY_MESSAGE)
        if not _VISIBLE_ASCII.match(key):
            # httpx would refuse the header with an error that quotes it, key included.
            raise AuthenticationError(_BAD_KEY_MESSAGE)
        return key

    def _client(self) -> httpx.AsyncClient:
        """The pooled client, created in (and tied to) the running event loop."""
        loop = asyncio.get_running_loop()
        if self._http is not None and (not self._owns_http or self._http_loop is loop):
            return self._http
        if self._http is not None:
            # Connections belong to the loop that opened them; a client reused from another loop would hang.
            logger.debug("Event loop changed; opening a new connection pool")
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(
                connect=self.connect_timeout,
                read=self.read_timeout,
                write=max(self.connect_timeout, 30.0),
                # Waiting for a free connection is better than failing a burst of generations.
                pool=self.read_timeout,
            ),
            limits=httpx.Limits(max_connections=self.max_connections, max_keepalive_connections=20),
        )
        self._http_loop = loop
        return self._http

    async def _post(self, payload: dict[str, Any], key: str, extra_headers: Mapping[str, str]) -> httpx.Response:
        """POST with retries; returns a 2xx response or raises the mapped APIError."""
        http = self._client()
        headers = {"Content-Type": "application/json", "Accept": "application/json", **extra_headers}
        headers["Authorization"] = f"Bearer {key}"
        body = await _maybe_offload(sum(map(len, payload.get("image", ()))), _encode_json, payload)
        attempts = self.max_retries + 1
        for attempt in range(1, attempts + 1):
            started = time.perf_counter()
            try:
                response = await http.post(self.api_url, content=body, headers=headers)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                # Nothing reached the server, so nothing was generated or billed: safe to try again.
                logger.warning(
                    "POST %s: %s (attempt %d/%d, %.2f s)",
                    self._endpoint, type(exc).__name__, attempt, attempts, time.perf_counter() - started,
                )
                if attempt < attempts:
                    await self._sleep(self._backoff(attempt))
                    continue
                raise self._transport_error(exc, key, attempts) from None
            except httpx.RequestError as exc:
                logger.warning(
                    "POST %s: %s (attempt %d/%d, %.2f s)",
                    self._endpoint, type(exc).__name__, attempt, attempts, time.perf_counter() - started,
                )
                raise self._transport_error(exc, key, attempt) from None
            status = response.status_code
            logger.info(
                "POST %s -> %d (attempt %d/%d, %.2f s)",
                self._endpoint, status, attempt, attempts, time.perf_counter() - started,
            )
            if 200 <= status < 300:
                return response
            if status not in RETRY_STATUSES or attempt == attempts:
                raise self._status_error(response, key, attempt)
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            if retry_after is not None and retry_after > self.max_retry_after:
                raise self._status_error(response, key, attempt)
            delay = max(self._backoff(attempt), retry_after or 0.0)
            logger.warning("POST %s -> %d; retrying in %.2f s", self._endpoint, status, delay)
            await self._sleep(delay)
        raise AssertionError("unreachable")  # the loop always returns or raises

    def _backoff(self, attempt: int) -> float:
        """Full-jitter exponential back-off: spreads out clients that failed at the same moment."""
        return random.uniform(0.0, min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1)))

    # ------------------------------------------------------------------------------------------ errors

    def _transport_error(self, exc: httpx.RequestError, key: str, attempts: int) -> APIError:
        reason = _scrub(str(exc), key).strip()
        detail = f" ({reason})" if reason else ""
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        if isinstance(exc, httpx.ConnectTimeout):
            return APITimeoutError(
                f"Could not connect to Seedream at {self._host} within {_seconds(self.connect_timeout)}{tries}."
            )
        if isinstance(exc, httpx.UnsupportedProtocol):
            return APIConnectionError(f"Cannot call {self._host}: the API URL must start with http:// or https://.")
        if isinstance(exc, httpx.ConnectError):
            return APIConnectionError(f"Could not connect to Seedream at {self._host}{tries}{detail}.")
        if isinstance(exc, httpx.PoolTimeout):
            return APITimeoutError("Too many generations at once: no connection became free in time. Try again.")
        if isinstance(exc, httpx.TimeoutException):
            return APITimeoutError(f"Seedream did not answer within {_seconds(self.read_timeout)}.")
        if isinstance(exc, httpx.DecodingError):
            return InvalidResponseError(f"Seedream's answer could not be decompressed{detail}.")
        # Read errors, dropped connections, protocol errors: the request went out, so the work may be done.
        return APIConnectionError(
            "The connection to Seedream broke before its answer was complete"
            f"{detail}. Not retried automatically: the image may already have been generated and billed."
        )

    def _status_error(self, response: httpx.Response, key: str, attempts: int) -> APIError:
        status = response.status_code
        text = _scrub(response.text, key)
        body = _json_or_text(text)
        message = _api_message(body)
        said = f": {message}" if message else "."
        if status in (400, 403, 422) and _is_content_policy(body):
            return ContentPolicyError(
                f"Seedream declined the request under its content policy{said}", status_code=status, body=body
            )
        if status == 401:
            return AuthenticationError(
                "The API key was rejected (401). Check SEEDREAM_API_KEY or the key box.",
                status_code=status, body=body,
            )
        if status == 403:
            detail = f" {_sentence(message)}" if message else ""
            return AuthenticationError(
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
                text = f"Rate limited by Seedream; retry after {_seconds(retry_after)}."
            else:
                tries = f" after {attempts} attempts" if attempts > 1 else ""
                text = f"Rate limited by Seedream{tries}; wait a moment and try again."
            return RateLimitError(text, status_code=status, body=body, retry_after=retry_after)
        if status >= 500:
            tries = f" and did not recover after {attempts} attempts" if attempts > 1 else ""
            tail = f" It said: {_sentence(message)}" if message else ""
            return ServerError(
                f"Seedream had a server error ({status}){tries}.{tail}", status_code=status, body=body
            )
        if status == 404:
            return APIError(
                f"Nothing answers at {self.api_url} (404). Check SEEDREAM_API_URL.", status_code=status, body=body
            )
        if 400 <= status < 500:
            return BadRequestError(f"Seedream rejected the request ({status}){said}", status_code=status, body=body)
        return APIError(f"Seedream answered with an unexpected status ({status}){said}", status_code=status, body=body)

    # ------------------------------------------------------------------------------------------ images

    async def _read_images(
        self, response: httpx.Response, key: str
    ) -> tuple[tuple[GeneratedImage, ...], tuple[str, ...]]:
        content = response.content
        try:
            body = await _maybe_offload(len(content), json.loads, content)
        except (ValueError, UnicodeDecodeError):
            snippet = _snippet(_scrub(response.text, key))
            raise InvalidResponseError(
                f"Seedream's answer was not JSON (HTTP {response.status_code}: {snippet}).",
                status_code=response.status_code, body=snippet,
            ) from None
        items = body.get("images") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            # Some gateways answer 200 with an error object instead of images.
            message = _api_message(body)
            said = f": {message}" if message else "."
            if _is_content_policy(body):
                raise ContentPolicyError(
                    f"Seedream declined the request under its content policy{said}",
                    status_code=response.status_code, body=_summary(body),
                )
            raise InvalidResponseError(
                f"Seedream returned no images{said}", status_code=response.status_code, body=_summary(body)
            )

        outcomes = await asyncio.gather(
            *(self._image(item, index, len(items)) for index, item in enumerate(items, start=1))
        )
        images = tuple(outcome for outcome in outcomes if isinstance(outcome, GeneratedImage))
        failures = tuple(outcome for outcome in outcomes if isinstance(outcome, str))
        if not images:
            listed = " ".join(failures[:3]) + (f" (and {len(failures) - 3} more)" if len(failures) > 3 else "")
            raise InvalidResponseError(
                f"Seedream returned {len(items)} image(s) but none could be used: {listed}",
                status_code=response.status_code,
            )
        if failures:
            logger.warning("%d of %d result image(s) could not be used", len(failures), len(items))
        return images, failures

    async def _image(self, item: object, index: int, count: int) -> GeneratedImage | str:
        """The image behind one element of `images`, or a short message saying why there is none."""
        label = f"Image {index} of {count}" if count > 1 else "The image"
        url, inline = _image_source(item)
        if inline is not None:
            try:
                return await _maybe_offload(len(inline), _decode_inline, inline, url)
            except InvalidResponseError as exc:
                return f"{label}: {exc.message}"
        if url is not None:
            return await self._fetch(url, label)
        return f"{label}: holds no URL or Base64 ({_describe(item)})."

    async def _fetch(self, url: str, label: str) -> GeneratedImage | str:
        """Download a result URL. A free GET, so unlike the paid POST it may retry on any transient failure."""
        http = self._client()
        host = urlsplit(url).netloc
        attempts = self.max_retries + 1
        problem = "could not be downloaded"
        for attempt in range(1, attempts + 1):
            # Result URLs live on other hosts (a CDN): they must never see the API key.
            try:
                request = http.build_request("GET", url, headers={"Accept": "image/*"})
            except httpx.InvalidURL:
                return f"{label}: the result URL is not a valid URL."
            request.headers.pop("Authorization", None)
            try:
                response = await http.send(request, follow_redirects=True)
            except httpx.TimeoutException:
                return f"{label}: the result URL on {host} did not answer in time."
            except httpx.RequestError as exc:
                problem = f"the result URL on {host} could not be reached ({type(exc).__name__})"
            else:
                logger.debug("GET result on %s -> %d (attempt %d/%d)", host, response.status_code, attempt, attempts)
                if response.status_code == 200:
                    try:
                        return await _maybe_offload(len(response.content), _checked_image, response.content, url)
                    except InvalidResponseError as exc:
                        return f"{label}: {exc.message}"
                problem = f"the result URL answered {response.status_code}"
                if response.status_code not in RETRY_STATUSES and response.status_code < 500:
                    break
            if attempt < attempts:
                await self._sleep(self._backoff(attempt))
        return f"{label}: {problem}."


# --------------------------------------------------------------------------------------------- sync client


class SyncSeedreamClient:
    """Blocking wrapper for scripts: `SyncSeedreamClient(api_key=...).generate(request)`.

    Calls run on a private event loop in a background thread, so the connection pool survives between
    calls and several threads may generate at once.
    """

    def __init__(self, **options: Any) -> None:
        self._async = SeedreamClient(**options)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> SyncSeedreamClient:
        return cls(**{**_settings_options(settings), **overrides})

    @property
    def async_client(self) -> SeedreamClient:
        return self._async

    def __repr__(self) -> str:
        return repr(self._async).replace("SeedreamClient(", f"{type(self).__name__}(", 1)

    def __enter__(self) -> SyncSeedreamClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def generate(
        self,
        request: GenerateRequest,
        *,
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> GenerationResult:
        return self._run(self._async.generate(request, api_key=api_key, headers=headers))

    def close(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._async.aclose(), loop).result()
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self._ensure_loop())
        try:
            return future.result()
        except BaseException:
            future.cancel()  # e.g. Ctrl-C in a script: stop the request instead of leaving it running
            raise

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="seedream-client", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop


# ------------------------------------------------------------------------------------------ pure helpers


def _settings_options(settings: Settings) -> dict[str, Any]:
    return {
        "api_key": settings.api_key,
        "api_url": settings.api_url,
        "connect_timeout": settings.connect_timeout,
        "read_timeout": settings.read_timeout,
        "max_retries": settings.max_retries,
    }


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date. None if absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def _image_source(item: object) -> tuple[str | None, str | None]:
    """(URL, inline Base64 or data URI) found in one element of `images`; either may be None."""
    if isinstance(item, str):
        text = item.strip()
        return (text, None) if is_http_url(text) else (None, text)
    if not isinstance(item, dict):
        return None, None
    url: str | None = None
    inline: str | None = None
    # OpenAI-style keys first, then common spellings; values are classified by content, not by key.
    for name in ("url", "image_url", "b64_json", "base64", "b64", "image_base64", "data", "image", "content"):
        value = item.get(name)
        if isinstance(value, dict):
            nested_url, nested_inline = _image_source(value)
            url, inline = url or nested_url, inline or nested_inline
        elif isinstance(value, str) and value.strip():
            found_url, found_inline = _image_source(value)
            url, inline = url or found_url, inline or found_inline
    return url, inline


def _decode_inline(text: str, url: str | None = None) -> GeneratedImage:
    parts = split_data_uri(text)
    payload = parts[1] if parts else text
    payload = "".join(payload.split())  # line-wrapped Base64 is common
    if "-" in payload or "_" in payload:
        payload = payload.replace("-", "+").replace("_", "/")  # URL-safe alphabet
    payload += "=" * (-len(payload) % 4)
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidResponseError("neither a URL nor valid Base64.") from None
    return _checked_image(data, url)


def _checked_image(data: bytes, url: str | None = None) -> GeneratedImage:
    """Read the header and check the structure without decoding pixels (cheap even at 4K)."""
    if not data:
        raise InvalidResponseError("empty.")
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = (image.format or "").lower()
            width, height = image.size
            image.verify()
    except UnidentifiedImageError:
        raise InvalidResponseError("not an image (it does not decode).") from None
    except Exception as exc:  # Pillow raises many types for corrupt files
        raise InvalidResponseError(f"a corrupt image ({type(exc).__name__}).") from None
    fmt = _FORMAT_ALIASES.get(fmt, fmt)
    return GeneratedImage(data=data, format=fmt, width=width, height=height, url=url)


async def _maybe_offload(size: int, func: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(func, *args) if size > _OFFLOAD_BYTES else func(*args)


def _api_message(body: object) -> str | None:
    """The human message in an error body: {"message"}, {"error": {...}}, {"error": "..."}, {"detail"}, {"reason"}."""
    if isinstance(body, str):
        return _snippet(body) if body.strip() else None
    if not isinstance(body, dict):
        return None
    for name in ("message", "error", "detail", "error_message", "msg", "reason", "description"):
        value = body.get(name)
        if isinstance(value, str) and value.strip():
            return _snippet(value.strip())
        if isinstance(value, dict):
            nested = _api_message(value)
            if nested:
                return nested
        if isinstance(value, list) and value:
            # FastAPI/pydantic style: [{"loc": [...], "msg": "..."}]
            parts = [_list_entry(entry) for entry in value[:3]]
            return _snippet("; ".join(part for part in parts if part)) or None
    return None


def _list_entry(entry: object) -> str:
    if isinstance(entry, dict):
        message = entry.get("msg") or entry.get("message") or ""
        location = entry.get("loc")
        if isinstance(location, list) and location:
            return f"{'.'.join(str(part) for part in location)}: {message}"
        return str(message)
    return str(entry)


def _is_content_policy(body: object) -> bool:
    if not isinstance(body, dict):
        return False
    texts: list[str] = []
    for name in ("reason", "message", "code", "type", "error", "detail"):
        value = body.get(name)
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict) and _is_content_policy(value):
            return True
    return any(_CONTENT_POLICY.search(text) for text in texts)


def _encode_json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def _json_or_text(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _scrub(text: str, key: str | None) -> str:
    """Remove the key from text the API sent back (some gateways echo the request headers)."""
    return text.replace(key, "***") if key and key in text else text


def _scrub_exception(exc: APIError, key: str) -> None:
    """Last line of defence: whatever path built this error, the key does not leave in it."""
    if exc.__suppress_context__:
        # Raised `from None` in an httpx handler: the hidden context still holds the request and its headers.
        exc.__context__ = None
    if key in exc.message or key in str(exc.args):
        exc.message = _scrub(exc.message, key)
        exc.args = tuple(_scrub(str(arg), key) for arg in exc.args)
    if exc.body is not None and key in repr(exc.body):
        exc.body = _scrub(repr(exc.body), key)


def _snippet(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def _summary(body: object) -> object:
    """An error body for an exception, without megabytes of Base64."""
    if isinstance(body, dict):
        return {name: value if len(repr(value)) < 300 else "…" for name, value in body.items()}
    return _snippet(repr(body))


def _describe(item: object) -> str:
    if isinstance(item, dict):
        return "an object with keys " + ", ".join(sorted(map(str, item))[:6]) if item else "an empty object"
    return f"a {type(item).__name__}"


def _seconds(value: float) -> str:
    """3 -> "3 s", 0.25 -> "0.25 s", 12.4 -> "13 s": exact when small, rounded up (never too short) when not."""
    return f"{math.ceil(value)} s" if value >= 10 or value == int(value) else f"{value:.3g} s"
