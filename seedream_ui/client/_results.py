"""From the API's 200 answer to checked images: parse the JSON, then decode or download each image, bounded."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from seedream_ui.client import _errors as errors
from seedream_ui.client._limits import ResultLimits
from seedream_ui.client._responses import (
    GeneratedImage,
    checked_image,
    decode_inline,
    describe,
    image_source,
    maybe_offload,
)
from seedream_ui.client._retry import RETRY_STATUSES
from seedream_ui.client._scrub import public_host, scrub
from seedream_ui.client._wire import Answer, TooLarge, read_capped
from seedream_ui.errors import ContentPolicyError, InvalidResponseError

logger = logging.getLogger("seedream_ui.client")


@dataclass(frozen=True)
class Images:
    images: tuple[GeneratedImage, ...]
    failures: tuple[str, ...]
    notes: tuple[str, ...]


@dataclass
class ResultReader:
    """Reads one answer's images. Downloads are free GETs: unlike the paid POST they retry transient failures."""

    http: httpx.AsyncClient
    limits: ResultLimits
    attempts: int
    sleep: Callable[[float], Awaitable[None]]
    backoff: Callable[[int], float]

    async def read(self, answer: Answer, secrets: errors.Secrets, expected: int) -> Images:
        """The images of a 200 answer; at most `expected` (what the request can produce)."""
        try:
            body = await maybe_offload(len(answer.content), json.loads, answer.content)
        except (ValueError, UnicodeDecodeError):
            snippet = errors.snippet(scrub(answer.text[:2000], *secrets))
            raise InvalidResponseError(
                f"Seedream's answer was not JSON (HTTP {answer.status_code}: {snippet}).",
                status_code=answer.status_code, body=snippet,
            ) from None
        items = body.get("images") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            # Some gateways answer 200 with an error object instead of images.
            message = errors.api_message(body)
            said = f": {message}" if message else "."
            kind = ContentPolicyError if errors.is_content_policy(body) else InvalidResponseError
            text = "Seedream declined the request under its content policy" if kind is ContentPolicyError else (
                "Seedream returned no images"
            )
            raise kind(f"{text}{said}", status_code=answer.status_code, body=errors.summary(body))
        notes: tuple[str, ...] = ()
        keep = min(expected, self.limits.max_images)
        if len(items) > keep:
            # Never download hundreds of URLs; the first ones are what the request asked for.
            notes = (
                f"Seedream returned {len(items)} images, more than this request can produce; kept the first {keep}.",
            )
            logger.warning("The answer held %d images for a request of at most %d; kept %d", len(items), keep, keep)
            items = items[:keep]
        outcomes = await asyncio.gather(
            *(self._image(item, index, len(items)) for index, item in enumerate(items, start=1))
        )
        images = tuple(outcome for outcome in outcomes if isinstance(outcome, GeneratedImage))
        failures = tuple(outcome for outcome in outcomes if isinstance(outcome, str))
        if not images:
            listed = " ".join(failures[:3]) + (f" (and {len(failures) - 3} more)" if len(failures) > 3 else "")
            raise InvalidResponseError(
                f"Seedream returned {len(items)} image(s) but none could be used: {listed}",
                status_code=answer.status_code,
            )
        if failures:
            logger.warning("%d of %d result image(s) could not be used", len(failures), len(items))
        return Images(images, failures, notes)

    async def _image(self, item: object, index: int, count: int) -> GeneratedImage | str:
        """The image behind one element of `images`, or a short message saying why there is none."""
        label = f"Image {index} of {count}" if count > 1 else "The image"
        url, inline = image_source(item)
        if inline is not None:
            if len(inline) * 3 // 4 > self.limits.max_image_bytes:
                return f"{label}: {_too_big(self.limits)}"
            try:
                return await maybe_offload(len(inline), decode_inline, inline, url, self.limits.max_image_pixels)
            except InvalidResponseError as exc:
                return f"{label}: {exc.message}"
        if url is not None:
            return await self._fetch(url, label)
        return f"{label}: holds no URL or Base64 ({describe(item)})."

    async def _fetch(self, url: str, label: str) -> GeneratedImage | str:
        host = public_host(url)
        problem = "could not be downloaded"
        for attempt in range(1, self.attempts + 1):
            # Result URLs live on other hosts (a CDN): they must never see the API key.
            try:
                request = self.http.build_request("GET", url, headers={"Accept": "image/*"})
            except httpx.InvalidURL:
                return f"{label}: the result URL is not a valid URL."
            request.headers.pop("Authorization", None)
            try:
                response = await self.http.send(request, follow_redirects=True, stream=True)
                status = response.status_code
                if status != 200:
                    await response.aclose()
                else:
                    answer = await read_capped(response, self.limits.max_image_bytes)
            except TooLarge:
                return f"{label}: {_too_big(self.limits)}"
            except httpx.TimeoutException:
                return f"{label}: the result URL on {host} did not answer in time."
            except httpx.RequestError:
                problem = f"the result URL on {host} could not be reached"
            else:
                logger.debug("GET result on %s -> %d (attempt %d/%d)", host, status, attempt, self.attempts)
                if status == 200:
                    try:
                        return await maybe_offload(
                            len(answer.content), checked_image, answer.content, url, self.limits.max_image_pixels
                        )
                    except InvalidResponseError as exc:
                        return f"{label}: {exc.message}"
                problem = f"the result URL answered {status}"
                if status not in RETRY_STATUSES and status < 500:
                    break
            if attempt < self.attempts:
                await self.sleep(self.backoff(attempt))
        return f"{label}: {problem}."


def _too_big(limits: ResultLimits) -> str:
    return f"larger than {limits.max_image_bytes // (1024 * 1024)} MB, more than any Seedream image; not downloaded."
