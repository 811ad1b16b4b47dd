"""A hostile visitor with nothing but HTTP, against the real `python app.py` (issue 8).

Each test is one attack from the issue, sent over raw HTTP (httpx) to Gradio's routes, asserting what the
visitor and the operator observe: the answer's status and message, what the API received, the disk, the log.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from seedream_ui.stub_api import StubServer
from tests.support import ARTIFACTS, AppProcess, app_process, generate_inputs
from tests.waiting import wait_for

API = "gradio_api/"
JSON_CAP = 1024 * 1024
EXAMPLE_ASSETS = {"teapot-sketch.png", "palette.png"}  # what the guard allows a JSON body (seedream_ui.server.guard.JSON_BODY_LIMIT)


def hostile_env(tmp: Path, stub: StubServer, **settings: str) -> dict[str, str]:
    """The app against the test's stand-in, with its temporary files where the test can see them."""
    (tmp / "gradio").mkdir(exist_ok=True)
    (tmp / "tmp").mkdir(exist_ok=True)
    return {
        "SEEDREAM_API_URL": stub.url,
        "SEEDREAM_API_KEY": "sk-hostile-test",
        "SEEDREAM_MAX_RETRIES": "0",
        "GRADIO_TEMP_DIR": str(tmp / "gradio"),
        "TMPDIR": str(tmp / "tmp"),
    } | settings


def files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


def fn_index(app: AppProcess, api_name: str) -> int:
    config = httpx.get(app.url + "config", timeout=30).json()
    return next(d["id"] for d in config["dependencies"] if d.get("api_name") == api_name)


def call_generate(app: AppProcess, **fields: Any) -> httpx.Response:
    return httpx.post(app.url + API + "call/generate", json={"data": list(generate_inputs(**fields).values())},
                      timeout=60)


def read_events(app: AppProcess, event_id: str, timeout: float = 120) -> str:
    return httpx.get(f"{app.url}{API}call/generate/{event_id}", timeout=timeout).text


def read_until_gone(app: AppProcess, event_id: str) -> None:
    """A visitor's event stream that the app ends when it stops."""
    with contextlib.suppress(httpx.HTTPError):
        read_events(app, event_id, timeout=30)


def upload(app: AppProcess, files: list[tuple[str, bytes]], visitor: str = "127.0.0.1") -> httpx.Response:
    return httpx.post(
        app.url + API + "upload",
        files=[("files", (name, data, "image/png")) for name, data in files],
        # uvicorn takes the client address from X-Forwarded-For when the peer is 127.0.0.1 (its trusted proxy
        # by default), as behind a reverse proxy: so one test machine can act as several visitors.
        headers={"X-Forwarded-For": visitor},
        timeout=120,
    )


def detail(response: httpx.Response) -> str:
    return str(response.json()["detail"])


# ============================================================================================================
# One app with small limits for the quick attacks
# ============================================================================================================


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, stub_server: StubServer) -> Iterator[AppProcess]:
    tmp = tmp_path_factory.mktemp("hostile")
    env = hostile_env(tmp, stub_server, SEEDREAM_CONCURRENCY="1", SEEDREAM_QUEUE_MAX="1",
                      SEEDREAM_READ_TIMEOUT="3", SEEDREAM_MAX_UPLOAD_MB="1", SEEDREAM_UPLOAD_QUOTA_MB="2",
                      SEEDREAM_UPLOADS_PER_MINUTE="5")
    with app_process(tmp, env) as running:
        yield running


def test_direct_runs_of_generate_are_refused_naming_the_queue(app: AppProcess, stub: StubServer) -> None:
    # Issue: 20 of these at once all reached the API although SEEDREAM_CONCURRENCY=2.
    body = {"data": list(generate_inputs().values())}
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: httpx.post(app.url + API + "run/generate", json=body, timeout=60),
                                range(20)))
    by_index = httpx.post(app.url + API + "run/predict", json=body | {"fn_index": fn_index(app, "generate")},
                          timeout=60)

    assert {a.status_code for a in answers} == {403}
    assert "POST /gradio_api/call/generate" in detail(answers[0]) and "gradio_client" in detail(answers[0])
    assert by_index.status_code != 200
    assert stub.requests() == []
    # The queued way still works.
    queued = call_generate(app)
    assert queued.status_code == 200
    assert "event: complete" in read_events(app, queued.json()["event_id"])
    assert len(stub.requests()) == 1


