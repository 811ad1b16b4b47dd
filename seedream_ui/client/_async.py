"""SeedreamClient: the pooled async client. POST with narrow retries, then the result images."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Self

import httpx

from seedream_ui.client import _errors as errors
from seedream_ui.client._limits import DEFAULT_LIMITS, ResultLimits
from seedream_ui.client._responses import GenerationResult, maybe_offload
from seedream_ui.client._results import ResultReader
from seedream_ui.client._retry import RETRY_STATUSES, backoff, parse_retry_after
from seedream_ui.client._scrub import public_host, public_url, scrub, url_secrets
from seedream_ui.client._wire import Answer, SendTrace, TooLarge, read_capped
from seedream_ui.config import DEFAULT_API_URL, Settings
from seedream_ui.errors import (
    APIError,
    APITimeoutError,
    AuthenticationError,
    InvalidResponseError,
)
from seedream_ui.request import GenerateRequest

logger = logging.getLogger("seedream_ui.client")

NO_KEY_MESSAGE = (
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
        "generation_timeout": settings.generation_timeout,
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
        generation_timeout: float = Settings.generation_timeout,
        limits: ResultLimits = DEFAULT_LIMITS,
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
        self.generation_timeout = generation_timeout
        self.limits = limits
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
        progress: list[str] = []  # what was reached, for the deadline's message
        unexpected: APIError | None = None
        try:
            async with asyncio.timeout(self.generation_timeout):
                answer = await self._post(request.to_payload(), key, headers or {}, progress)
                progress.append("answered")
                found = await self._reader().read(answer, secrets, request.expected_images())
        except TimeoutError:
            raise self._deadline_error(progress) from None
        except APIError as exc:
            errors.scrub_exception(exc, secrets)
            raise
        except Exception as exc:  # a bug or an unforeseen library error: no raw text to visitors
            unexpected = self._unexpected(exc, secrets)
        if unexpected is not None:
            raise unexpected  # outside the handler, so the raw exception is not chained to it
        elapsed = time.perf_counter() - started
        logger.info(
            "Generated %d image(s) at %s in %.2f s (%d failed)",
            len(found.images), request.size, elapsed, len(found.failures),
        )
        return GenerationResult(found.images, elapsed, request, found.failures, warnings + found.notes)

    def _deadline_error(self, progress: list[str]) -> APITimeoutError:
        limit = errors.seconds(self.generation_timeout)
        if "answered" in progress:
            return APITimeoutError(
                f"Downloading the results took longer than {limit}, the limit for one generation; stopped."
            )
        billed = " Seedream may still have made (and billed) the image." if "sent" in progress else ""
        return APITimeoutError(f"Seedream did not finish within {limit}, the limit for one generation; stopped.{billed}")

    def _unexpected(self, exc: Exception, secrets: errors.Secrets) -> APIError:
        """Logged for the operator (scrubbed, with where it happened); the visitor reads a sentence."""
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
        logger.error(
            "Unexpected %s calling %s%s: %s", type(exc).__name__, self._endpoint, where, scrub(str(exc), *secrets)
        )
        return APIError("Calling Seedream failed in an unexpected way; the details are in the server log. Try again.")

    def _reader(self) -> ResultReader:
        return ResultReader(self._client(), self.limits, self.max_retries + 1, self._sleep, self._backoff)

    def _key_for(self, override: str | None) -> str:
        key = (override or "").strip() or self._api_key
        if not key:
            raise AuthenticationError(NO_KEY_MESSAGE)
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

    async def _post(
        self, payload: dict[str, Any], key: str, extra_headers: Mapping[str, str], progress: list[str]
    ) -> Answer:
        """POST with retries; returns a 2xx answer (read, bounded) or raises the mapped APIError."""
        http = self._client()
        headers = {"Content-Type": "application/json", "Accept": "application/json", **extra_headers}
        headers["Authorization"] = f"Bearer {key}"
        body = await maybe_offload(sum(map(len, payload.get("image", ()))), _encode_json, payload)
        deadline = asyncio.get_running_loop().time() + self.generation_timeout
        attempts = self.max_retries + 1
        for attempt in range(1, attempts + 1):
            started = time.perf_counter()
            sent = SendTrace()
            try:
                request = http.build_request("POST", self.api_url, content=body, headers=headers)
                request.extensions["trace"] = sent
                progress.append("sent")
                answer = await self._send(http, request)
            except TooLarge as exc:
                raise self._too_large(exc) from None
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
                raise self._transport_error(exc, attempt, unsent=unsent) from None
            status = answer.status_code
            logger.info(
                "POST %s -> %d (attempt %d/%d, %.2f s)",
                self._endpoint, status, attempt, attempts, time.perf_counter() - started,
            )
            if 200 <= status < 300:
                return answer
            if status not in RETRY_STATUSES or attempt == attempts:
                raise self._status_error(answer, attempt, key)
            retry_after = parse_retry_after(answer.headers.get("retry-after"))
            delay = max(self._backoff(attempt), retry_after or 0.0)
            left = deadline - asyncio.get_running_loop().time()
            if (retry_after is not None and retry_after > self.max_retry_after) or delay >= left:
                raise self._status_error(answer, attempt, key)  # waiting would outlast the limit anyway
            logger.warning("POST %s -> %d; retrying in %.2f s", self._endpoint, status, delay)
            await self._sleep(delay)
        raise AssertionError("unreachable")  # the loop always returns or raises

    async def _send(self, http: httpx.AsyncClient, request: httpx.Request) -> Answer:
        """Send and read the answer under the byte caps: the JSON answer, or an error body (cut, not refused)."""
        response = await http.send(request, stream=True)
        if 200 <= response.status_code < 300:
            return await read_capped(response, self.limits.max_json_bytes)
        return await read_capped(response, self.limits.max_error_bytes, truncate=True)

    def _too_large(self, exc: TooLarge) -> InvalidResponseError:
        size = f" ({exc.declared // (1024 * 1024)} MB)" if exc.declared else ""
        return InvalidResponseError(
            f"Seedream's answer{size} is larger than {self.limits.max_json_bytes // (1024 * 1024)} MB, far more "
            "than any real answer; it was not read."
        )

    def _backoff(self, attempt: int) -> float:
        return backoff(attempt, self.backoff_base, self.backoff_max)

    def _status_error(self, response: Answer, attempts: int, key: str) -> APIError:
        # Scrubbed before the message is cut to a snippet: half a key would no longer be recognised.
        return errors.status_error(response, (key, *self._url_secrets), attempts, api_url=self._public_url)

    def _transport_error(self, exc: httpx.RequestError, attempts: int, *, unsent: bool = False) -> APIError:
        return errors.transport_error(
            exc, attempts, host=self._host, connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout, unsent=unsent,
        )

def _encode_json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()
