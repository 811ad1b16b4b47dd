"""Secrets and isolation: the API keys appear nowhere, sessions do not see each other, temporary files go.

- `python app.py` with a known server key: generations, downloads and every kind of error, then a search for
  the key (and for keys typed by visitors) in the server log, the page, every API schema route, the error
  messages, the zip, and every file the app left on disk, while running and after it stopped. Once stopped,
  no uploaded or generated file is left behind.
- Two browsers with different keys in the key box: the API sees each session's requests with that session's
  key only, and neither browser keeps the key (Gradio's run history would store and show it).
- Files of one session cannot be fetched from another by guessing their address.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import uvicorn
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from seedream_ui.config import Settings
from seedream_ui.stub_api import StubConfig, StubServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser

from tests.support import (
    ARTIFACTS,
    SMALL,
    AppProcess,
    app_process,
    free_port,
    generate_inputs,
    running_app,
)

SERVER_KEY = "sk-server-SECRET-9d2f61aa"
VISITOR_KEY = "sk-visitor-SECRET-40c1e7bb"  # a key the API does not know: 401
SPACED_KEY = "sk visitor SECRET 77e0 with spaces"  # cannot be sent in a header at all
SECRETS = (SERVER_KEY, VISITOR_KEY, SPACED_KEY, "SECRET")
EXAMPLE_ASSETS = {"teapot-sketch.png", "palette.png"}  # the page's examples: copies of files in the repo
# Routes that stream or change state; every other GET route without parameters is fetched and searched.
SKIPPED_ROUTES = {"/logout", "/gradio_api/queue/data", "/gradio_api/dev/reload", "/gradio_api/vibe-code",
                  "/gradio_api/vibe-code/", "/gradio_api/upload_progress"}  # fmt: skip


def find_secrets(text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    return [secret for secret in SECRETS if secret.encode() in data]


def reference_png(folder: Path) -> str:
    path = folder / "my-private-sketch.png"
    Image.new("RGB", (64, 48), (220, 30, 120)).save(path)
    return str(path)


def inputs(prompt: str, **fields: Any) -> dict[str, Any]:
    return generate_inputs(prompt, **({"max_images": 2} | fields))


def files_under(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


# ============================================================================================================
# The server key and visitors' keys appear nowhere
# ============================================================================================================


@pytest.fixture(scope="module")
def keyed_stub() -> Iterator[StubServer]:
    with StubServer(StubConfig(api_key=SERVER_KEY)) as server:
        yield server


def test_the_keys_appear_nowhere_and_nothing_private_is_left_on_disk(
    keyed_stub: StubServer, tmp_path: Path
) -> None:
    workdir = tmp_path / "app"
    (workdir / "tmp").mkdir(parents=True)
    env = {
        "SEEDREAM_API_URL": keyed_stub.url, "SEEDREAM_API_KEY": SERVER_KEY, "SEEDREAM_MAX_RETRIES": "1",
        "SEEDREAM_READ_TIMEOUT": "2", "TMPDIR": str(workdir / "tmp"), "GRADIO_TEMP_DIR": str(workdir / "tmp" / "gradio"),
    }  # fmt: skip
    messages: list[str] = []
    seen_surfaces: dict[str, str] = {}
    with app_process(workdir, env) as app:
        session = Client(app.url, verbose=False, download_files=False)
        # A generation with a reference upload, a sequence of two, with the server's key.
        upload = reference_png(tmp_path)
        results, _, status = session.predict(
            **inputs("a private picture", image=[{"image": handle_file(upload), "caption": None}],
                     sequential_image_generation="auto"), api_name="/generate",
        )  # fmt: skip
        assert status.startswith("✓ 2 images")
        downloads = [httpx.get(item["image"]["url"], timeout=10) for item in results]
        assert all(response.status_code == 200 for response in downloads)
        for response in downloads:
            assert find_secrets(response.content) == []
        # The zip (built when "Download all" is clicked, not by /generate) is checked in the browser tests; its
        # request.json comes from outputs.request_record, which has no key field (tests/test_outputs.py).

        # Errors of every kind: the API's, the network's, and keys a visitor typed.
        for faults, fields in [
            (["400"], {}), (["401"], {}), (["503", "503"], {}), (["not-json"], {}), (["drop"], {}), (["hang"], {}),
            ([], {"api_key": VISITOR_KEY}), ([], {"api_key": SPACED_KEY}),
        ]:  # fmt: skip
            keyed_stub.queue_faults(faults)
            with pytest.raises(AppError) as caught:
                session.predict(**inputs("an error, please", **fields), api_name="/generate")
            messages.append(str(caught.value))
        session.close()
        assert find_secrets("\n".join(messages)) == [], messages
        assert "The API key was rejected (401)" in messages[6]  # the visitor's key reached the API ...
        assert keyed_stub.requests()[-1]["api_key"] == VISITOR_KEY  # ... and was the one used
        assert "spaces, line breaks or non-ASCII" in messages[7]

        # Every page and schema route the app serves.
        spec = httpx.get(f"{app.url}openapi.json", timeout=10).json()
        routes = [p for p, ops in spec["paths"].items() if "get" in ops and "{" not in p and p not in SKIPPED_ROUTES]
        assert {"/", "/config", "/gradio_api/info", "/gradio_api/openapi.json"} <= set(routes)
        for route in [*routes, "/gradio_api/info?all_endpoints=true", "/openapi.json"]:
            response = httpx.get(app.url.rstrip("/") + route, timeout=10)
            seen_surfaces[route] = response.text
        assert {route: find_secrets(text) for route, text in seen_surfaces.items() if find_secrets(text)} == {}
        assert find_secrets(app.log()) == []
        # While running, nothing on disk holds a key either (result folders, Gradio's cache, the log).
        assert {str(p): find_secrets(p.read_bytes()) for p in files_under(workdir) if find_secrets(p.read_bytes())} == {}
        private = [p for p in files_under(workdir / "tmp") if p.name not in EXAMPLE_ASSETS]
        assert any(p.name == "my-private-sketch.png" for p in private)  # the check below looks where files are
        assert sum(p.suffix == ".jpg" for p in private) >= 2  # the two results of the sequence

    # Stopped (SIGTERM, as `docker stop` or a Space restart does): the log holds no key and no traceback, and
    # no uploaded or generated file is left on disk.
    log = (workdir / "app.log").read_text()
    assert find_secrets(log) == [] and "Traceback" not in log
    left = [str(p.relative_to(workdir)) for p in files_under(workdir / "tmp") if p.name not in EXAMPLE_ASSETS]
    assert left == []


class EchoGateway:
    """A gateway that answers errors by echoing the request's headers, Authorization included."""

    def __init__(self) -> None:
        async def generate(request: Request) -> Any:
            headers = dict(request.headers)
            if "x-plain" in headers or request.query_params.get("plain"):
                return PlainTextResponse(f"bad gateway; Authorization: {headers.get('authorization')}", status_code=502)
            echoed = f"Authorization: {headers.get('authorization')}; all headers: {headers}"
            return JSONResponse({"message": f"Unauthorized request. {echoed}"}, status_code=400)

        app = Starlette(routes=[Route("/v3/seedream-4.5", generate, methods=["POST"])])
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, port=self.port, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> EchoGateway:
        self.thread.start()
        while not self.server.started:
            threading.Event().wait(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(5)


def test_a_gateway_that_echoes_the_key_back_does_not_get_it_shown(caplog: pytest.LogCaptureFixture) -> None:
    with EchoGateway() as gateway:
        for url in (f"http://127.0.0.1:{gateway.port}/v3/seedream-4.5",
                    f"http://127.0.0.1:{gateway.port}/v3/seedream-4.5?plain=1"):  # fmt: skip
            settings = Settings(api_key=SERVER_KEY, api_url=url, max_retries=0)
            with running_app(settings) as running:
                session = Client(running.url, verbose=False, download_files=False)
                with pytest.raises(AppError) as caught:
                    session.predict(**inputs("echo"), api_name="/generate")
                session.close()
            message = str(caught.value)
            assert "authorization" in message.lower()  # the gateway's echo is shown ...
            assert find_secrets(message) == [], message  # ... with the key blanked out
    assert find_secrets(caplog.text) == []


# ============================================================================================================
# Sessions: keys and files stay in their own session
# ============================================================================================================


@pytest.fixture(scope="module")
def open_stub() -> Iterator[StubServer]:
    """Accepts any key and records it; a little latency so that two sessions' requests overlap."""
    with StubServer(StubConfig(api_key=None, latency=0.4)) as server:
        yield server


@pytest.fixture(scope="module")
def preview_app(open_stub: StubServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppProcess, Path]]:
    """Offline preview (no server key): visitors without a key get the built-in stand-in, visitors with a key
    go to SEEDREAM_API_URL, here our recording stand-in."""
    workdir = tmp_path_factory.mktemp("preview-app")
    gradio_dir = workdir / "gradio-cache"
    env = {"SEEDREAM_API_URL": open_stub.url, "GRADIO_TEMP_DIR": str(gradio_dir), "TMPDIR": str(workdir)}
    with app_process(workdir, env) as app:
        yield app, gradio_dir


