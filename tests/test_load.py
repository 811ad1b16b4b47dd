"""50 concurrent sessions through gradio_client against `python app.py`, with the stand-in adding 1 s of latency.

Every session must succeed with its own images (the stand-in marks each image with its request's id and
prompt: no cross-session mix-up). How long they took (wall time, overlap, CPU) and the app's peak memory are
recorded, not asserted: on a shared 2-core machine a time bound fails for reasons of its own; bench/ measures.
Figures go to test-artifacts/load.json; docs/reliability.md quotes them. The soak run is bench/soak.py.
The purge of old results (not every generation rescanning every result folder) is tested in test_ui_handlers.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_client import Client

from seedream_ui.stub_api import read_marker
from tests.support import (
    ARTIFACTS,
    AppProcess,
    app_process,
    free_port,
    generate_inputs,
    wait_until_up,
)

SESSIONS = 50
LATENCY = 1.0  # seconds the stand-in waits before answering each generation
KEY = "sk-load-SECRET-3b8e"


@dataclass(frozen=True)
class Outcome:
    session: int
    prompt: str
    seconds: float
    images: list[dict[str, Any]]
    status: str


@dataclass(frozen=True)
class StandIn:
    base: str
    pid: int


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    """The stand-in in its own process, as an operator would run it, so its drawing does not share our GIL."""
    port = free_port()
    log = tmp_path_factory.mktemp("load-stub") / "stub.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "seedream_ui.stub_api", "--port", str(port), "--api-key", KEY,
             "--latency", str(LATENCY)],
            cwd=Path(__file__).resolve().parent.parent, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/_stub/requests", timeout=30)
        yield StandIn(base, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.fixture(scope="module")
def app(stand_in: StandIn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppProcess]:
    env = {
        "SEEDREAM_API_URL": f"{stand_in.base}/v3/seedream-4.5",
        "SEEDREAM_API_KEY": KEY,
        "SEEDREAM_MAX_RETRIES": "0",
    }
    with app_process(tmp_path_factory.mktemp("load-app"), env) as running:
        yield running


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, all threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_kb(pid: int) -> dict[str, int]:
    """Current and peak resident memory of a process, from /proc (Linux)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


def run_session(client: Client, session: int, prompt: str) -> Outcome:
    started = time.perf_counter()
    images, _, status = client.predict(**generate_inputs(prompt), api_name="/generate")
    return Outcome(session, prompt, time.perf_counter() - started, images, status)


def connect(url: str) -> Client:
    return Client(url, verbose=False, download_files=False, httpx_kwargs={"timeout": 120})


def test_fifty_concurrent_sessions_each_get_their_own_images_in_about_one_latency(
    app: AppProcess, stand_in: StandIn
) -> None:
    prompts = [f"load session {index:02} {uuid.uuid4().hex[:8]}" for index in range(SESSIONS)]
    pids = {"app": app.process.pid, "stand_in": stand_in.pid, "clients": os.getpid()}
    with ThreadPoolExecutor(SESSIONS) as pool:
        # Connecting is not part of the measurement: a visitor's page is already open when they click.
        # Eight at a time and with a patient timeout: fifty config downloads at once on a busy 2-core machine
        # outlasted httpx's 5 s default (a client's failure to connect is not what this test measures).
        with ThreadPoolExecutor(8) as connecting:
            clients = list(connecting.map(lambda _: connect(app.url), range(SESSIONS)))
        warm = run_session(clients[0], -1, "warm-up")  # the first generation pays for lazy imports
        assert warm.status.startswith("✓")
        clients[0].reset_session()
        httpx.delete(f"{stand_in.base}/_stub/requests")
        before = memory_kb(app.process.pid)
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}

        started = time.perf_counter()
        outcomes = list(pool.map(run_session, clients, range(SESSIONS), prompts))
        wall = time.perf_counter() - started
        cpu = {name: round(cpu_seconds(pid) - cpu_before[name], 2) for name, pid in pids.items()}
        after = memory_kb(app.process.pid)
        for client in clients:
            pool.submit(client.close)

    seen = httpx.get(f"{stand_in.base}/_stub/requests").json()["requests"]
    arrivals = sorted(record["time"] for record in seen)
    figures = {
        "sessions": SESSIONS,
        "latency_s": LATENCY,
        "wall_s": round(wall, 2),
        "arrival_spread_s": round(arrivals[-1] - arrivals[0], 2),
        "session_seconds": {
            "min": round(min(o.seconds for o in outcomes), 2),
            "median": round(sorted(o.seconds for o in outcomes)[SESSIONS // 2], 2),
            "max": round(max(o.seconds for o in outcomes), 2),
        },
        # Where the time beyond one latency goes on this machine: CPU work, shared by 2 cores.
        "cpu_s": cpu,
        "app_rss_mb_before": round(before["VmRSS"] / 1024, 1),
        "app_rss_mb_after": round(after["VmRSS"] / 1024, 1),
        "app_peak_rss_mb": round(after["VmHWM"] / 1024, 1),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "load.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures), file=sys.stderr)

    # Every session succeeded, once, with its own image.
    by_id = {record["id"]: record for record in seen}
    assert len(seen) == SESSIONS and all(record["status"] == 200 for record in seen)
    assert sorted(record["body"]["prompt"] for record in seen) == sorted(prompts)
    with httpx.Client(timeout=30) as http:
        for outcome in outcomes:
            assert outcome.status.startswith("✓ 1 image")
            assert len(outcome.images) == 1
            marker = read_marker(http.get(outcome.images[0]["image"]["url"]).content)
            assert marker is not None
            assert marker["prompt"] == outcome.prompt  # drawn for this session's request ...
            assert by_id[marker["request_id"]]["body"]["prompt"] == outcome.prompt  # ... which this session sent
    assert len({outcome.images[0]["image"]["url"] for outcome in outcomes}) == SESSIONS
