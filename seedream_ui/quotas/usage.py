"""The operator's view: `python -m seedream_ui usage` prints images, estimated cost and refusals per UTC day,
and the visitors who made the most images (as their salted hashes: nobody's address is stored)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from seedream_ui.config import Settings, load_settings
from seedream_ui.errors import ConfigError
from seedream_ui.quotas.errors import StoreError
from seedream_ui.quotas.limits import DAY, usd
from seedream_ui.quotas.sqlite_store import FILENAME
from seedream_ui.quotas.store import DayTotal, VisitorTotal, open_store, utc_day


def main(
    argv: Sequence[str] | None = None, *, settings: Settings | None = None, clock: Callable[[], float] = time.time
) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m seedream_ui usage",
        description="Images, estimated cost and refusals on the server's key, per UTC day, and the top visitors.",
    )
    parser.add_argument("--days", type=int, default=7, help="how many days back, today included (default 7)")
    parser.add_argument("--top", type=int, default=10, help="how many visitors to list (default 10)")
    args = parser.parse_args(argv)
    if args.days < 1 or args.top < 0:
        parser.error("--days must be 1 or more and --top 0 or more")
    try:
        settings = settings or load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if not settings.redis_url and not (Path(settings.data_dir) / FILENAME).exists():
        print(f"No usage recorded yet: no {FILENAME} in {settings.data_dir} (SEEDREAM_DATA_DIR).")
        return 0
    now = clock()
    days = [utc_day(now - back * DAY) for back in range(args.days)]
    try:
        store = open_store(settings)
        try:
            totals, visitors = store.report(days)
        finally:
            store.close()
    except StoreError as exc:
        print(f"Cannot read the usage store: {exc}", file=sys.stderr)
        return 1
    print(render(totals, visitors[: args.top], settings, store.description))
    return 0


def render(totals: list[DayTotal], visitors: list[VisitorTotal], settings: Settings, where: str) -> str:
    budget = settings.effective_daily_budget
    heading = (
        f"Usage of the server's key ({where}). Cost is an estimate at ${settings.price_per_image:g} an image "
        f"(SEEDREAM_PRICE_PER_IMAGE); daily budget: {usd(round(budget * 1e6)) if budget else 'none'}."
    )
    lines = [
        heading,
        "",
        f"{'day (UTC)':<12}{'images':>8}{'est. cost':>12}{'refusals':>10}",
    ]
    lines += [f"{t.day:<12}{t.images:>8}{usd(t.cost_micros):>12}{t.refusals:>10}" for t in totals]
    images, cost, refused = (sum(getattr(t, name) for t in totals) for name in ("images", "cost_micros", "refusals"))
    lines += [f"{'total':<12}{images:>8}{usd(cost):>12}{refused:>10}", ""]
    if not visitors:
        lines.append("No visitors in these days.")
        return "\n".join(lines)
    lines.append(f"Top visitors over these {len(totals)} days (salted hashes: user- signed in, addr- by address)")
    lines.append(f"{'visitor':<27}{'images':>8}{'est. cost':>12}{'refusals':>10}")
    lines += [f"{v.visitor:<27}{v.images:>8}{usd(v.cost_micros):>12}{v.refusals:>10}" for v in visitors]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