@pytest.mark.browser
def test_two_browsers_with_their_own_keys_each_send_only_their_own_and_keep_none(
    preview_app: tuple[AppProcess, Path], open_stub: StubServer, browser: Browser
) -> None:
    from playwright.sync_api import expect

    app, _ = preview_app
    open_stub.reset()
    keys = {"alice": "sk-alice-SECRET-a1a1a1", "bob": "sk-bob-SECRET-b2b2b2"}
    pages = {}
    try:
        for name, key in keys.items():
            page = browser.new_context().new_page()  # a context each: separate cookies, storage, sessions
            page.goto(app.url)
            page.fill("#size textarea, #size input", SMALL)
            page.locator("#advanced").get_by_text("Advanced settings").click()
            page.fill("#api-key input, #api-key textarea", key)
            pages[name] = page
        shown: dict[str, str | None] = {name: None for name in pages}
        for round_ in (1, 2):  # both in flight together, twice
            for name, page in pages.items():
                page.fill("#prompt textarea", f"{name} round {round_}")
                page.click("#generate")
            for name, page in pages.items():
                result = page.locator("#results img").first
                if shown[name] is None:
                    expect(result).to_be_visible(timeout=20_000)
                else:
                    expect(result).not_to_have_attribute("src", shown[name], timeout=20_000)
                shown[name] = result.get_attribute("src")
        for name, page in pages.items():
            # Nothing in the browser keeps the key: not local/session storage, not Gradio's run history.
            stored = page.evaluate("() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])")
            assert keys[name] not in stored
            runs = page.context.new_page()
            runs.goto(f"{app.url}gradio_api/runs")
            runs.wait_for_load_state("networkidle")
            assert keys[name] not in runs.content()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"secrets-{name}.png"), full_page=True)
    finally:
        for page in pages.values():
            page.context.close()

    records = open_stub.requests()
    assert len(records) == 4 and all(record["status"] == 200 for record in records)
    for record in records:
        owner = record["body"]["prompt"].split()[0]
        assert record["api_key"] == keys[owner]
    # Both sessions sent round 1 before either sent round 2: their generations were in flight side by side
    # (ordering, not a time bound, which a busy machine would break).
    order = [record["body"]["prompt"] for record in sorted(records, key=lambda record: record["time"])]
    assert {prompt.split()[2] for prompt in order[:2]} == {"1"}


