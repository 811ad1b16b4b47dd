"""StubServer: the stand-in on a free port, served by uvicorn in a background thread (or the CLI's foreground)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterable
from typing import Any, Self

import uvicorn
from fastapi import FastAPI

from seedream_ui.stub.config import StubConfig
from seedream_ui.stub.faults import drop_filter
from seedream_ui.stub.records import StubState
from seedream_ui.stub.server import ENDPOINT_PATH, Renderer, create_app

__all__ = ["StubServer", "bind", "uvicorn_server"]


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, state: StubState) -> None:
        super().__init__(config)
        self._state = state

    def handle_exit(self, sig: int, frame: Any) -> None:  # Ctrl-C on the CLI: end hanging requests too
        self._state.stopping.set()
        super().handle_exit(sig, frame)


def uvicorn_server(app: FastAPI, state: StubState, *, log_level: str = "warning") -> uvicorn.Server:
    """A uvicorn server for the app whose Ctrl-C also ends the stand-in's hangs and latency sleeps."""
    logging.getLogger("uvicorn.error").addFilter(drop_filter)
    config = uvicorn.Config(
        app, log_level=log_level, log_config=None, access_log=False, lifespan="off", ws="none",
        timeout_graceful_shutdown=2,  # backstop: our own sleeps already end on `stopping`
    )  # fmt: skip
    return _Server(config, state)


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only then; without it every answer waits ~40 ms on
    # Nagle + delayed ACK, because headers and body go out as separate writes.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


class StubServer:
    """The stand-in on 127.0.0.1 (a free port by default), served by uvicorn in a background thread."""

    def __init__(
        self,
        config: StubConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        renderer: Renderer | None = None,
    ) -> None:
        self.config = config or StubConfig()
        self.state = StubState(self.config)
        self.app = create_app(self.config, self.state, renderer=renderer)
        self._host, self._port = host, port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("The stub server is not running; call start() first.")
        return self._port

    @property
    def base_url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        return self.base_url + ENDPOINT_PATH

    def start(self, timeout: float = 10.0) -> Self:
        if self._server is not None:
            raise RuntimeError("The stub server is already running.")
        sock = bind(self._host, self._port)
        self._port = sock.getsockname()[1]
        self.state.stopping.clear()  # a stopped server may be started again
        self._server = uvicorn_server(self.app, self.state)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"seedream-stub-{self._port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._server, self._thread = None, None
                sock.close()
                raise RuntimeError("The stub server did not start.")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is None or self._thread is None:
            return
        self.state.stopping.set()
        self._server.should_exit = True
        self._thread.join(timeout)
        self._server, self._thread = None, None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def requests(self) -> list[dict[str, Any]]:
        """Every POST to the endpoint so far (a copy), oldest first."""
        return self.state.requests()

    def image_fetches(self) -> int:
        return self.state.image_fetches()

    def queue_faults(self, faults: Iterable[str]) -> list[str]:
        """Append faults that the next generation requests take, one each, before any header or default."""
        return self.state.queue_faults(faults)

    def reset(self) -> None:
        self.state.reset()
