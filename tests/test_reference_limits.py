"""Preparing references on a server: off the event loop, within a process-wide memory budget, and no small file
can make the server decode a huge image.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from seedream_ui.errors import ReferenceImageError
from seedream_ui.references import (
    DECODE_BUDGET_BYTES,
    MAX_DECODE_PIXELS,
    MAX_FULL_DECODE_PIXELS,
    WORKERS,
    DecodeBudget,
    decode_budget,
    decode_cost,
    prepare_references,
    prepare_references_async,
    set_decode_budget,
)
from tests.images import (
    encode,
    flat_frames,
    flat_jpeg,
    flat_png,
    gradient,
    noise,
    rle8_bmp,
    with_orientation,
    write,
)

MB = 1024 * 1024
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def budget() -> Iterator[Callable[[int], DecodeBudget]]:
    """Install a process-wide decode budget of a chosen size for one test; the default comes back after."""
    original = decode_budget()
    yield set_decode_budget
    set_decode_budget(original.capacity)


# --------------------------------------------------------------------------------------------------------
# The budget


def test_concurrent_requests_never_hold_more_decode_memory_than_the_budget(
    tmp_path: Path, budget: Callable[[int], DecodeBudget]
) -> None:
    photo = write(tmp_path, "phone.jpg", with_orientation(noise(600, 400), 6))  # needs decoding: it is rotated
    one = decode_cost("jpeg", "RGB", (600, 400), 36_000_000).cost + len(photo.read_bytes())
    shared = budget(3 * one + one // 2)  # room for three at once, never four

    async def five_visitors() -> list[list[int]]:
        results = await asyncio.gather(*(prepare_references_async([photo] * 6) for _ in range(5)))
        return [[(p.width or 0) * 1000 + (p.height or 0) for p in batch] for batch in results]

    sizes = asyncio.run(five_visitors())

    assert sizes == [[400_600] * 6] * 5  # every one converted, upright
    assert shared.high_water <= shared.capacity
    assert shared.high_water >= min(2, WORKERS) * one  # the budget was really shared by concurrent work
    assert shared.in_use == 0


def test_the_budget_grants_in_order_and_waits_without_a_thread() -> None:
    shared = DecodeBudget(100)
    order: list[str] = []

    async def take(name: str, amount: int, hold: asyncio.Event | None = None) -> None:
        await shared.acquire(amount)
        order.append(name)
        if hold is not None:
            await hold.wait()
        shared.release(amount)

    async def scenario() -> int:
        threads_before = threading.active_count()
        done_with_first = asyncio.Event()
        first = asyncio.ensure_future(take("first", 80, done_with_first))
        await asyncio.sleep(0)  # one turn of the loop: "first" is granted at once
        assert order == ["first"]
        waiting = [asyncio.ensure_future(take(name, amount)) for name, amount in [("big", 90), ("small", 10)]]
        await asyncio.sleep(0)  # one turn: both are queued in the budget, waiting
        assert order == ["first"] and shared.in_use == 80
        threads_while_waiting = threading.active_count()
        done_with_first.set()
        await asyncio.gather(first, *waiting)
        return threads_while_waiting - threads_before

    assert asyncio.run(scenario()) == 0
    assert order == ["first", "big", "small"]  # "small" fitted at once but did not overtake "big"
    assert shared.in_use == 0 and shared.high_water == 100  # then both "big" and "small" at once


def test_a_request_cancelled_while_waiting_gives_its_place_back() -> None:
    shared = DecodeBudget(100)

    async def scenario() -> None:
        await shared.acquire(100)
        waiter = asyncio.ensure_future(shared.acquire(50))
        await asyncio.sleep(0)  # one turn of the loop: the waiter is queued
        assert not waiter.done()
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        shared.release(100)
        await asyncio.wait_for(shared.acquire(100), timeout=5)  # nothing left behind by the cancelled one

    asyncio.run(scenario())
    assert shared.in_use == 100


def test_a_cancelled_request_gives_back_all_its_budget(tmp_path: Path, budget: Callable[[int], DecodeBudget]) -> None:
    shared = budget(DECODE_BUDGET_BYTES)
    photos = [write(tmp_path, f"photo{i}.jpg", with_orientation(noise(1200, 800), 6)) for i in range(8)]

    async def visitor_leaves() -> None:
        task = asyncio.ensure_future(prepare_references_async(photos))
        while shared.in_use == 0 and not task.done():
            await asyncio.sleep(0.005)
        task.cancel()  # e.g. the visitor closed the page mid-way
        await asyncio.gather(task, return_exceptions=True)
        for _ in range(3000):  # conversions already running finish on their thread, then give back
            if shared.in_use == 0:
                return
            await asyncio.sleep(0.01)

    asyncio.run(visitor_leaves())
    assert shared.high_water > 0 and shared.in_use == 0


def test_an_image_that_can_never_fit_the_budget_is_refused_at_once_by_name(
    tmp_path: Path, budget: Callable[[int], DecodeBudget]
) -> None:
    shared = budget(64 * MB)
    path = write(tmp_path, "poster.png", flat_png(6000, 4000, "RGBA"))

    with pytest.raises(ReferenceImageError) as info:
        asyncio.run(prepare_references_async([path], max_pixels=5_000_000))  # so it must be decoded

    message = str(info.value)
    assert message.startswith("poster.png is 6000x4000 (24 megapixels, RGBA); preparing it would need about ")
    assert message.endswith("more than this server allows for one image (64 MB). Make it smaller and try again.")
    assert info.value.source == "poster.png"
    assert shared.high_water == 0  # refused from the header, before any decoding


def test_one_request_decodes_at_most_its_share_of_pixels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, budget: Callable[[int], DecodeBudget]
) -> None:
    shared = budget(DECODE_BUDGET_BYTES)
    monkeypatch.setattr("seedream_ui.references.core.MAX_REQUEST_DECODE_PIXELS", 1_000_000)
    photos = [write(tmp_path, f"photo{i}.jpg", with_orientation(gradient(800, 600), 6)) for i in range(3)]
    broken = write(tmp_path, "broken.png", encode(noise(64, 64), "png")[:3000])  # found out only by decoding

    with pytest.raises(ReferenceImageError) as info:
        asyncio.run(prepare_references_async([broken, *photos]))

    assert info.value.source == "photo2.jpg"  # at once: nothing was decoded, not even the broken file before it
    assert shared.high_water == 0
    assert str(info.value).startswith("photo2.jpg brings the images to decode in this request to 1.4 megapixels")


def test_the_defaults_admit_the_largest_images_allowed_and_run_ordinary_photos_side_by_side() -> None:
    largest = [
        decode_cost("png", mode, (8000, 8000), 36_000_000, file_bytes=10 * MB).cost for mode in ("P", "RGBA", "I;16")
    ]
    progressive_phone = decode_cost("jpeg", "RGB", (12000, 9000), 36_000_000, coefficients=1.5, file_bytes=40 * MB)
    phone = decode_cost("jpeg", "RGB", (4000, 3000), 36_000_000, file_bytes=5 * MB)

    assert MAX_FULL_DECODE_PIXELS >= 8000 * 8000 and MAX_DECODE_PIXELS >= 12000 * 9000
    assert max(largest) <= DECODE_BUDGET_BYTES and progressive_phone.cost <= DECODE_BUDGET_BYTES
    assert max(2, WORKERS) * phone.cost <= DECODE_BUDGET_BYTES  # ordinary photos never wait for each other


# --------------------------------------------------------------------------------------------------------
# Small files that decode to huge images


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("flat.png", lambda: flat_png(11000, 11000, "RGB")),  # 121 MP of one colour
        ("deep.png", lambda: flat_png(9000, 9000, "I;16")),
        ("palette.png", lambda: flat_png(9000, 9000, "P")),
        ("runs.bmp", lambda: rle8_bmp(9000, 9000)),
    ],
)
def test_a_small_non_jpeg_file_claiming_more_than_the_cap_is_refused_from_its_header(
    tmp_path: Path, name: str, make: Callable[[], bytes]
) -> None:
    data = make()
    assert len(data) < 3 * MB
    with pytest.raises(ReferenceImageError) as info:
        prepare_references([write(tmp_path, name, data)])
    assert info.value.source == name
    assert "megapixels (JPEG up to 120). Make it smaller and try again." in str(info.value)
    assert f"the largest {name.rsplit('.', 1)[1].upper()} image accepted is 64 megapixels" in str(info.value)


# Runs in a fresh interpreter: prepares each file, resetting the peak RSS (VmHWM) before each one.
_MEASURE = """
import json, re, sys
from seedream_ui.errors import ReferenceImageError
from seedream_ui.references import prepare_reference
from seedream_ui.references.checks import inspect, plan_decode

