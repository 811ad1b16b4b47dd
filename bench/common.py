"""What every benchmark shares: paired timing, results, the stand-in and the app as separate processes, memory.

Rules the figures follow (so that they can be trusted):
- baseline and measured run in the same process, the same run, on the same payloads;
- warm-up calls first, then the two sides interleaved (A B, B A, ...) so drift and caches hit both alike;
- medians over several runs, with every raw sample kept in bench/results/latest.json.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"  # git-ignored: raw numbers, profiles, generated fixtures
BENCH_KEY = "bench-key"  # the stand-in is started with this key; it is not a secret
PROMPT = "A lighthouse on a rocky coast at dusk, waves breaking, warm light in the windows, oil painting"


# ------------------------------------------------------------------------------------------------- results


@dataclass
class Row:
    """One line of the results table."""

    key: str
    what: str
    baseline_label: str
    target_label: str
    baseline: float | None = None  # seconds or MB, per `unit`
    measured: float | None = None
    unit: str = "s"
    figure: str = ""  # the headline figure, e.g. "1.03x" or "+41 ms"
    met: bool | None = None  # None: a figure to report, no pass/fail target
    raw: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    profile: str = ""  # where the time goes, when a target was missed (or --profile asked for it)
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def spread(samples: list[float]) -> dict[str, float]:
    """Median, min, max and the quartiles of a list of samples (seconds or MB)."""
    ordered = sorted(samples)
    quartiles = statistics.quantiles(ordered, n=4, method="inclusive") if len(ordered) >= 2 else [ordered[0]] * 3
    return {
        "n": len(ordered),
        "median": statistics.median(ordered),
        "min": ordered[0],
        "q1": quartiles[0],
        "q3": quartiles[2],
        "max": ordered[-1],
    }


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def describe(samples: list[float], unit: str = "ms") -> str:
    """`median 41.2 ms (min 39.0, q1 40.1, q3 43.5, max 51.0; n=30)` for the raw-numbers column."""
    s = spread(samples)
    scale = 1000 if unit == "ms" else 1
    digits = 2 if unit == "s" else 1
    f = lambda v: f"{v * scale:.{digits}f}"  # noqa: E731
    return (
        f"median {f(s['median'])} {unit} (min {f(s['min'])}, q1 {f(s['q1'])}, q3 {f(s['q3'])}, "
        f"max {f(s['max'])}; n={s['n']})"
    )


# -------------------------------------------------------------------------------------------------- timing


def paired_sync(
    baseline: Callable[[], object], measured: Callable[[], object], *, runs: int, warmup: int
) -> tuple[list[float], list[float]]:
    """Time two callables alternately (A B, B A, ...) after `warmup` untimed calls of each."""
    for _ in range(warmup):
        baseline()
        measured()
    base: list[float] = []
    ours: list[float] = []
    for i in range(runs):
        order = ((baseline, base), (measured, ours)) if i % 2 == 0 else ((measured, ours), (baseline, base))
        for fn, into in order:
            started = time.perf_counter()
            fn()
            into.append(time.perf_counter() - started)
    return base, ours


async def paired_async(
    baseline: Callable[[], Awaitable[object]],
    measured: Callable[[], Awaitable[object]],
    *,
    runs: int,
    warmup: int,
) -> tuple[list[float], list[float]]:
    for _ in range(warmup):
        await baseline()
        await measured()
    base: list[float] = []
    ours: list[float] = []
    for i in range(runs):
        order = ((baseline, base), (measured, ours)) if i % 2 == 0 else ((measured, ours), (baseline, base))
        for fn, into in order:
            started = time.perf_counter()
            await fn()
            into.append(time.perf_counter() - started)
    return base, ours


# ----------------------------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_answers(url: str, timeout: float = 90.0, interval: float = 0.02) -> float:
    """Poll GET `url` until it answers 200; returns when it did (perf_counter)."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as http:
        while time.monotonic() < deadline:
            try:
                if http.get(url).status_code == 200:
                    return time.perf_counter()
            except httpx.HTTPError:
                pass
            time.sleep(interval)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a child process: no SEEDREAM_* from the developer's shell, no analytics."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEEDREAM_")}
    env.update(GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT))
    env.update(extra)
    return env


