"""The shared pages as a FastAPI router: `app.include_router(share_router(store))` beside the Gradio app.

GET  /s/{id}                 the read-only page
GET  /s/{id}/image/{n}       result n, original bytes (`?download=1`: as an attachment)
GET  /s/{id}/reference/{n}   reference n's thumbnail
GET  /s/{id}/zip             every result + request.json + recipe.json
GET  /s/{id}/recipe.json     the recipe
GET  /s/{id}/unshare         a form asking to confirm (the token comes from the link's #fragment)
POST /s/{id}/unshare         token=… : deletes the share

Deleting takes a POST: a GET that deletes would be triggered by any link previewer or mail scanner that
fetches the delete link. Everything unknown, malformed, expired or unshared gets the same 404 page.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.background import BackgroundTask

from seedream_ui.outputs import STAMP
from seedream_ui.shares.errors import ShareStoreError
from seedream_ui.shares.page import CONTENT_SECURITY_POLICY, gone_page, share_page, unshare_form, unshared_page
from seedream_ui.shares.store import Published, Share, ShareStore

PREFIX = "/s"
_NUMBER = re.compile(r"[1-9][0-9]?")
_MAX_FORM_BYTES = 4096
_HOST_HEADER = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")
_PREFIX_HEADER = re.compile(r"(/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*/?")

PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Robots-Tag": "noindex, nofollow",
    "Cache-Control": "no-store",
}
# Files are never documents: even an image a browser is tricked into rendering runs nothing.
FILE_HEADERS = PAGE_HEADERS | {
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, max-age=300",  # short: an unshared file should not linger in caches
}
UNAVAILABLE = "<!doctype html><title>Sharing unavailable</title><h1>Sharing is unavailable right now</h1>"


def share_router(store: ShareStore) -> APIRouter:
    router = APIRouter(prefix=PREFIX, include_in_schema=False)

    def readable(path: str) -> Callable[[Any], Any]:
        # HEAD too: link previewers and download managers ask it first, and must not be told "not found".
        return router.api_route(path, methods=["GET", "HEAD"])

    async def find(share_id: str, depth: int, respond: Callable[[Share], Awaitable[Response] | Response]) -> Response:
        try:
            share = await store.aget(share_id)
        except ShareStoreError:
            return HTMLResponse(UNAVAILABLE, status_code=503, headers=PAGE_HEADERS)
        if share is None:
            return gone(depth)
        result = respond(share)
        return await result if isinstance(result, Awaitable) else result

    @readable("/{share_id}")
    async def page(share_id: str) -> Response:
        return await find(share_id, 1, lambda share: HTMLResponse(share_page(share), headers=PAGE_HEADERS))

    @readable("/{share_id}/")
    async def trailing_slash(share_id: str) -> Response:
        # Relative links need the page at /s/{id}; a relative Location keeps the proxy's prefix.
        return await find(share_id, 2, lambda share: RedirectResponse(f"../{share.id}", status_code=308))

    @readable("/{share_id}/image/{n}")
    async def image(share_id: str, n: str, download: str = "") -> Response:
        def respond(share: Share) -> Response:
            path = share.image_path(int(n)) if _NUMBER.fullmatch(n) else None
            if path is None:
                return gone(3)
            stored = share.images[int(n) - 1]
            kind = "attachment" if download == "1" else "inline"
            return FileResponse(path, media_type=stored.mime, filename=stored.file, content_disposition_type=kind,
                                headers=FILE_HEADERS)

        return await find(share_id, 3, respond)

    @readable("/{share_id}/reference/{n}")
    async def reference(share_id: str, n: str) -> Response:
        def respond(share: Share) -> Response:
            path = share.thumbnail_path(int(n)) if _NUMBER.fullmatch(n) else None
            if path is None:
                return gone(3)
            return FileResponse(path, media_type="image/webp", headers=FILE_HEADERS)

        return await find(share_id, 3, respond)

    @readable("/{share_id}/zip")
    async def download_zip(share_id: str, request: Request) -> Response:
        async def respond(share: Share) -> Response:
            if request.method == "HEAD":  # no zip is built just to be asked about
                disposition = f'attachment; filename="{_zip_name(share)}"'
                return Response(media_type="application/zip", headers=FILE_HEADERS | {"Content-Disposition": disposition})
            path = await store.abuild_zip(share)
            return FileResponse(path, media_type="application/zip", filename=_zip_name(share), headers=FILE_HEADERS,
                                background=BackgroundTask(path.unlink, missing_ok=True))

        return await find(share_id, 2, respond)

    @readable("/{share_id}/recipe.json")
    async def recipe(share_id: str) -> Response:
        def respond(share: Share) -> Response:
            disposition = f'inline; filename="{_zip_name(share)[:-4]}-recipe.json"'
            return Response(share.recipe.to_json(), media_type="application/json",
                            headers=FILE_HEADERS | {"Content-Disposition": disposition})

        return await find(share_id, 2, respond)

    @readable("/{share_id}/unshare")
    async def confirm_unshare(share_id: str) -> Response:
        return await find(share_id, 2, lambda share: HTMLResponse(unshare_form(share.id), headers=PAGE_HEADERS))

    @router.post("/{share_id}/unshare")
    async def do_unshare(share_id: str, request: Request) -> Response:
        token = await _form_token(request)
        try:
            if await store.aunshare(share_id, token):
                return HTMLResponse(unshared_page(), headers=PAGE_HEADERS)
        except ShareStoreError:
            return HTMLResponse(UNAVAILABLE, status_code=503, headers=PAGE_HEADERS)
        # A share that is still there but a wrong token: say so (the page itself is public to the link's
        # holder anyway); an unknown id gets the same page as everything else.
        return await find(share_id, 2, lambda share: HTMLResponse(
            unshare_form(share.id, wrong_token=True), status_code=403, headers=PAGE_HEADERS))

    @router.api_route("/{rest:path}", methods=["GET", "POST", "HEAD"])
    async def anything_else(rest: str) -> Response:
        return gone(rest.count("/") + 1)

    return router


def gone(depth: int) -> HTMLResponse:
    """The one answer for every id that leads nowhere; `depth` makes its home link relative."""
    return HTMLResponse(gone_page("../" * depth), status_code=404, headers=PAGE_HEADERS)


def root_url(request: Request, root_path: str | None = None) -> str:
    """The demo's public address without a trailing slash, as a visitor's browser reaches it.

    Like Gradio's own: X-Forwarded-Host / X-Forwarded-Proto when a proxy sets them, plus the root path from
    X-Forwarded-Prefix or the ASGI root_path (uvicorn --root-path). `root_path` (the Blocks' `root_path`, from
    GRADIO_ROOT_PATH) wins when given, and a full URL there is the answer itself, as in Gradio.
    """
    if root_path and root_path.startswith(("http://", "https://")):
        return root_path.rstrip("/")
    headers = request.headers
    host = _first(headers.get("x-forwarded-host"))
    host = host if _HOST_HEADER.fullmatch(host) else ""  # a link is built from it: nothing but a host name
    proto = _first(headers.get("x-forwarded-proto"))
    scheme = proto if proto in ("http", "https") else request.url.scheme
    base = f"{scheme}://{host or request.url.netloc}"
    prefix = _first(headers.get("x-forwarded-prefix"))
    if root_path:
        prefix = root_path
    elif not (prefix and _PREFIX_HEADER.fullmatch(prefix)):
        prefix = str(request.scope.get("root_path") or "")
    return base + prefix.rstrip("/")


def share_url(root: str, share_id: str) -> str:
    return f"{root.rstrip('/')}{PREFIX}/{share_id}"


def delete_url(root: str, published: Published) -> str:
    """The secret delete link, shown once: the token rides in the #fragment, which browsers never send."""
    return f"{share_url(root, published.id)}/unshare#{published.delete_token}"


def _first(value: str | None) -> str:
    return (value or "").split(",")[0].strip()


def _zip_name(share: Share) -> str:
    made = share.recipe.created or share.created
    return f"seedream-{made:{STAMP}}.zip"


async def _form_token(request: Request) -> str:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_FORM_BYTES:
            return ""
    values: dict[str, Any] = parse_qs(body.decode("ascii", "replace"))
    return str(values.get("token", [""])[0]).strip()
