"""`python -m seedream_ui.stub` (or the older `python -m seedream_ui.stub_api`): the stand-in on a port."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from seedream_ui.stub.config import IMAGE_FORMATS, RESPONSE_FORMATS, StubConfig
from seedream_ui.stub.faults import FAULTS
from seedream_ui.stub.http import logger
from seedream_ui.stub.records import StubState
from seedream_ui.stub.running import bind, uvicorn_server
from seedream_ui.stub.server import ENDPOINT_PATH, Renderer, create_app

__all__ = ["main"]

_DESCRIPTION = "A local stand-in for the Seedream 4.5 HTTP API: real HTTP, real validation, injectable faults."


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=_DESCRIPTION)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--api-key", help="accept only this bearer token (default: any non-empty one)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds to wait before answering")
    parser.add_argument("--fault", choices=FAULTS, default="ok", help="fault for every request without X-Stub-Fault")
    parser.add_argument("--response-format", choices=RESPONSE_FORMATS, default="url")
    parser.add_argument("--image-format", choices=IMAGE_FORMATS, default="jpeg")
    parser.add_argument("--retry-after", default="1", help="Retry-After value of the 429 fault")
    parser.add_argument("--hang-seconds", type=float, default=3600.0, help="how long the hang fault waits")
    parser.add_argument("--max-body-mb", type=float, default=200.0, help="larger bodies get 413")
    parser.add_argument("--max-records", type=int, default=200, help="how many requests GET /_stub/requests keeps")
    return parser


def main(
    argv: Sequence[str] | None = None, *, prog: str = "python -m seedream_ui.stub", renderer: Renderer | None = None
) -> int:
    parser = _parser(prog)
    args = parser.parse_args(argv)
    try:
        config = _config(args)
    except ValueError as problem:
        parser.error(str(problem))  # one line and exit status 2, like any other bad option
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logger.setLevel(logging.INFO)
    state = StubState(config)
    app = create_app(config, state, renderer=renderer)
    sock = bind(args.host, args.port)
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{host}:{sock.getsockname()[1]}{ENDPOINT_PATH}"
    key = "$SEEDREAM_API_KEY" if args.api_key else "any-key"
    print(f"Seedream 4.5 stand-in listening on {url}", flush=True)
    print(
        f"  curl -s {url} -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' "
        "-d '{\"prompt\": \"a red fox in the snow\", \"size\": \"2K\"}'",
        flush=True,
    )
    uvicorn_server(app, state).run(sockets=[sock])
    return 0


def _config(args: argparse.Namespace) -> StubConfig:
    return StubConfig(
        api_key=args.api_key, latency=args.latency, fault=args.fault, response_format=args.response_format,
        image_format=args.image_format, retry_after=args.retry_after, hang_seconds=args.hang_seconds,
        max_body_bytes=round(args.max_body_mb * 1024 * 1024), max_records=args.max_records,
    )  # fmt: skip