def test_a_visitor_without_a_key_stays_on_the_built_in_preview(
    preview_app: tuple[AppProcess, Path], open_stub: StubServer
) -> None:
    app, _ = preview_app
    open_stub.reset()
    session = Client(app.url, verbose=False, download_files=False)
    _, _, status = session.predict(**inputs("no key of my own"), api_name="/generate")
    session.close()
    assert status.startswith("✓")
    assert open_stub.requests() == []  # the built-in stand-in answered, with its own random key


def test_files_of_one_session_cannot_be_fetched_by_guessing_from_another(
    preview_app: tuple[AppProcess, Path], tmp_path: Path
) -> None:
    app, gradio_dir = preview_app
    alice = Client(app.url, verbose=False, download_files=False)
    upload = reference_png(tmp_path)
    results, _, _ = alice.predict(
        **inputs("alice's picture", image=[{"image": handle_file(upload), "caption": None}]), api_name="/generate"
    )
    alice.close()
    result_url = results[0]["image"]["url"]
    result_path = Path(results[0]["image"]["path"])
    def fetch(path: object) -> httpx.Response:
        return httpx.get(f"{app.url}gradio_api/file={path}", timeout=10)

    # Results are served from their own folder inside Gradio's cache, named with 128 random bits; uploads from a
    # folder named with a 256-bit keyed hash of their content.
    assert gradio_dir in result_path.parents
    assert len(result_path.parent.name.rsplit("-", 1)[1]) == 32
    content = httpx.get(result_url, timeout=10).content
    uploaded = [p for p in files_under(gradio_dir) if p.name == "my-private-sketch.png"]
    assert len(uploaded) == 1 and len(uploaded[0].parent.name) == 64

    # Another visitor (no session, no cookies) trying to guess:
    guesses = [
        gradio_dir,  # a listing of the cache
        result_path.parent,  # a listing of the folder
        gradio_dir / result_path.name,  # the name without the hash
        gradio_dir / hashlib.sha256(content).hexdigest() / result_path.name,  # the plain hash of the bytes
        gradio_dir / ("0" * 64) / result_path.name,
        gradio_dir / "my-private-sketch.png",
        Path(app.log_path),  # a file of the app outside the cache
        Path(app.log_path).parent / "seedream-ui-*",
        "/etc/passwd",
        f"{gradio_dir}/../app.log",
    ]
    answers = {str(guess): fetch(guess).status_code for guess in guesses}
    assert all(status in (403, 404) for status in answers.values()), answers
    # Whoever holds the exact URL can fetch it (Gradio does not bind files to sessions): it is a capability.
    assert httpx.get(result_url, timeout=10).status_code == 200

    # And another session gets only its own results, never alice's files.
    bob = Client(app.url, verbose=False, download_files=False)
    bob_results, _, _ = bob.predict(**inputs("bob's picture"), api_name="/generate")
    bob.close()
    assert [item["image"]["url"] for item in bob_results] != [item["image"]["url"] for item in results]
