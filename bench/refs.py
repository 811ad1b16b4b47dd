"""Preparing 14 reference images, as `build_request` does before a generation.

- within limits: 14 camera-like 12-megapixel JPEGs (4032x3024, ~3 MB, EXIF orientation 1) that the API takes as
  they are, against reading the files and Base64-encoding them and nothing else;
- needing downscaling: 14 48-megapixel JPEGs (8000x6000, ~13 MB: over both the 36 MP and the 10 MB limit), timed
  and with the peak memory it adds, measured in a fresh process (VmHWM reset after the warm-up run).
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path

from bench.common import (
    ROOT,
    Row,
    clean_env,
    cprofile_text,
    describe,
    median,
    paired_sync,
    peak_rss_mb,
    reset_peak,
    rss_mb,
)
from bench.fixtures import jpeg_set
from seedream_ui.references import prepare_references

FAST_TARGET = 1.15
DOWNSCALE_TARGET_S = 2.0
COUNT = 14


def _read_and_encode(paths: list[Path]) -> list[str]:
    return [base64.b64encode(path.read_bytes()).decode("ascii") for path in paths]


def run_fast(quick: bool = False) -> Row:
    runs, warmup = (6, 2) if quick else (15, 3)
    paths = jpeg_set("refs-12mp", COUNT, 4032, 3024)
    sources = [str(p) for p in paths]
    row = Row(
        key="refs-fast",
        what=f"preparing {COUNT} references, each a 12-megapixel JPEG already within the API limits",
        baseline_label="reading the files and Base64-encoding them, nothing else",
        target_label=f"<= {FAST_TARGET:.2f}x",
    )
    prepared = prepare_references(sources)
    assert not any(p.reencoded for p in prepared), "these files should take the byte-for-byte fast path"
    base, ours = paired_sync(lambda: _read_and_encode(paths), lambda: prepare_references(sources), runs=runs, warmup=warmup)
    ratio = median(ours) / median(base)
    row.baseline, row.measured = median(base), median(ours)
    row.figure = f"{ratio:.3f}x"
    row.met = ratio <= FAST_TARGET
    total_mb = sum(p.stat().st_size for p in paths) / 1e6
    row.raw = {"baseline_s": base, "measured_s": ours, "ratio": ratio, "files_mb": total_mb}
    row.notes.append(f"{COUNT} files, {total_mb:.1f} MB in all (page cache warm)")
    row.notes.append(f"baseline {describe(base)}; prepare_references {describe(ours)}")
    return row


def _downscale_worker(paths: list[str], runs: int) -> dict[str, object]:
    """In a fresh process: the peak RSS of the first run over the idle process, then `runs` timed runs."""
    idle = rss_mb()
    reset_peak()
    prepare_references(paths)  # the first one, as a server process meets it: its peak is the memory figure
    first_peak = peak_rss_mb()
    times = []
    cpu = []
    sizes: list[tuple[int | None, int | None, bool]] = []
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        prepared = prepare_references(paths)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        sizes = [(p.width, p.height, p.reencoded) for p in prepared]
        del prepared
    return {
        "times_s": times, "cpu_s": cpu, "idle_mb": idle, "first_peak_mb": first_peak, "peak_mb": peak_rss_mb(),
        "sizes": sizes,
    }  # fmt: skip


def run_downscale(quick: bool = False) -> Row:
    runs = 2 if quick else 5
    paths = jpeg_set("refs-48mp", COUNT, 8000, 6000)
    row = Row(
        key="refs-downscale",
        what=f"preparing {COUNT} references that need downscaling (8000x6000 JPEGs, 48 MP, ~13 MB each)",
        baseline_label="(none: time and peak memory reported)",
        target_label=f"under {DOWNSCALE_TARGET_S:.0f} s on this 2-core machine",
    )
    command = [sys.executable, "-m", "bench.refs", "--downscale-worker", str(runs), *map(str, paths)]
    done = subprocess.run(command, cwd=ROOT, env=clean_env(), capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    times = result["times_s"]
    added = result["first_peak_mb"] - result["idle_mb"]
    row.measured = median(times)
    row.figure = f"{median(times):.2f} s; peak +{added:.0f} MB"
    row.met = median(times) < DOWNSCALE_TARGET_S
    width, height, reencoded = result["sizes"][0]
    total_mb = sum(p.stat().st_size for p in paths) / 1e6
    row.raw = {**result, "added_peak_mb": added, "files_mb": total_mb}
    row.notes.append(f"{describe(times, 's')}; each became {width}x{height} (re-encoded: {reencoded})")
    cpu = median(result["cpu_s"])
    row.notes.append(
        f"CPU per run {describe(result['cpu_s'], 's')}: {cpu / median(times):.2f} of the 2 cores busy on average; "
        f"with both cores free the CPU alone needs {cpu / 2:.2f} s"
    )
    row.notes.append(
        f"peak RSS {result['first_peak_mb']:.0f} MB during the first run over {result['idle_mb']:.0f} MB idle "
        f"(fresh process, imports done): +{added:.0f} MB for {COUNT} files of {total_mb / COUNT:.1f} MB; highest "
        f"over all {len(times) + 1} runs {result['peak_mb']:.0f} MB (freed memory is partly kept by the allocator)"
    )
    return row


if __name__ == "__main__":
    if sys.argv[1:2] == ["--downscale-worker"]:
        print(json.dumps(_downscale_worker(sys.argv[3:], int(sys.argv[2]))))


def profile_fast(quick: bool = False) -> str:
    sources = [str(p) for p in jpeg_set("refs-12mp", COUNT, 4032, 3024)]
    prepare_references(sources)
    return cprofile_text(lambda: [prepare_references(sources) for _ in range(5)])


def profile_downscale(quick: bool = False) -> str:
    """CPU against wall time of the threaded run, then one thread under cProfile (Pillow's C code by name)."""
    sources = [str(p) for p in jpeg_set("refs-48mp", COUNT, 8000, 6000)]
    prepare_references(sources)
    cpu, wall = time.process_time(), time.perf_counter()
    prepare_references(sources)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    table = cprofile_text(lambda: prepare_references(sources, max_workers=1), limit=12)
    return (
        f"threaded run: {wall:.2f} s wall, {cpu:.2f} s CPU in this process ({cpu / wall:.2f} cores busy on average); "
        f"at 2 cores the CPU alone needs >= {cpu / 2:.2f} s\n\nsame work on one thread, cProfile:\n{table}"
    )
