"""Run every benchmark and write the results: `python -m bench.run` (6-7 minutes on 2 cores).

    python -m bench.run                 # all figures; rewrites the results section of docs/benchmarks.md
    python -m bench.run --only client,app --quick
    python -m bench.run --profile       # profile every row, not only those that miss their target

Raw samples go to bench/results/latest.json, profiles to bench/results/profile-<row>.txt (git-ignored).
Not part of the test suite: nothing here is collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

if __package__ in (None, ""):  # `python bench/run.py` as well as `python -m bench.run`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import app_overhead, client_overhead, concurrency, gallery, memory, refs, startup
from bench.common import RESULTS, ROOT, Row

DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench:results:begin -->", "<!-- bench:results:end -->"

# In the order of the table: (key, measure, profile).
BENCHMARKS: list[tuple[str, Callable[[bool], Row], Callable[[bool], str] | None]] = [
    ("client", client_overhead.run, client_overhead.profile),
    ("app", app_overhead.run, app_overhead.profile),
    ("refs-fast", refs.run_fast, refs.profile_fast),
    ("refs-downscale", refs.run_downscale, refs.profile_downscale),
    ("concurrency", concurrency.run, concurrency.profile),
    ("startup", startup.run, startup.profile),
    ("gallery", gallery.run, gallery.profile),
    ("memory", memory.run, None),
]


def machine() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "?")
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "seedream_ui", "app.py"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": model,
        "nproc": str(os.cpu_count()),
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "gradio": version("gradio"),
        "gradio_client": version("gradio_client"),
        "httpx": version("httpx"),
        "pillow": version("pillow"),
        "commit": commit + (" (with uncommitted changes in seedream_ui/ or app.py)" if dirty else ""),
    }


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _value(row: Row, value: float | None) -> str:
    if value is None:
        return "–"
    if row.unit == "MB":
        return f"{value:.0f} MB"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def _met(row: Row) -> str:
    if row.error:
        return "error"
    return {True: "yes", False: "**no**", None: "reported"}[row.met]


def render(rows: list[Row], info: dict[str, str], loads: tuple[str, str], seconds: float, quick: bool) -> str:
    out = [BEGIN, "", f"## Latest results ({info['date']})", ""]
    if quick:
        out += ["**Quick run (fewer repetitions): indicative only.**", ""]
    out += [
        f"Machine: {info['cpu']}, {info['nproc']} cores (nproc), {info['memory']} RAM, {info['os']}; "
        f"Python {info['python']}, gradio {info['gradio']}, gradio_client {info['gradio_client']}, "
        f"httpx {info['httpx']}, pillow {info['pillow']}; commit {info['commit']}.",
        f"Load average (1/5/15 min) at start {loads[0]}, at the end {loads[1]} (other work shared the machine); "
        f"the whole run took {seconds / 60:.1f} min.",
        "",
        "| what | baseline | baseline (median) | measured (median) | figure | target | met? |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        figure = row.figure or (f"failed: {row.error.splitlines()[-1]}" if row.error else "–")
        out.append(
            f"| {row.what} | {row.baseline_label} | {_value(row, row.baseline)} | {_value(row, row.measured)} | "
            f"{figure} | {row.target_label} | {_met(row)} |"
        )
    out += ["", "### Raw numbers", ""]
    for row in rows:
        out.append(f"**{row.what}**")
        out.append("")
        out += [f"- {note}" for note in row.notes] or ["- (no numbers)"]
        if row.error:
            out += ["", "```", row.error.strip()[-3000:], "```"]
        out.append("")
    profiled = [row for row in rows if row.profile]
    if profiled:
        out += ["### Profiles", "", "Taken by the same command for every row that missed its target (or with --profile).", ""]
        for row in profiled:
            out += [f"<details><summary>{row.what}</summary>", "", "```", row.profile.strip(), "```", "", "</details>", ""]
    out.append(END)
    return "\n".join(out)


def write_doc(section: str) -> None:
    text = DOC.read_text() if DOC.exists() else f"# Benchmarks\n\nRun `python -m bench.run`.\n\n{BEGIN}\n{END}\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + section + tail
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    DOC.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated rows: " + ", ".join(key for key, _, _ in BENCHMARKS))
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run; not for the record)")
    parser.add_argument("--profile", action="store_true", help="profile every row, not only the misses")
    parser.add_argument("--no-doc", action="store_true", help="do not rewrite docs/benchmarks.md")
    args = parser.parse_args(argv)
    wanted = set(args.only.split(",")) if args.only else None
    RESULTS.mkdir(parents=True, exist_ok=True)

    info = machine()
    start_load, started = load_average(), time.perf_counter()
    rows: list[Row] = []
    for key, measure, profile in BENCHMARKS:
        if wanted and key not in wanted:
            continue
        print(f"[{time.perf_counter() - started:6.0f} s] {key} ...", flush=True)
        load_before = load_average()
        try:
            row = measure(args.quick)
        except Exception:
            row = Row(key=key, what=key, baseline_label="", target_label="", error=traceback.format_exc())
        row.notes.append(f"load average before / after this row: {load_before} / {load_average()}")
        print(f"         {row.figure or row.error.splitlines()[-1]}  (met: {_met(row)})", flush=True)
        if profile is not None and (args.profile or row.met is False):
            try:
                row.profile = profile(args.quick)
            except Exception:
                row.profile = "profiling failed:\n" + traceback.format_exc()
            (RESULTS / f"profile-{key}.txt").write_text(row.profile)
        rows.append(row)
    seconds = time.perf_counter() - started
    loads = (start_load, load_average())
    (RESULTS / "latest.json").write_text(
        json.dumps({"machine": info, "load": loads, "seconds": seconds, "rows": [r.as_dict() for r in rows]}, indent=1)
    )
    section = render(rows, info, loads, seconds, args.quick)
    if not (args.no_doc or wanted or args.quick):  # only full runs go on the record
        write_doc(section)
        print(f"wrote {DOC.relative_to(ROOT)}")
    else:
        print(section)
    print(f"raw numbers in {(RESULTS / 'latest.json').relative_to(ROOT)}; {seconds / 60:.1f} min")
    return 1 if any(row.error for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
