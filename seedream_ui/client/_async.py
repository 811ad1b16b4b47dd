"""SeedreamClient: the pooled async client. POST with narrow retries, then the result images."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Self

import httpx

from seedream_ui.client import _errors as errors
from seedream_ui.client._responses import (
    GeneratedImage,
    GenerationResult,
    checked_image,
    decode_inline,
    describe,
    image_source,
    maybe_offload,
)
from seedream_ui.client._retry import RETRY_STATUSES, backoff, parse_retry_after
from seedream_ui.client._scrub import public_host, public_url, scrub, url_secrets
from seedream_ui.config import DEFAULT_API_URL, Settings
from seedream_ui.errors import (
    APIError,
    AuthenticationError,
    ContentPolicyError,
    InvalidResponseError,
)
from seedream_ui.request import GenerateRequest

logger = logging.getLogger("seedream_ui.client")

_NO_KEY_MESSAGE = (
    "No API key: set SEEDREAM_API_KEY in the environment or in .env, or paste your key in the key box."
)
_BAD_KEY_MESSAGE = (
    "The API key contains spaces, line breaks or non-ASCII characters and cannot be sent; paste it again."
)
_VISIBLE_ASCII = re.compile(r"^[\x21-\x7e]+$")


def settings_options(settings: Settings) -> dict[str, Any]:
    return {
        "api_key": settings.api_key,
        "api_url": settings.api_url,
        "connect_timeout": settings.connect_timeout,
        "read_timeout": settings.read_timeout,
        "max_retries": settings.max_retries,
    }


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
        # What messages and log lines name: never user:password@ or the query string (it may hold a key).
        self._host = public_host(api_url)
        self._public_url = public_url(api_url)
        self._endpoint = self._public_url.partition("://")[2]
        self._url_secrets = url_secrets(api_url)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> SeedreamClient:
        return cls(**{**settings_options(settings), **overrides})

    @property
    def has_api_key(self) -> bool:
        return self._api_key is not None

    def __repr__(self) -> str:
        key = "<set>" if self._api_key else None
        return (
            f"{type(self).__name__}(api_url={public_url(self.api_url)!r}, api_key={key}, "
            f"max_retries={self.max_retries})"
        )

    async def __aenter__(self) -> Self:
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
        secrets = (key, *self._url_secrets)
        started = time.perf_counter()
        try:
            response = await self._post(request.to_payload(), key, headers or {})
            images, failures = await self._read_images(response, secrets)
        except APIError as exc:
            errors.scrub_exception(exc, secrets)
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
        body = await maybe_offload(sum(map(len, payload.get("image", ()))), _encode_json, payload)
        attempts = self.max_retries + 1
        for attempt in range(1, attempts + 1):
            started = time.perf_counter()
            sent = _SendTrace()
            try:
                response = await http.post(
                    self.api_url, content=body, headers=headers, extensions={"trace": sent}
                )
            except httpx.RequestError as exc:
                # Retry only what provably never reached the API whole: no connection, or a connection the
                # server closed while our request was still being written (a pooled keep-alive connection
                # closing as we reuse it). Nothing complete arrived, so nothing was generated or billed.
                unsent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)) or sent.write_failed
                logger.warning(
                    "POST %s: %s%s (attempt %d/%d, %.2f s)",
                    self._endpoint, type(exc).__name__, " before the request was sent in full" if sent.write_failed
                    else "", attempt, attempts, time.perf_counter() - started,
                )
                if unsent and attempt < attempts:
                    await self._sleep(self._backoff(attempt))
                    continue
                raise self._transport_error(exc, attempt, unsent=sent.write_failed) from None
            status = response.status_code
            logger.info(
                "POST %s -> %d (attempt %d/%d, %.2f s)",
                self._endpoint, status, attempt, attempts, time.perf_counter() - started,
            )
            if 200 <= status < 300:
                return response
            if status not in RETRY_STATUSES or attempt == attempts:
                raise self._status_error(response, attempt, key)
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            if retry_after is not None and retry_after > self.max_retry_after:
                raise self._status_error(response, attempt, key)
            delay = max(self._backoff(attempt), retry_after or 0.0)
            logger.warning("POST %s -> %d; retrying in %.2f s", self._endpoint, status, delay)
            await self._sleep(delay)
        raise AssertionError("unreachable")  # the loop always returns or raises

    def _backoff(self, attempt: int) -> float:
        return backoff(attempt, self.backoff_base, self.backoff_max)

    def _status_error(self, response: httpx.Response, attempts: int, key: str) -> APIError:
        # Scrubbed before the message is cut to a snippet: half a key would no longer be recognised.
        return errors.status_error(response, (key, *self._url_secrets), attempts, api_url=self._public_url)

    def _transport_error(self, exc: httpx.RequestError, attempts: int, *, unsent: bool = False) -> APIError:
        return errors.transport_error(
            exc, self._url_secrets, attempts, host=self._host, connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout, unsent=unsent,
        )

    # ------------------------------------------------------------------------------------------ images

    async def _read_images(
        self, response: httpx.Response, secrets: errors.Secrets
    ) -> tuple[tuple[GeneratedImage, ...], tuple[str, ...]]:
        content = response.content
        try:
            body = await maybe_offload(len(content), json.loads, content)
        except (ValueError, UnicodeDecodeError):
            snippet = errors.snippet(scrub(response.text, *secrets))
            raise InvalidResponseError(
                f"Seedream's answer was not JSON (HTTP {response.status_code}: {snippet}).",
                status_code=response.status_code, body=snippet,
            ) from None
        items = body.get("images") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            # Some gateways answer 200 with an error object instead of images.
            message = errors.api_message(body)
            said = f": {message}" if message else "."
            if errors.is_content_policy(body):
                raise ContentPolicyError(
                    f"Seedream declined the request under its content policy{said}",
                    status_code=response.status_code, body=errors.summary(body),
                )
            raise InvalidResponseError(
                f"Seedream returned no images{said}", status_code=response.status_code, body=errors.summary(body)
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
        url, inline = image_source(item)
        if inline is not None:
            try:
                return await maybe_offload(len(inline), decode_inline, inline, url)
            except InvalidResponseError as exc:
                return f"{label}: {exc.message}"
        if url is not None:
            return await self._fetch(url, label)
        return f"{label}: holds no URL or Base64 ({describe(item)})."

    async def _fetch(self, url: str, label: str) -> GeneratedImage | str:
        """Download a result URL. A free GET, so unlike the paid POST it may retry on any transient failure."""
        http = self._client()
        host = public_host(url)
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
                        return await maybe_offload(len(response.content), checked_image, response.content, url)
                    except InvalidResponseError as exc:
                        return f"{label}: {exc.message}"
                problem = f"the result URL answered {response.status_code}"
                if response.status_code not in RETRY_STATUSES and response.status_code < 500:
                    break
            if attempt < attempts:
                await self._sleep(self._backoff(attempt))
        return f"{label}: {problem}."


class _SendTrace:
    """httpcore's trace hook for one attempt: notes whether writing the request failed part-way.

    httpcore drops a pooled connection the server already closed (its socket reads as readable) before
    reusing it; what is left is the race where the server closes it while the request is being written.
    httpcore then swallows the write error and reports the read that follows (RemoteProtocolError "Server
    disconnected without sending a response", or ReadError), the same as for a server that read the whole
    request and died. Only this hook tells the two apart.
    """

    def __init__(self) -> None:
        self.write_failed = False

    async def __call__(self, event: str, info: Mapping[str, Any]) -> None:
        if event in ("http11.send_request_headers.failed", "http11.send_request_body.failed"):
            self.write_failed = True


def _encode_json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()
