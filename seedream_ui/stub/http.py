"""HTTP plumbing of the stand-in: the error envelope, the bearer token and the access log."""

from __future__ import annotations

import logging
import time

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["REASONS", "AccessLog", "bearer_token", "error_response", "logger"]

REASONS = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 410: "GONE",
    413: "PAYLOAD_TOO_LARGE", 429: "RATE_LIMITED", 500: "INTERNAL", 502: "BAD_GATEWAY", 503: "UNAVAILABLE", 504: "GATEWAY_TIMEOUT",
}  # fmt: skip

# The name predates the package: tests and operators filter the stand-in's log lines by it.
logger = logging.getLogger("seedream_ui.stub_api")


def error_response(
    status: int, message: str, *, reason: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The error body of every status: {"code", "reason", "message"}."""
    body = {"code": status, "reason": reason or REASONS.get(status, "INTERNAL"), "message": message}
    return JSONResponse(body, status_code=status, headers=headers)


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


class AccessLog:
    """One log line per request: client, method, path, status, duration and what the stub did (never the key)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status: int | None = None
        started = time.perf_counter()

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            note = scope.get("state", {}).get("stub_note", "")
            client = scope.get("client") or ("-", 0)
            milliseconds = (time.perf_counter() - started) * 1000
            logger.info(
                "%s %s %s -> %s %.0fms%s", client[0], scope["method"], scope["path"], status or "-", milliseconds,
                f" {note}" if note else "",
            )  # fmt: skip