@dataclass
class Child:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def child_process(
    command: list[str], url: str, *, env: dict[str, str], log_path: Path, ready_url: str | None = None,
    cwd: Path = ROOT, keep_log: bool = False,
) -> Iterator[Child]:
    """`command` running, its output in `log_path`, from when `ready_url` (default: `url`) answers 200 until the
    block ends; a child that never answers ends the benchmark with its log."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            wait_until_answers(ready_url or url, timeout=120)
        except TimeoutError:
            raise RuntimeError(f"{command} did not start; its log:\n{log_path.read_text(errors='replace')}") from None
        yield Child(url, process, log_path)
    finally:
        _stop(process)
        if not keep_log:
            log_path.unlink(missing_ok=True)


def temp_log(name: str) -> Path:
    return Path(tempfile.mkstemp(prefix=f"bench-{name}-", suffix=".log")[1])


@contextmanager
def stub_process(*, latency: float = 0.0, response_format: str = "url", cached: bool = False) -> Iterator[Child]:
    """`python -m seedream_ui.stub_api` in its own process, so that its drawing does not share our GIL.

    cached=True runs bench/cached_stub.py instead: the same stand-in with its drawing done once per size.
    """
    port = free_port()
    command = [
        sys.executable, "-m", "bench.cached_stub" if cached else "seedream_ui.stub_api", "--port", str(port), "--api-key", BENCH_KEY,
        "--latency", str(latency), "--response-format", response_format,
    ]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    with child_process(
        command, f"{base}/v3/seedream-4.5", env=clean_env(), log_path=temp_log("stub"), ready_url=f"{base}/_stub/faults"
    ) as child:
        yield child


@contextmanager
def app_process(api_url: str | None, *, env: dict[str, str] | None = None, script: str = "app.py") -> Iterator[Child]:
    """`python app.py` in a temporary working directory (no .env), pointed at `api_url` with BENCH_KEY."""
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="bench-app-"))
    extra = {"GRADIO_SERVER_PORT": str(port)} | (env or {})
    if api_url:
        extra |= {"SEEDREAM_API_URL": api_url, "SEEDREAM_API_KEY": BENCH_KEY}
    with child_process(
        [sys.executable, str(ROOT / script)], f"http://127.0.0.1:{port}/", env=clean_env(**extra),
        log_path=workdir / "app.log", cwd=workdir, keep_log=True,
    ) as child:  # fmt: skip
        yield child


# -------------------------------------------------------------------------------------------------- memory


def _status_kb(pid: int | str, name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    raise KeyError(name)


def rss_mb(pid: int | str = "self") -> float:
    return _status_kb(pid, "VmRSS") / 1024


def peak_rss_mb(pid: int | str = "self") -> float:
    """The high-water mark of resident memory (VmHWM) since start or the last reset_peak()."""
    return _status_kb(pid, "VmHWM") / 1024


def reset_peak(pid: int | str = "self") -> None:
    """Linux: writing 5 to clear_refs resets VmHWM to the current RSS."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


# ------------------------------------------------------------------------------------------------- helpers


def run_async(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]


def fixtures_dir(name: str) -> Path:
    """A folder under bench/results/fixtures for generated inputs, reused between runs."""
    path = RESULTS / "fixtures" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU time a process has used so far (from /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cprofile_text(fn: Callable[[], object], *, sort: str = "tottime", limit: int = 18) -> str:
    """Run `fn` under cProfile (this thread only) and return the top of the table."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        fn()
    finally:
        profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs().sort_stats(sort).print_stats(limit)
    text = out.getvalue()
    return text[text.find("   Ordered by") :].strip() if "   Ordered by" in text else text.strip()
