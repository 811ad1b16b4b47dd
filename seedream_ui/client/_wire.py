"""Bytes on the wire: an answer read with a byte cap, and whether a request left in full."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Answer:
    """A response read (up to a cap) and closed: what the error mapping and the parsing look at."""

    status_code: int
    headers: httpx.Headers
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


class TooLarge(Exception):
    """The answer is over its byte cap. `declared` is the Content-Length when that alone said so."""

    def __init__(self, declared: int | None) -> None:
        super().__init__(declared)
        self.declared = declared


async def read_capped(response: httpx.Response, limit: int, *, truncate: bool = False) -> Answer:
    """Read a streamed response, never holding more than `limit` bytes (decompressed); closes it.

    Over the cap: raise TooLarge, or with `truncate` keep the first `limit` bytes (for error messages).
    A declared Content-Length over the cap is refused before reading anything.
    """
    try:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit and not truncate and "content-encoding" not in response.headers:
            raise TooLarge(int(declared))
        chunks: list[bytes] = []
        total = 0
        async for chunk in response.aiter_bytes():
            if total + len(chunk) > limit:
                if truncate:
                    chunks.append(chunk[: limit - total])
                    break
                raise TooLarge(None)
            chunks.append(chunk)
            total += len(chunk)
        return Answer(response.status_code, response.headers, b"".join(chunks))
    finally:
        await response.aclose()


class SendTrace:
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
