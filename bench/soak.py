"""Soak run: `python app.py` under steady traffic for a few minutes; prints memory over time, says if it grows.

    python bench/soak.py                          # 3 minutes, 8 steady sessions, 0.2 s API latency
    python bench/soak.py --minutes 10 --sessions 16
    python bench/soak.py --new-visitor-every 20   # sessions also start over: measures memory per visitor

Not part of the test run (it takes minutes). It starts the stand-in API in this process and the app as a
subprocess exactly as users run it, then keeps `--sessions` gradio_client sessions generating (every fifth
request with a reference upload, every seventh a sequence of two, every eleventh answered by an injected 503).
Every `--interval` seconds it prints the app's resident memory, its temporary files, and the counts so far.

With `--new-visitor-every N` each session starts over as a new visitor every N generations. Gradio keeps a
SessionState per visitor (about 90 KB here) until its `state_session_capacity` (10,000) pushes the oldest out,
so memory then grows with the number of visitors by design; the run reports the cost per new visitor.

Verdict: after a warm-up (the first quarter), the least-squares slope of resident memory must stay under
`--max-slope` MB per minute and the last quarter's median within `--max-growth` MB of the second quarter's.
Two of Gradio's own records fill up slowly and then stop: its event analytics (the last 10,000 events, about
2 KB each) and its set of cached files (emptied as delete_cache removes files older than 6 hours). In a run of
minutes they show as a slope of 2-3 MB/min that flattens after ~10,000 events; `--analytics-max-events 200`
(GRADIO_ANALYTICS_MAX_EVENTS for the app) caps the first to show what is left.
Exit status 0 when memory does not grow, 1 when it does, 2 when generations failed unexpectedly.
Results also go to bench/results/soak.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

from seedream_ui.stub_api import StubConfig, StubServer  # noqa: E402

KEY = "sk-soak-not-a-real-key"
MAX_MINUTES = 60.0  # bounded on purpose: a soak that never ends is a hang


@dataclass
class Counts:
    generations: int = 0
    new_visitors: int = 0
    expected_errors: int = 0  # the injected 503s
    unexpected_errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, outcome: str, detail: str = "") -> None:
        with self.lock:
            if outcome == "ok":
                self.generations += 1
            elif outcome == "visitor":
                self.new_visitors += 1
            elif outcome == "expected":
                self.expected_errors += 1
            else:
                self.unexpected_errors.append(detail[:200])


@dataclass(frozen=True)
class Sample:
    elapsed_s: float
    generations: int
    errors: int
    rss_mb: float
    peak_rss_mb: float
    temp_files: int
    temp_mb: float


def rss_mb(pid: int) -> tuple[float, float]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(value.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def disk_usage(folder: Path) -> tuple[int, float]:
    """Files and MB under `folder`; files the app deletes while we count are skipped."""
    count, total = 0, 0
    for directory, _, names in os.walk(folder):
        for name in names:
            try:
                total += os.stat(os.path.join(directory, name)).st_size
            except FileNotFoundError:
                continue
            count += 1
    return count, total / 1e6


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app(
    workdir: Path, api_url: str, concurrency: int, analytics_max_events: int | None
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    tmp = workdir / "tmp"
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEEDREAM_")} | {
        "GRADIO_SERVER_PORT": str(port),
        "SEEDREAM_API_URL": api_url,
        "SEEDREAM_API_KEY": KEY,
        "SEEDREAM_CONCURRENCY": str(max(concurrency, 16)),
        "SEEDREAM_MAX_RETRIES": "0",  # an injected 503 is an error the visitor sees, counted as expected
        "TMPDIR": str(tmp),  # the app's result folders and Gradio's cache, where we can measure them
        "GRADIO_TEMP_DIR": str(tmp / "gradio"),
        "PYTHONUNBUFFERED": "1",
    }
    if analytics_max_events:
        env["GRADIO_ANALYTICS_MAX_EVENTS"] = str(analytics_max_events)
    log = open(workdir / "app.log", "wb")  # noqa: SIM115 - lives as long as the process
    process = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=workdir, env=env, stdout=log,
                               stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.3)
    process.kill()
    raise SystemExit(f"The app did not start; see {workdir / 'app.log'}")


def session_loop(
    url: str, stub: StubServer, reference: str, stop: threading.Event, counts: Counts, n: int, new_visitor_every: int
) -> None:
    client = Client(url, verbose=False, download_files=False)
    step = 0
    try:
        while not stop.is_set():
            step += 1
            if new_visitor_every and step % new_visitor_every == 0:
                client.reset_session()
                counts.add("visitor")
            fault = step % 11 == 0
            if fault:
                stub.queue_faults(["503"])
            try:
                client.predict(
                    prompt=f"soak session {n} step {step}", size="1920x1920",
                    image=[{"image": handle_file(reference), "caption": None}] if step % 5 == 0 else [],
                    image_urls="", watermark=True, optimize_prompt_mode="standard",
                    sequential_image_generation="auto" if step % 7 == 0 else "disabled", max_images=2, api_key="",
                    api_name="/generate",
                )  # fmt: skip
            except AppError as exc:
                # Another session may take the queued 503 first: any 503 message counts as the injected one.
                counts.add("expected" if "(503)" in str(exc) else "unexpected", str(exc))
            else:
                counts.add("ok")
    finally:
        client.close()


def slope_per_minute(samples: list[Sample]) -> float:
    xs = [s.elapsed_s / 60 for s in samples]
    ys = [s.rss_mb for s in samples]
    if len(xs) < 2 or max(xs) == min(xs):
        return 0.0
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    num = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    den = sum((x - mean_x) ** 2 for x in xs)
    return num / den


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0, help=f"how long to run (at most {MAX_MINUTES:.0f})")
    parser.add_argument("--sessions", type=int, default=8, help="concurrent gradio_client sessions")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds the stand-in waits per request")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between memory samples")
    parser.add_argument("--max-slope", type=float, default=3.0, help="MB per minute allowed after warm-up")
    parser.add_argument("--max-growth", type=float, default=25.0, help="MB allowed between 2nd and 4th quarter")
    parser.add_argument("--new-visitor-every", type=int, default=0, help="generations per visitor (0: never)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (app log, temp files)")
    parser.add_argument("--analytics-max-events", type=int, default=None,
                        help="cap Gradio's in-memory event analytics (default: Gradio's 10,000)")  # fmt: skip
    args = parser.parse_args(argv)
    minutes = min(max(args.minutes, 0.5), MAX_MINUTES)

    workdir = Path(tempfile.mkdtemp(prefix="seedream-soak-"))
    reference = workdir / "reference.png"
    Image.new("RGB", (640, 480), (40, 120, 200)).save(reference)
    counts = Counts()
    samples: list[Sample] = []
    stop = threading.Event()
    with StubServer(StubConfig(api_key=KEY, latency=args.latency)) as stub:
        process, url = start_app(workdir, stub.url, args.sessions, args.analytics_max_events)
        churn = f", a new visitor every {args.new_visitor_every}" if args.new_visitor_every else ", steady visitors"
        print(f"soak: {minutes:g} min, {args.sessions} sessions{churn}, latency {args.latency} s, app pid {process.pid}")
        print(f"{'elapsed':>8} {'gens':>6} {'errors':>6} {'rss MB':>8} {'peak MB':>8} {'tmp files':>9} {'tmp MB':>8}")
        threads = [
            threading.Thread(
                target=session_loop,
                args=(url, stub, str(reference), stop, counts, n, args.new_visitor_every),
                daemon=True,
            )
            for n in range(args.sessions)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        try:
            while (elapsed := time.monotonic() - started) < minutes * 60:
                time.sleep(min(args.interval, minutes * 60 - elapsed))
                rss, peak = rss_mb(process.pid)
                files, temp_mb = disk_usage(workdir / "tmp")
                sample = Sample(round(time.monotonic() - started, 1), counts.generations,
                                counts.expected_errors + len(counts.unexpected_errors), round(rss, 1),
                                round(peak, 1), files, round(temp_mb, 1))  # fmt: skip
                samples.append(sample)
                print(f"{sample.elapsed_s:>7.0f}s {sample.generations:>6} {sample.errors:>6} {sample.rss_mb:>8.1f} "
                      f"{sample.peak_rss_mb:>8.1f} {sample.temp_files:>9} {sample.temp_mb:>8.1f}", flush=True)  # fmt: skip
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
            process.terminate()
            process.wait(timeout=30)
            # What a stopped app leaves behind; the page's two example images are copies of repo files.
            left_files, left_mb = disk_usage(workdir / "tmp")
            if not args.keep:
                shutil.rmtree(workdir, ignore_errors=True)

    quarter = max(1, len(samples) // 4)
    settled = samples[quarter:]
    second = statistics.median(s.rss_mb for s in samples[quarter : 2 * quarter] or settled)
    last = statistics.median(s.rss_mb for s in samples[-quarter:])
    slope = slope_per_minute(settled)
    grows = slope > args.max_slope or last - second > args.max_growth
    result = {
        "minutes": minutes, "sessions": args.sessions, "latency_s": args.latency,
        "analytics_max_events": args.analytics_max_events or 10000,
        "generations": counts.generations, "injected_503s_seen": counts.expected_errors,
        "unexpected_errors": counts.unexpected_errors[:10], "generations_per_s": round(counts.generations /
                                                                                      (minutes * 60), 2),
        "rss_mb_second_quarter_median": second, "rss_mb_last_quarter_median": last,
        "rss_slope_mb_per_min_after_warmup": round(slope, 2), "peak_rss_mb": max(s.peak_rss_mb for s in samples),
        "new_visitors": counts.new_visitors,
        "kb_per_new_visitor": round((samples[-1].rss_mb - samples[0].rss_mb) * 1024 / counts.new_visitors)
        if counts.new_visitors else None,
        "temp_files_left_after_stop": left_files, "temp_mb_left_after_stop": round(left_mb, 2),
        "memory_grows": grows, "samples": [asdict(s) for s in samples],
    }  # fmt: skip
    out = ROOT / "bench" / "results" / "soak.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"\n{counts.generations} generations ({result['generations_per_s']}/s), {counts.expected_errors} injected "
        f"503s, {len(counts.unexpected_errors)} unexpected errors.\nRSS median {second:.1f} MB (2nd quarter) -> "
        f"{last:.1f} MB (last quarter); slope after warm-up {slope:+.2f} MB/min; peak {result['peak_rss_mb']} MB."
    )
    print(f"After the app stopped: {left_files} temporary files ({left_mb:.1f} MB) left "
          f"(of {samples[-1].temp_files} files, {samples[-1].temp_mb:.0f} MB at the end of the run).")
    if counts.new_visitors:
        print(f"{counts.new_visitors} new visitors: about {result['kb_per_new_visitor']} KB of memory each "
              "(Gradio keeps each session's state; see the module docstring).")
    print("Memory grows." if grows else "Memory does not grow.", f"Results: {out}")
    if counts.unexpected_errors:
        print("Unexpected errors, e.g.:", *counts.unexpected_errors[:3], sep="\n  ")
        return 2
    return 1 if grows else 0


if __name__ == "__main__":
    raise SystemExit(main())
