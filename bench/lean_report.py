"""The lean run's section of docs/benchmarks.md: rows figure | anchor | this app | ratio | target | met?, the
machine and its load, and the profiles. Written between the lean markers by `python -m bench.lean`."""

from __future__ import annotations

from typing import Any

from bench.common import ROOT, median

DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench:lean:begin -->", "<!-- bench:lean:end -->"
SIDES = ("anchor", "app")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _spread_ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    return f"{_ms(median(ordered))} ({_ms(ordered[0])}-{_ms(ordered[-1])})"


def _range(ratios: list[float]) -> str:
    """The spread of per-block or per-round ratios (each pair taken back to back), e.g. "(1.05-1.31)"."""
    return f"({min(ratios):.2f}-{max(ratios):.2f})" if len(ratios) > 1 else ""


def render(results: dict[str, Any], info: dict[str, str], quick: bool) -> str:
    rows = ["| figure | anchor | this app | ratio | target | met? |", "| --- | --- | --- | --- | --- | --- |"]
    if "cpu" in results:
        a, b = (results["cpu"]["per_generation_s"][n] for n in SIDES)
        ratio = median(b) / median(a)
        rows.append(f"| app CPU per generation (2K, URL answer; median, min-max of {len(a)} blocks) | "
                    f"{_spread_ms(a)} | {_spread_ms(b)} | {ratio:.2f}x {_range([y / x for x, y in zip(a, b, strict=True)])} | "
                    f"<= 1.2x | {'yes' if ratio <= 1.2 else 'no'} |")  # fmt: skip
    for key, visitors, latency in (("burst64", 64, 2), ("burst200", 200, 5)):
        if key not in results:
            continue
        a, b = (results[key][n] for n in SIDES)
        rel = b["ratio"] / a["ratio"]
        served = f"{min(b['served'])}/{visitors}"
        if key == "burst64":
            met = rel <= 1.1
            target = "<= 1.1x the anchor's ratio"
        else:
            met = rel <= 1.0 and min(b["served"]) == visitors
            target = "all served (defaults); <= the anchor's ratio"
        rows.append(f"| {visitors} visitors at once, {latency} s API: burst wall / one visitor, median of "
                    f"{len(a['burst_s'])} rounds (served: anchor {min(a['served'])}/{visitors}, app {served}) | "
                    f"{a['ratio']:.2f}x | {b['ratio']:.2f}x | {rel:.2f}x {_range(results[key].get('paired', []))} | "
                    f"{target} | {'yes' if met else 'no'} |")  # fmt: skip
        ca, cb = (median(x["cpu_per_gen_s"]) for x in (a, b))
        rows.append(f"| app CPU per generation during that burst (information) | {_ms(ca)} | {_ms(cb)} | "
                    f"{cb / ca:.2f}x | – | – |")  # fmt: skip
        if key == "burst200":
            ma, mb = (median(x["mb_per_gen"]) for x in (a, b))
            rows.append(f"| memory per generation in flight (VmHWM during the 200 burst - RSS before, / 64) | "
                        f"{ma:.2f} MB | {mb:.2f} MB | – | ~1 MB | {'yes' if mb <= 1.5 else 'no'} |")  # fmt: skip
    if "gradio_client" in results:
        a, b = (results["gradio_client"][n] for n in SIDES)
        rows.append(f"| gradio_client predict(), caller CPU (information) | {_ms(a['caller_cpu_s'])} | "
                    f"{_ms(b['caller_cpu_s'])} | – | – | – |")  # fmt: skip
        rows.append(f"| gradio_client predict(), wall, 0 s API (information) | {_ms(a['wall_s'])} | "
                    f"{_ms(b['wall_s'])} | {b['wall_s'] / a['wall_s']:.2f}x | – | – |")  # fmt: skip
    loads = results.get("loads", {})
    out = [BEGIN, "", f"### Latest lean run ({info['date']}{', --quick' if quick else ''}), as written by `python -m bench.lean`", ""]
    out += rows
    out += ["", f"Machine: {info['nproc']} cores, {info['cpu']}, {info['memory']}; Python {info['python']}, "
            f"gradio {info['gradio']}, httpx {info['httpx']}; commit {info['commit']}. Load average (1, 5, 15 min) "
            "per row, before -> after: " + "; ".join(f"{k} {v[0]} -> {v[1]}" for k, v in loads.items()) + ". "
            "Other engineers were running tests and servers on the same 2 cores during this run: wall-clock "
            "ratios are pessimistic for both sides alike (they alternate); CPU times are per process."]  # fmt: skip
    if results.get("profile_text"):
        title = ("Where the CPU goes per generation, sequential generations (py-spy, all threads; each category's "
                 "share of the samples times the cpu row's CPU per generation), ranked by the app's extra:")
        out += ["", title, "", "```",
                results["profile_text"].rstrip(), "```"]  # fmt: skip
    if results.get("profile_burst_text"):
        out += ["", "The same during bursts of 64 visitors (2 s API; CPU per generation measured while profiling):",
                "", "```", results["profile_burst_text"].rstrip(), "```"]  # fmt: skip
    out += ["", END]
    return "\n".join(out)


def write_doc(section: str) -> None:
    text = DOC.read_text()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    DOC.write_text(text)
