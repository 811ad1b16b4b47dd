"""Injectable faults as a table: each name maps to the behaviour that replaces (or delays) a normal answer.

Faults apply before authentication and validation, the way a failing gateway answers whatever it is sent.
A behaviour returns the response to send, or None to answer the request normally (after a `hang`, or `ok`).
"""

from __future__ import annotations

import base64
import contextvars
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from seedream_ui.stub.http import error_response
from seedream_ui.stub.rules import Plan, lenient_plan

__all__ = ["FAULTS", "FAULT_BEHAVIOURS", "Behaviour", "DroppedResponse", "FaultContext", "drop_filter"]


@dataclass(frozen=True)
class FaultContext:
    """What a fault's behaviour may use: the request's body and options, and the server's drawing and storage."""

    body: Any
    retry_after: str
    hang_seconds: float
    base_url: str
    sleep: Callable[[float], Awaitable[bool]]  # False when the server stops or the client leaves first
    render: Callable[[Plan, Sequence[int] | None], Awaitable[list[bytes]]]  # images of a plan, 1-based indices
    store: Callable[[bytes], str]  # keeps an image and returns its URL
    missing_url: Callable[[], str]  # a URL of an image that was never stored


Behaviour = Callable[[FaultContext], Awaitable[Response | None]]

_NOT_AN_IMAGE = b"this is plain text, not an image\n"
_CONTENT_POLICY = (
    "The request was rejected because the prompt or a reference image may contain sensitive content; "
    "change it and try again."
)
UNAUTHENTICATED = "The API key is missing or invalid; send 'Authorization: Bearer <your key>'."


def _error(status: int, message: str, reason: str | None = None) -> Behaviour:
    async def behaviour(_: FaultContext) -> Response:
        return error_response(status, message, reason=reason)

    return behaviour


def _constant(make: Callable[[], Response]) -> Behaviour:
    async def behaviour(_: FaultContext) -> Response:
        return make()

    return behaviour


async def _answer_normally(_: FaultContext) -> None:
    return None


async def _hang(context: FaultContext) -> Response | None:
    """Wait (an hour by default: longer than any client timeout), then answer normally."""
    if not await context.sleep(context.hang_seconds):
        return error_response(503, "The stand-in stopped or the client left while hanging.")
    return None


async def _rate_limited(context: FaultContext) -> Response:
    return error_response(
        429, f"Too many requests; wait {context.retry_after} s and try again.",
        headers={"Retry-After": context.retry_after},
    )  # fmt: skip


async def _drop(context: FaultContext) -> Response:
    return DroppedResponse(json.dumps({"images": [f"{context.base_url}/_stub/images/dropped.jpg"] * 8}).encode())


async def _bad_image(context: FaultContext) -> Response:
    """200 with Base64 that decodes to text, one item per image the request asked for."""
    garbage = base64.b64encode(_NOT_AN_IMAGE).decode("ascii")
    return JSONResponse({"images": [garbage] * lenient_plan(context.body).count})


def _missing_urls(broken_all: bool) -> Behaviour:
    """200 whose first URL (or every URL) answers 404; the other images are real and say so in their markers."""

    async def behaviour(context: FaultContext) -> Response:
        plan = lenient_plan(context.body)
        missing = [context.missing_url() for _ in range(plan.count if broken_all else 1)]
        rest = await context.render(plan, range(len(missing) + 1, plan.count + 1))
        return JSONResponse({"images": [*missing, *(context.store(data) for data in rest)]})

    return behaviour


FAULT_BEHAVIOURS: dict[str, Behaviour] = {
    "ok": _answer_normally,
    "400": _error(400, "The request is invalid (injected fault)."),
    "content-policy": _error(400, _CONTENT_POLICY, reason="CONTENT_POLICY"),
    "401": _error(401, UNAUTHENTICATED),
    "403": _error(403, "This API key is not allowed to use Seedream 4.5; check the key's permissions."),
    "429": _rate_limited,
    "429-no-retry-after": _error(429, "Too many requests; wait a little and try again."),
    "500": _error(500, "The service hit an internal error; try again later."),
    "502": _error(502, "The upstream service sent an invalid answer; try again later."),
    "503": _error(503, "The service is temporarily unavailable; try again in a moment."),
    "504": _error(504, "The upstream service timed out; try again later."),
    "hang": _hang,
    "drop": _drop,
    "not-json": _constant(lambda: Response("<html>upstream error</html>", media_type="text/html")),
    "no-images": _constant(lambda: JSONResponse({"data": []})),
    "empty-images": _constant(lambda: JSONResponse({"images": []})),
    "bad-image": _bad_image,
    "url-404": _missing_urls(broken_all=True),
    "partial-url-404": _missing_urls(broken_all=False),
}
FAULTS: tuple[str, ...] = tuple(FAULT_BEHAVIOURS)


# Lets the log filter below tell our deliberate `drop` from a real bug in some other app in the same process.
_dropping: contextvars.ContextVar[bool] = contextvars.ContextVar("seedream_stub_dropping", default=False)


class _DeliberateDropFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (_dropping.get() and "without completing response" in record.getMessage())


drop_filter = _DeliberateDropFilter()


class DroppedResponse(Response):
    """Status line, headers and part of the body, then the connection closes: a network failure mid-body."""

    def __init__(self, body: bytes) -> None:
        super().__init__(status_code=200)
        self._full = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(self._full)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": self._full[: len(self._full) // 3], "more_body": True})
        # Returning with the body unfinished makes uvicorn close the transport.
        _dropping.set(True)
