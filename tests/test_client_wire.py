"""SeedreamClient against small raw HTTP servers on 127.0.0.1, for what the stand-in cannot do on purpose:
close kept-alive connections at awkward moments, drip a reply, send more (or bigger) results than asked.

Each server is an asyncio server started by the test on a free port; each test asserts what the caller of
the client observes and how many whole requests (paid generations) the server received.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest

from seedream_ui.client import ResultLimits, SeedreamClient
from seedream_ui.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    InvalidResponseError,
)
from seedream_ui.request import GenerateRequest
from tests.images import image_bytes

KEY = "sk-wire-SECRET-77aa55"
REQUEST = GenerateRequest(prompt="a kite over the dunes", size="1920x1920")


IMAGES_BODY = json.dumps({"images": [base64.b64encode(image_bytes("JPEG")).decode()]}).encode()


def response(body: bytes = IMAGES_BODY, status: int = 200, headers: str = "") -> bytes:
    """An HTTP/1.1 answer that keeps the connection alive (no Connection: close)."""
    head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n{headers}\r\n"
    return head.encode() + body


@dataclass
class Seen:
    """What a raw server received: whole requests (with their body) and how many connections."""

    requests: list[bytes] = field(default_factory=list)
    connections: int = 0
    closed: asyncio.Event = field(default_factory=asyncio.Event)


async def read_head(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


async def read_request(reader: asyncio.StreamReader, seen: Seen) -> bytes:
    head = await read_head(reader)
    match = re.search(rb"content-length:\s*(\d+)", head, re.IGNORECASE)
    body = await reader.readexactly(int(match.group(1)) if match else 0)
    seen.requests.append(body)
    return body


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset, as a server dropping a connection it considers idle may do."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int, Seen], Awaitable[None]]


@asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[tuple[str, Seen]]:
    """A server on a free port; `handler` gets each connection with its number (1, 2, ...)."""
    seen = Seen()

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.connections += 1
        try:
            await handler(reader, writer, seen.connections, seen)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client went away: what the test looks at is what arrived before
        finally:
            writer.close()

    sock = socket.socket()
    # A small receive buffer, so a large request body cannot vanish into kernel buffers before we react.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.bind(("127.0.0.1", 0))
    server = await asyncio.start_server(on_connection, sock=sock)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v3/seedream-4.5", seen
    finally:
        server.close()
        await server.wait_closed()


def client_for(url: str, **options: object) -> SeedreamClient:
    options.setdefault("backoff_base", 0.01)
    options.setdefault("read_timeout", 20.0)
    return SeedreamClient(api_key=KEY, api_url=url, **options)  # type: ignore[arg-type]


def with_big_reference() -> GenerateRequest:
    """A request of ~8 MB: more than loopback's socket buffers hold, so writing it takes the server's help."""
    png_head = b"\x89PNG\r\n\x1a\n" + bytes(6 * 1024 * 1024)
    return GenerateRequest(prompt="a kite", size="1920x1920", images=(base64.b64encode(png_head).decode(),))


# ------------------------------------------------------------------------- kept-alive connections closing


async def test_a_kept_alive_connection_the_server_closed_while_idle_is_replaced_without_an_error() -> None:
    async def close_when_idle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int, seen: Seen) -> None:
        await read_request(reader, seen)
        writer.write(response())
        await writer.drain()
        writer.close()  # idle keep-alive timeout: the client still holds the connection in its pool
        await writer.wait_closed()
        seen.closed.set()

    async with raw_server(close_when_idle) as (url, seen), client_for(url) as client:
        assert len((await client.generate(REQUEST)).images) == 1
        await seen.closed.wait()
        assert len((await client.generate(REQUEST)).images) == 1
    assert (len(seen.requests), seen.connections) == (2, 2)


async def test_a_kept_alive_connection_reset_while_the_request_is_written_is_retried_on_a_new_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def reset_second_request(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int, seen: Seen
    ) -> None:
        if n == 1:
            await read_request(reader, seen)
            writer.write(response())
            await writer.drain()
            await read_head(reader)  # the next request begins on the kept-alive connection...
            reset(writer)  # ...and the server drops the connection before its body is written
            return
        while True:
            await read_request(reader, seen)
            writer.write(response())
            await writer.drain()

    async with raw_server(reset_second_request) as (url, seen), client_for(url) as client:
        await client.generate(REQUEST)
        result = await client.generate(with_big_reference())
    assert len(result.images) == 1
    # One whole request per generation: the cut one never arrived whole, so nothing was paid for twice.
    assert len(seen.requests) == 2 and seen.connections == 2
    assert "before the request was sent in full (attempt 1/3" in caplog.text


async def test_a_connection_closed_after_the_whole_request_arrived_is_never_sent_again() -> None:
    async def close_after_reading(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int, seen: Seen
    ) -> None:
        await read_request(reader, seen)
        writer.write(response())
        await writer.drain()
        await read_request(reader, seen)  # the whole request is here: the work may be under way
        reset(writer)

    async with raw_server(close_after_reading) as (url, seen), client_for(url, max_retries=3) as client:
        await client.generate(REQUEST)
        with pytest.raises(APIConnectionError) as caught:
            await client.generate(REQUEST)
    assert "Not retried automatically" in caught.value.message
    assert len(seen.requests) == 2 and seen.connections == 1


async def test_a_server_that_keeps_cutting_requests_short_ends_with_a_message_that_nothing_was_generated() -> None:
    async def always_reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int, seen: Seen) -> None:
        await read_head(reader)
        reset(writer)

    async with raw_server(always_reset) as (url, seen), client_for(url, max_retries=1) as client:
        with pytest.raises(APIError) as caught:
            await client.generate(with_big_reference())
    assert type(caught.value) is APIConnectionError
    assert caught.value.message == (
        "Seedream closed the connection before the request was sent after 2 attempts; nothing was generated. "
        "Try again."
    )
    assert seen.requests == [] and seen.connections == 2


# ------------------------------------------------------------------------------------------- the deadline


async def drip(writer: asyncio.StreamWriter, head: bytes) -> None:
    """Send `head`, then one byte at a time, forever: never idle long enough for a read timeout."""
    writer.write(head)
    while True:
        await writer.drain()
        await asyncio.sleep(0.2)
        writer.write(b" ")


async def test_an_answer_dripping_a_byte_at_a_time_ends_at_the_generation_deadline() -> None:
    async def dripping(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int, seen: Seen) -> None:
        await read_request(reader, seen)
        await drip(writer, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")

    async with raw_server(dripping) as (url, seen), client_for(url, generation_timeout=1.5, read_timeout=5) as client:
        with pytest.raises(APITimeoutError) as caught:
            await client.generate(REQUEST)
    assert caught.value.message == (
        "Seedream did not finish within 1.5 s, the limit for one generation; stopped. "
        "Seedream may still have made (and billed) the image."
    )
    assert len(seen.requests) == 1  # never sent again: it may be billed


async def test_a_result_download_dripping_a_byte_at_a_time_ends_at_the_generation_deadline() -> None:
    async def slow_cdn(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int, seen: Seen) -> None:
        body = await read_request(reader, seen)
        if body:  # the POST: answer with a URL on this same server
            port = writer.get_extra_info("sockname")[1]
            writer.write(response(json.dumps({"images": [f"http://127.0.0.1:{port}/result.jpg"]}).encode()))
            await writer.drain()
            await read_request(reader, seen)
        await drip(writer, b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\n")

    async with raw_server(slow_cdn) as (url, _), client_for(url, generation_timeout=1.5, read_timeout=5) as client:
        with pytest.raises(APITimeoutError) as caught:
            await client.generate(REQUEST)
    assert caught.value.message == (
        "Downloading the results took longer than 1.5 s, the limit for one generation; stopped."
    )


# ------------------------------------------------------------------------------------------ bounded answers


def declared(length: int, content_type: str = "application/json") -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n".encode()


async def stream_forever(writer: asyncio.StreamWriter, head: bytes, sent: list[int]) -> None:
    """Chunked body of 1 MB pieces until the client stops reading (or 200 MB)."""
    writer.write(head)
    piece = b"A" * (1024 * 1024)
    for _ in range(200):
        writer.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
        await writer.drain()
        sent[0] += len(piece)


CHUNKED_JSON = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
CHUNKED_JPEG = b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\n\r\n"


async def test_an_answer_declaring_more_than_the_json_cap_is_refused_unread() -> None:
    async def huge(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int, seen: Seen) -> None:
        await read_request(reader, seen)
        writer.write(declared(100 * 1024 * 1024) + b'{"images": [')
        await writer.drain()
        await reader.read()  # hold the connection until the client hangs up

    async with raw_server(huge) as (url, seen), client_for(url, max_retries=3) as client:
        with pytest.raises(InvalidResponseError) as caught:
            await client.generate(REQUEST)
    assert caught.value.message == (
        "Seedream's answer (100 MB) is larger than 64 MB, far more than any real answer; it was not read."
    )
    assert len(seen.requests) == 1


async def test_a_streamed_answer_is_cut_off_at_the_json_cap() -> None:
    sent = [0]

    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int, seen: Seen) -> None:
        await read_request(reader, seen)
        await stream_forever(writer, CHUNKED_JSON, sent)

    limits = ResultLimits(max_json_bytes=4 * 1024 * 1024)
    async with raw_server(endless) as (url, _), client_for(url, limits=limits) as client:
        with pytest.raises(InvalidResponseError) as caught:
            await client.generate(REQUEST)
    assert caught.value.message == "Seedream's answer is larger than 4 MB, far more than any real answer; it was not read."
    assert sent[0] < 200 * 1024 * 1024  # the client hung up instead of taking it all


def answer_with_url_to(path: str) -> Handler:
    """The POST answers with one URL on this server; GET `path` is handled by `serve`."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int, seen: Seen) -> None:
        while True:
            head = await read_head(reader)
            if head.startswith(b"POST"):
                match = re.search(rb"content-length:\s*(\d+)", head, re.IGNORECASE)
                seen.requests.append(await reader.readexactly(int(match.group(1)) if match else 0))
                port = writer.get_extra_info("sockname")[1]
                writer.write(response(json.dumps({"images": [f"http://127.0.0.1:{port}{path}"]}).encode()))
                await writer.drain()
            else:
                await seen_get(head, reader, writer)

    seen_get = GETS[path]
    return handler


SENT_IMAGE = [0]


async def _declares_200_mb(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(declared(200 * 1024 * 1024, "image/jpeg") + b"\xff\xd8")
    await writer.drain()
    await reader.read()  # never sends the rest; the client must not wait for it


async def _streams_200_mb(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await stream_forever(writer, CHUNKED_JPEG, SENT_IMAGE)


GETS = {"/declared.jpg": _declares_200_mb, "/streamed.jpg": _streams_200_mb}


@pytest.mark.parametrize("path", GETS, ids=["content-length", "chunked"])
async def test_a_200_mb_result_image_is_refused_without_reading_it_whole(path: str) -> None:
    SENT_IMAGE[0] = 0
    async with raw_server(answer_with_url_to(path)) as (url, seen), client_for(url) as client:
        with pytest.raises(InvalidResponseError) as caught:
            await client.generate(REQUEST)
    assert caught.value.message == (
        "Seedream returned 1 image(s) but none could be used: The image: larger than 50 MB, more than any "
        "Seedream image; not downloaded."
    )
    assert SENT_IMAGE[0] < 200 * 1024 * 1024
    assert len(seen.requests) == 1