def kb(field):
    return int(re.search(field + r":\\s+(\\d+)", open("/proc/self/status").read()).group(1))

for path in sys.argv[2:]:
    data = open(path, "rb").read()
    fmt, header = inspect(data, path)
    estimate = plan_decode(fmt, header, path, int(sys.argv[1]), 1 << 40, len(data)).cost
    del data, header
    open("/proc/self/clear_refs", "w").write("5")
    before = kb("VmRSS")
    try:
        prepared = prepare_reference(path, max_pixels=int(sys.argv[1]))
        outcome = f"{prepared.format} {prepared.width}x{prepared.height}"
    except ReferenceImageError as error:
        outcome = f"refused: {error}"
    print(json.dumps({"path": path, "peak": (kb("VmHWM") - before) * 1024, "estimate": estimate, "outcome": outcome}))
"""

# Each decodes to 20 MP or more from a file of at most a few MB, and is shrunk to 5 MP.
AMPLIFIERS: dict[str, Callable[[], bytes]] = {
    "flat.png": lambda: flat_png(5000, 4000, "RGB"),
    "transparent.png": lambda: flat_png(5000, 4000, "RGBA"),
    "palette.png": lambda: flat_png(5000, 4000, "P"),
    "deep.png": lambda: flat_png(5000, 4000, "I;16"),
    "runs.bmp": lambda: rle8_bmp(5000, 4000),
    "frames.gif": lambda: flat_frames("gif", 4000, 3000, 2),
    "frames.png": lambda: flat_frames("png", 5000, 4000, 3),
    "frames.webp": lambda: flat_frames("webp", 3000, 2000, 3),
    "pages.tiff": lambda: flat_frames("tiff", 5000, 4000, 3),
    "progressive.jpg": lambda: flat_jpeg(8000, 6000, progressive=True),
    "cmyk.jpg": lambda: encode(noise(100, 100).convert("CMYK").resize((6000, 4000)), "jpeg", quality=30),
}


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux's peak-RSS reset")
def test_every_amplifier_stays_within_its_memory_estimate(tmp_path: Path) -> None:
    paths = [str(write(tmp_path, name, make())) for name, make in AMPLIFIERS.items()]
    assert all(Path(path).stat().st_size < 12 * MB for path in paths)

    run = subprocess.run(
        [sys.executable, "-c", _MEASURE, "5000000", *paths], check=False, capture_output=True, text=True, cwd=ROOT,
        timeout=600,
    )

    assert run.returncode == 0, run.stderr[-2000:]
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(rows) == len(AMPLIFIERS)
    for row in rows:
        name = Path(row["path"]).name
        assert not row["outcome"].startswith("refused"), (name, row["outcome"])
        width, height = map(int, row["outcome"].split()[1].split("x"))
        assert width * height <= 5_000_000
        # The estimate is what the budget reserves: the real peak must not exceed it (16 MB for the allocator).
        assert row["peak"] <= row["estimate"] + 16 * MB, (name, row["peak"] // MB, row["estimate"] // MB)
    deep = next(row for row in rows if row["path"].endswith("deep.png"))
    assert deep["peak"] < 20_000_000 * 6  # 16 to 8 bits through full 32-bit copies took 200 MB (10 bytes a pixel)


# --------------------------------------------------------------------------------------------------------
# The event loop


def test_the_event_loop_keeps_running_while_fourteen_heavy_references_are_prepared(tmp_path: Path) -> None:
    heavy = [
        write(tmp_path, "scan.png", flat_png(6000, 4000, "I;16")),
        write(tmp_path, "poster.png", flat_png(6000, 4000, "P")),
        write(tmp_path, "phone.jpg", with_orientation(noise(3000, 2000), 6)),
        write(tmp_path, "big.bmp", encode(noise(1500, 1000), "bmp")),  # fast path: read and Base64 only
    ]
    sources = [heavy[i % len(heavy)] for i in range(14)]
    gaps: list[float] = []
    names: set[str] = set()

    async def heartbeat(done: asyncio.Event) -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.02)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now
            names.update(t.name for t in threading.enumerate() if t.name.startswith("reference"))

    async def scenario() -> int:
        done = asyncio.Event()
        beat = asyncio.ensure_future(heartbeat(done))
        prepared = await prepare_references_async(sources, max_pixels=12_000_000)
        done.set()
        await beat
        return len(prepared)

    started = time.perf_counter()
    assert asyncio.run(scenario()) == 14
    total = time.perf_counter() - started
    # Preparing on the loop froze it for the whole run: one gap as long as the work. A ratio, not a time, so a
    # loaded machine slows both sides alike.
    assert len(gaps) > 10
    assert max(gaps) < total / 2
    assert 0 < len(names) <= WORKERS  # the work ran on the shared pool, never more threads than cores
