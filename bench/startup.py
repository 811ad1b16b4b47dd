"""Start-up: `python app.py` until GET / answers 200, against `python -c "import gradio"`.

Both are fresh processes started from a temporary working directory (no .env), timed from spawn; the app runs
as a first-time user gets it (offline preview, so its in-process stand-in starts too). Runs alternate.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, Row, clean_env, describe, free_port, median, wait_until_answers

TARGET_S = 1.5


def _import_gradio(workdir: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import gradio"], cwd=workdir, env=clean_env(), check=True)
    return time.perf_counter() - started


def _start_app(workdir: Path) -> float:
    port = free_port()
    env = clean_env(GRADIO_SERVER_PORT=str(port))
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")], cwd=workdir, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        answered = wait_until_answers(f"http://127.0.0.1:{port}/", timeout=120, interval=0.01)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return answered - started


def run(quick: bool = False) -> Row:
    runs, warmup = (3, 1) if quick else (7, 1)
    row = Row(
        key="startup",
        what="start-up: python app.py until the page answers",
        baseline_label='python -c "import gradio"',
        target_label=f"added time under {TARGET_S} s",
    )
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as folder:
        workdir = Path(folder)
        for _ in range(warmup):  # fills the OS file cache and __pycache__ for both
            _import_gradio(workdir)
            _start_app(workdir)
        base: list[float] = []
        ours: list[float] = []
        for i in range(runs):
            pair = [(_import_gradio, base), (_start_app, ours)]
            for fn, into in pair if i % 2 == 0 else reversed(pair):
                into.append(fn(workdir))
    added = median(ours) - median(base)
    row.baseline, row.measured = median(base), median(ours)
    row.figure = f"+{added:.2f} s ({median(ours):.2f} s vs {median(base):.2f} s)"
    row.met = added < TARGET_S
    row.raw = {"baseline_s": base, "measured_s": ours, "added_s": added}
    row.notes.append(f'import gradio {describe(base, "s")}; app.py until GET / is 200 {describe(ours, "s")}')
    row.notes.append("Offline preview (no key), so the app also starts its in-process stand-in; polled every 10 ms.")
    return row


_PHASES = """
import time; t0 = time.perf_counter(); marks = {}
import gradio; marks["import gradio"] = time.perf_counter()
import seedream_ui.ui as ui; from seedream_ui.config import load_settings; marks["import seedream_ui"] = time.perf_counter()
settings = load_settings(); demo = ui.build_demo(settings); marks["build_demo (and the preview stand-in)"] = time.perf_counter()
demo.queue(default_concurrency_limit=settings.concurrency).launch(
    prevent_thread_lock=True, quiet=True, **ui.launch_options(settings)); marks["launch() returned"] = time.perf_counter()
import httpx, os; httpx.get(f"http://127.0.0.1:{os.environ['GRADIO_SERVER_PORT']}/").raise_for_status()
marks["GET / answered"] = time.perf_counter()
last = t0
for name, t in marks.items():
    print(f"{name:40s} +{t - last:6.2f} s  (at {t - t0:5.2f} s)"); last = t
demo.close()
"""


def profile(quick: bool = False) -> str:
    """The phases of start-up in one process (after interpreter start), twice; the second is reported."""
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as folder:
        for _ in range(2):
            env = clean_env(GRADIO_SERVER_PORT=str(free_port()))
            done = subprocess.run(
                [sys.executable, "-c", _PHASES], cwd=folder, env=env, capture_output=True, text=True, timeout=120
            )
    return done.stdout.strip() or done.stderr[-2000:]
