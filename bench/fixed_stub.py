"""`python -m bench.fixed_stub --port P [--latency S]`: a stand-in API that costs next to no CPU.

Independent of seedream_ui's stand-in (whose drawing and checks cost CPU on the 2 cores we measure on): any POST
is answered `{"images": [url]}` after the latency, and GET /image.jpg serves one 2K JPEG made once at start-up.
POST /_latency with `{"seconds": S}` changes the latency between rounds, so one stand-in serves a whole run.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
from typing import Any

import uvicorn
from PIL import Image

Scope = dict[str, Any]


def make_jpeg(side: int = 2048) -> bytes:
    """A 2048x2048 JPEG with photo-like detail (noise over a gradient), ~1 MB like a real 2K result."""
    gradient = Image.linear_gradient("L").resize((side, side)).convert("RGB")
    noise = Image.effect_noise((side, side), 40).convert("RGB")
    out = io.BytesIO()
    Image.blend(gradient, noise, 0.2).save(out, "JPEG", quality=85)
    return out.getvalue()


class FixedStub:
    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.jpeg = make_jpeg()
        self.requests = 0

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path, method = scope["path"], scope["method"]
        if method == "GET" and path == "/image.jpg":
            await self._send(send, self.jpeg, "image/jpeg")
        elif method == "POST" and path == "/_latency":
            self.latency = float(json.loads(body)["seconds"])
            await self._send(send, b"{}", "application/json")
        elif method == "POST":
            self.requests += 1
            await asyncio.sleep(self.latency)
            host = dict(scope["headers"]).get(b"host", b"127.0.0.1").decode()
            answer = json.dumps({"images": [f"http://{host}/image.jpg"]}).encode()
            await self._send(send, answer, "application/json")
        else:  # GET / and anything else: alive
            await self._send(send, b"ok", "text/plain")

    @staticmethod
    async def _send(send: Any, body: bytes, kind: str) -> None:
        headers = [(b"content-type", kind.encode()), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    uvicorn.run(FixedStub(args.latency), host="127.0.0.1", port=args.port, log_level="warning",
                backlog=2048, timeout_keep_alive=30)  # fmt: skip


if __name__ == "__main__":
    main()