def test_a_full_queue_says_the_demo_is_busy(app: AppProcess, stub: StubServer) -> None:
    stub.queue_faults(["hang", "hang"])  # each held until the app's 3 s read timeout
    running = call_generate(app)
    wait_for(lambda: len(stub.requests()) == 1, timeout=60)
    waiting = call_generate(app)  # the one place in the queue (SEEDREAM_QUEUE_MAX=1)
    refused = call_generate(app)

    assert running.status_code == waiting.status_code == 200
    assert refused.status_code == 503
    assert detail(refused) == "The demo is busy; try again in a minute."
    for answer in (running, waiting):  # let both end before the next test
        read_events(app, answer.json()["event_id"])


def test_a_huge_queue_join_is_refused_before_it_is_read(app: AppProcess) -> None:
    # Issue: a 200 MB join body was accepted. This one is valid JSON, 20 times the cap.
    prompt = "x" * (20 * JSON_CAP)
    body = {"data": list(generate_inputs(prompt).values()), "fn_index": fn_index(app, "generate"),
            "session_hash": "hostile-big"}
    answer = httpx.post(app.url + API + "queue/join", json=body, timeout=60)
    assert answer.status_code == 413
    assert detail(answer) == "This request is too large: the limit is 1 MB."


def test_a_live_hint_with_a_5_mb_prompt_is_refused(app: AppProcess) -> None:
    # Issue: the private live-hint handlers (queue=False, run at once) accepted 100 MB prompts.
    body = {"data": ["word " * (1024 * 1024)], "fn_index": fn_index(app, "prompt_hint"), "session_hash": "h"}
    answer = httpx.post(app.url + API + "run/predict", json=body, timeout=60)
    assert answer.status_code == 413
    assert "too large" in detail(answer)
    # An ordinary prompt still gets its hint.
    small = httpx.post(app.url + API + "run/predict", json=body | {"data": ["a fox"]}, timeout=60)
    assert small.status_code == 200 and "words" in json.dumps(small.json()["data"])


def test_one_visitor_cannot_fill_the_disk_with_uploads(app: AppProcess) -> None:
    # Issue: anonymous uploads filled 1.2 GB in 6 s. Quota here: 2 MB per address at once.
    answers = [upload(app, [(f"big-{i}.png", os.urandom(900_000))], visitor="198.51.100.1") for i in range(4)]
    other = upload(app, [("other.png", os.urandom(900_000))], visitor="198.51.100.2")

    assert [a.status_code for a in answers[:2]] == [200, 200]
    assert answers[3].status_code == 429
    assert "Your uploads on this server have reached 2 MB" in detail(answers[3])
    assert other.status_code == 200  # another visitor is not affected
    stored = sum(path.stat().st_size for path in files_under(app_temp(app)))
    assert stored <= 4 * 900_000  # two of the first visitor's files, the other visitor's, and at most one more


