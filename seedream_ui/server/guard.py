"""The HTTP guard in front of Gradio: what a public demo must refuse before Gradio sees it.

One ASGI middleware (Gradio has no knob for any of these):
- direct runs of queued endpoints (`/gradio_api/run/<name>`, `/gradio_api/api/<name>`) skip the queue and its
  concurrency limit: refused, naming the queued way;
- request bodies are capped on every route (JSON small, uploads per the visitor's remaining quota);
- uploads are counted per client address (rate and disk quota, see uploads.py);
- a file whose `path` is a URL would make Gradio download it server-side: refused (the server never fetches);
- Gradio's "Queue is full" becomes a sentence a visitor understands;
- routes of Gradio features this demo does not use are closed: `/gradio_api/deep_link` writes a session's
  components to disk on every call (a visitor could fill it), `/gradio_api/dev/reload` holds a connection open
  forever outside `gradio app.py`'s reload mode.
Every refusal is one log line and a JSON `{"detail": ...}` answer, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

from gradio_client.utils import is_http_url_like
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seedream_ui.server.uploads import Refusal, UploadLedger

log = logging.getLogger("seedream_ui.server")

# The largest JSON body any route needs: a prompt at the generation code's cap (~20k characters, JSON-escaped
# up to 12 bytes each as surrogate pairs) plus 14 reference URLs of ~8k characters and the file records.
JSON_BODY_LIMIT = 1024 * 1024
# An agent's MCP call may carry reference images inline as Base64 data URIs (a 10 MB image is ~13.4 MB of text):
# room for two such, or many small ones; larger sets go as URLs.
MCP_BODY_LIMIT = 32 * 1024 * 1024
BUSY = "The demo is busy; try again in a minute."
NO_FETCH = (
    "This server never fetches a URL for you: upload the file instead (POST /gradio_api/upload), "
    "or put the image's address in the reference URLs box, which is passed to the API."
)

_RUN = re.compile(r"/gradio_api/(?:run|api)/([^/]+)/?$")
_JOIN = re.compile(r"/gradio_api/(?:queue/join|call/(?:v2/)?[^/]+)/?$")
_UPLOAD = re.compile(r"/gradio_api/upload/?$")
_MCP = re.compile(r"/gradio_api/mcp(?:/|$)")
_UNUSED = re.compile(r"/gradio_api/(?:deep_link|dev/reload)/?$")


class BodyTooLarge(Exception):
    pass


class Guard:
    def __init__(self, app: ASGIApp, *, ledger: UploadLedger, queued_names: Callable[[], Iterable[str]]) -> None:
        self.app = app
        self.ledger = ledger
        self.queued_names = queued_names

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = ended = False

        async def tracking_send(message: Message) -> None:
            nonlocal started, ended
            started = started or message["type"] == "http.response.start"
            ended = message["type"] == "http.response.body" and not message.get("more_body", False)
            await send(message)

        try:
            await self._handle(scope, receive, tracking_send)
        except asyncio.CancelledError:
            # uvicorn cancels the event streams still open when the server stops; it would log each one as
            # "Exception in ASGI application" with a traceback. The stream ends here, cleanly.
            if started and not ended:
                with contextlib.suppress(Exception):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        except Exception as exc:  # a Gradio route failed on a bad request: one line, no traceback
            log.warning("failed %s %s: %s: %s", scope["method"], scope["path"][:200], type(exc).__name__,
                        str(exc).splitlines()[0][:200] if str(exc) else "")
            if not started:
                await _send_json(send, 500, {"detail": "The server could not handle this request."})

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        client = scope["client"][0] if scope.get("client") else "unknown"
        run = _RUN.search(path)
        if scope["method"] == "POST" and run and run.group(1) in set(self.queued_names()):
            name = run.group(1)
            message = (
                f"/{name} runs only through the queue (it shares a limit with every visitor): "
                f"POST /gradio_api/call/{name} and then read its event stream, or use gradio_client's "
                f'Client.predict(..., api_name="/{name}").'
            )
            await self._refuse(scope, send, client, Refusal(403, message))
            return
        if _UNUSED.search(path):
            await self._refuse(scope, send, client, Refusal(404, "Not found."))
            return
        if _UPLOAD.search(path):
            await self._upload(scope, receive, send, client)
            return
        limit = MCP_BODY_LIMIT if _MCP.search(path) else JSON_BODY_LIMIT
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(scope, send, client, _too_large(limit))
            return
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        try:
            body = await _read_all(receive, limit)
        except BodyTooLarge:
            await self._refuse(scope, send, client, _too_large(limit))
            return
        if path.startswith("/gradio_api/") and _names_remote_file(body):
            await self._refuse(scope, send, client, Refusal(400, NO_FETCH))
            return
        outgoing = _busy_rewriter(send) if _JOIN.search(path) else send
        await self.app(scope, _replay(body, receive), outgoing)

    async def _upload(self, scope: Scope, receive: Receive, send: Send, client: str) -> None:
        refusal = self.ledger.admit(client)
        limit = self.ledger.request_limit(client)
        declared = _content_length(scope)
        if refusal is None and declared is not None and declared > limit:
            refusal = self._upload_too_large(client, limit)
        if refusal is not None:
            await self._refuse(scope, send, client, refusal)
            return
        received = 0
        started = False
        captured: list[bytes] = []

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge
            return message

        async def recording_send(message: Message) -> None:
            nonlocal started
            started = True
            if message["type"] == "http.response.body":
                captured.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, counting_receive, recording_send)
        except BodyTooLarge:
            # Gradio's parser has written part of the body to a temporary file; its upload is abandoned.
            if not started:
                await self._refuse(scope, send, client, self._upload_too_large(client, limit))
            return
        try:
            paths = json.loads(b"".join(captured))
        except ValueError:
            return  # an error answer (e.g. Gradio's own 413 for one file over the limit): nothing stored
        if isinstance(paths, list):
            self.ledger.record(client, [p for p in paths if isinstance(p, str)])

    def _upload_too_large(self, client: str, limit: int) -> Refusal:
        if self.ledger.remaining(client) + 1 < self.ledger.max_request_bytes:
            return self.ledger.quota_refusal()
        return _too_large(limit, what="This upload")

    async def _refuse(self, scope: Scope, send: Send, client: str, refusal: Refusal) -> None:
        log.warning("refused %s %s from %s: %d %s", scope["method"], scope["path"][:200], client,
                    refusal.status, refusal.message[:120])
        await _send_json(send, refusal.status, {"detail": refusal.message})


def _too_large(limit: int, what: str = "This request") -> Refusal:
    size = f"{limit / 2**20:.0f} MB" if limit >= 2**20 else f"{limit // 1024} KB"
    return Refusal(413, f"{what} is too large: the limit is {size}.")


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _read_all(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away: the app sees an empty body and its disconnect
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the disconnect, as Starlette expects

    return replay


def _names_remote_file(body: bytes) -> bool:
    """Whether a JSON body holds a file record whose `path` is a URL (Gradio would download it)."""
    if b"http" not in body:
        return False
    try:
        data = json.loads(body)
    except ValueError:
        return False
    stack: list[Any] = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if is_http_url_like(item.get("path")):
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _busy_rewriter(send: Send) -> Send:
    """Gradio answers a full queue with 503 "Queue is full. Max size is ..."; say it for visitors."""
    busy = False

    async def rewrite(message: Message) -> None:
        nonlocal busy
        if message["type"] == "http.response.start" and message["status"] == 503:
            busy = True
            return
        if busy and message["type"] == "http.response.body":
            if message.get("more_body", False):
                return
            await _send_json(send, 503, {"detail": BUSY})
            return
        await send(message)

    return rewrite


async def _send_json(send: Send, status: int, content: dict[str, str]) -> None:
    body = json.dumps(content).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    })
    await send({"type": "http.response.body", "body": body})