def test_uploads_are_rate_limited_per_visitor(app: AppProcess) -> None:
    answers = [upload(app, [(f"tiny-{i}.png", os.urandom(100))], visitor="198.51.100.3") for i in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert detail(answers[5]) == ("Too many uploads from your address: at most 5 a minute. "
                                  "Please wait a minute and try again.")


def app_temp(app: AppProcess) -> Path:
    return app.log_path.parent / "gradio"


def test_monitoring_is_off_and_its_key_never_logged(app: AppProcess) -> None:
    answer = httpx.get(app.url + "monitoring", timeout=30)
    assert answer.status_code == 403
    assert "monitoring/" not in app.log()  # Gradio printed the dashboard's secret URL for anyone who asked


def test_routes_of_gradio_features_the_demo_does_not_use_are_closed(app: AppProcess) -> None:
    # deep_link would write the session's components to disk on every call; dev/reload would stream forever.
    for route in ("deep_link?session_hash=anyone", "dev/reload"):
        answer = httpx.get(app.url + API + route, timeout=30)
        assert answer.status_code == 404, route
        assert answer.json() == {"detail": "Not found."}


class Listener:
    """A local HTTP server that records every request it gets (it must get none)."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()
                self.wfile.write(b"\x89PNG\r\n\x1a\n")

            do_CONNECT = do_GET

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_file_record_naming_a_url_is_never_fetched(tmp_path: Path, stub: StubServer) -> None:
    # Gradio downloads a file record whose `path` is a URL (public hosts; huggingface.co even without checks).
    # The listener is the app's HTTP proxy, so any such download, to any host, would reach it.
    listener = Listener()
    env = hostile_env(tmp_path, stub, HTTP_PROXY=listener.url, HTTPS_PROXY=listener.url,
                      NO_PROXY="127.0.0.1,localhost")
    remote = {"path": "http://huggingface.co/ref.png", "meta": {"_type": "gradio.FileData"}}
    try:
        with app_process(tmp_path, env) as running:
            via_call = call_generate(running, image=[{"image": remote, "caption": None}])
            references = fn_index(running, "on_references")
            via_hint = httpx.post(
                running.url + API + "run/predict",
                json={"data": [[{"image": remote, "caption": None}], [], "", "disabled", 1],
                      "fn_index": references, "session_hash": "ssrf"},
                timeout=60,
            )
            if via_call.status_code == 200:  # the old code queued it: let it run to the end
                read_events(running, via_call.json()["event_id"])
    finally:
        listener.close()

    assert via_call.status_code == 400 and via_hint.status_code == 400
    assert "never fetches a URL" in detail(via_call)
    assert listener.requests == []
    assert stub.requests() == []


def test_bad_requests_cost_one_log_line_each_and_no_traceback(app: AppProcess) -> None:
    earlier = app.log()
    before = earlier.count("\n")

    def generate_reported() -> bool:
        # Gradio's message for the wrong input count, whole or as a traceback's last line: the queue's worker
        # writes it after the visitor's stream has ended, so the answers alone do not say the log is complete.
        return "An event handler (generate) didn't receive enough input values" in app.log()[len(earlier):]

    bad = [
        httpx.post(app.url + API + "call/generate", json={"data": [1, 2]}, timeout=30),
        httpx.post(app.url + API + "queue/join", json={"data": [], "fn_index": 999, "session_hash": "b"},
                   timeout=30),
        httpx.post(app.url + API + "run/predict", json={"data": [{"x": 1}, 2], "fn_index": 6,
                                                         "session_hash": "b"}, timeout=30),
    ]
    for answer in bad:
        if answer.status_code == 200 and "event_id" in answer.text:
            httpx.get(f"{app.url}{API}call/generate/{answer.json()['event_id']}", timeout=60)
    wait_for(generate_reported)
    log = app.log()

    assert "Traceback" not in log
    assert log.count("\n") - before <= len(bad)
    assert all("Traceback" not in a.text and 'File "' not in a.text for a in bad)


# ============================================================================================================
# Stopping with generations in flight
# ============================================================================================================


# An open event stream used to hold the stop for uvicorn's ~5 s of graceful shutdown. Measured against an idle app's
# stop in the same test, not a fixed time: on a loaded machine any stop takes longer (2.2 s seen at load 15).
IN_FLIGHT_ALLOWANCE_S = 2.0


def stop_seconds(process: subprocess.Popen[bytes]) -> float:
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    return time.monotonic() - started


def test_stopping_with_generations_in_flight_is_quick_and_leaves_no_files(tmp_path: Path, stub: StubServer) -> None:
    idle_dir = tmp_path / "idle"
    idle_dir.mkdir()
    with app_process(idle_dir, hostile_env(idle_dir, stub)) as idle:
        idle_stop = stop_seconds(idle.process)

    stub.queue_faults(["hang", "hang"])
    with app_process(tmp_path, hostile_env(tmp_path, stub)) as running:
        png = tmp_path / "ref.png"
        Image.new("RGB", (64, 64), (10, 200, 30)).save(png)
        [path] = upload(running, [("ref.png", png.read_bytes())]).json()
        reference = [{"image": {"path": path, "meta": {"_type": "gradio.FileData"}}, "caption": None}]
        streams = []
        for _ in range(2):
            event = call_generate(running, image=reference).json()["event_id"]
            streams.append(threading.Thread(target=read_until_gone, args=(running, event), daemon=True))
            streams[-1].start()
        wait_for(lambda: len(stub.requests()) == 2, timeout=60)
        assert Path(path).exists()  # the upload is there while they run
        took = stop_seconds(running.process)

    assert took < idle_stop + IN_FLIGHT_ALLOWANCE_S, f"stopping took {took:.1f} s, an idle app {idle_stop:.1f} s"
    assert not Path(path).exists()
    # What Gradio copied of the page's own examples at start-up may stay; nothing a visitor sent.
    assert {p.name for p in files_under(tmp_path / "gradio")} <= EXAMPLE_ASSETS
    assert files_under(tmp_path / "tmp") == []  # results and their folders


# ============================================================================================================
# The bystander: three visitors with heavy references, one visitor who only wants the page
# ============================================================================================================

HEAVY_SIDE = 10_950  # ~120 MP of one colour: a PNG of a few hundred KB
PAGE_PATIENCE_S = 30.0  # a bystander who waited this long has long given up
# Decoding on the event loop kept the page waiting 33-84 s; off it, the page comes in ~0.1 s on a quiet machine
# and up to ~4 s at load 15. Measured against the idle page in the same test: a fixed time fails on a busy machine.
BYSTANDER_ALLOWANCE_S = 8.0


def page_seconds(running: AppProcess) -> float:
    started = time.monotonic()
    assert httpx.get(running.url, timeout=PAGE_PATIENCE_S).status_code == 200
    return time.monotonic() - started


@pytest.fixture(scope="module")
def heavy_png(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("heavy") / "heavy.png"
    Image.new("RGB", (HEAVY_SIDE, HEAVY_SIDE), (200, 120, 40)).save(path, compress_level=9)
    return path.read_bytes()


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc/<pid>/status")


def test_a_bystander_gets_the_page_while_three_visitors_send_heavy_references(
    tmp_path: Path, heavy_png: bytes
) -> None:
    with app_process(tmp_path, {"GRADIO_TEMP_DIR": str(tmp_path / "gradio")}) as running:  # offline preview

        def heavy_visitor(number: int) -> str:
            visitor = f"203.0.113.{number}"
            paths = upload(running, [(f"heavy-{i}.png", heavy_png) for i in range(14)], visitor).json()
            references = [{"image": {"path": p, "meta": {"_type": "gradio.FileData"}}, "caption": None}
                          for p in paths]
            event = call_generate(running, image=references).json()["event_id"]
            return read_events(running, event, timeout=300)

        idle = [page_seconds(running) for _ in range(3)]  # the same page with nobody else on the app
        waits: list[float] = []
        with ThreadPoolExecutor(3) as pool:
            visitors = [pool.submit(heavy_visitor, n) for n in range(1, 4)]
            while not all(v.done() for v in visitors):
                started = time.monotonic()
                try:
                    status = httpx.get(running.url, timeout=PAGE_PATIENCE_S).status_code
                except httpx.TimeoutException:
                    status = None  # the page never came: recorded as the full patience
                waits.append(time.monotonic() - started)
                assert status in (200, None)
                time.sleep(0.2)
            outcomes = [v.result() for v in visitors]
        peak = peak_rss_mb(running.process.pid)

    assert all("event: complete" in o or "event: error" in o for o in outcomes)
    seen = f"the page took up to {max(waits):.1f} s (of {len(waits)} tries); the app peaked at {peak:.0f} MB"
    ARTIFACTS.mkdir(exist_ok=True)  # the figures, for docs/reliability.md
    (ARTIFACTS / "bystander.json").write_text(json.dumps({"page_waits_s": waits, "peak_rss_mb": peak}))
    assert max(waits) < max(idle) + BYSTANDER_ALLOWANCE_S, f"{seen}; idle, up to {max(idle):.1f} s"
    assert peak < 1500, seen
