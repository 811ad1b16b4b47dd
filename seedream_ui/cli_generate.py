"""`python -m seedream_ui generate`: the page's request, checked in full before anything is sent, on its client.

Exit codes: 0 success, 2 invalid input (nothing was sent), 1 the API or the network failed; the message is
the page's (the SeedreamError's), never a traceback. The key comes from the environment / `.env` or a key
file; with none, a stand-in started in this process answers, as in the page's offline preview.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import secrets
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from seedream_ui.cli_output import Progress, error_record, success_record, write_results
from seedream_ui.config import load_settings
from seedream_ui.errors import ConfigError, SeedreamError, ValidationError
from seedream_ui.request import GenerateRequest

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130
# Stands in for a reference file while the cheap rules are checked, before any file is read (as the page does).
_FILE_PLACEHOLDER = "https://reference.placeholder/"
_KEY_FILE_MAX_BYTES = 64 * 1024
_VISIBLE_ASCII = re.compile(r"^[\x21-\x7e]+$")


class CommandLineError(SeedreamError):
    """An option the command line cannot use (a missing key file, an --out that is a file, ...): exit 2."""


class ResultsNotSavedError(SeedreamError):
    """The images came back but could not be written (a full disk, say): exit 1."""


@dataclass
class Target:
    """Where the request goes: the configured API, or (no key) the in-process stand-in of the offline preview."""

    api_url: str
    api_key: str | None = field(repr=False)
    options: dict[str, Any]
    stub: Any = None  # the started StubServer, in offline preview

    @property
    def offline(self) -> bool:
        return self.stub is not None

    def close(self) -> None:
        if self.stub is not None:
            self.stub.stop()


def generate_command(args: argparse.Namespace) -> int:
    logging.getLogger("seedream_ui").addHandler(logging.NullHandler())  # failures are reported below, once
    progress = Progress(sys.stderr)
    target: Target | None = None
    sent = False
    try:
        target = resolve_target(args)
        request, names = build_request(args)
        out = output_folder(args.out)
        if target.api_key is None:
            start_preview(target, args, progress)
        progress.start(_start_line(request, target))
        sent = True
        started = time.perf_counter()
        result = asyncio.run(_generate(request, target, progress))
        elapsed = time.perf_counter() - started
        files, request_file = save(out, result.images, request, names)
    except KeyboardInterrupt:
        progress.end("Stopped waiting. The request was sent and may be billed." if sent else "Stopped; nothing sent.")
        return EXIT_INTERRUPTED
    except SeedreamError as error:
        invalid = isinstance(error, (ValidationError, ConfigError, CommandLineError))
        return _fail(args, progress, error, EXIT_INVALID if invalid else EXIT_FAILED)
    finally:
        if target is not None:
            target.close()
    warnings = _warnings(result)
    progress.end(_end_line(result.images, elapsed, out), warnings)
    if args.json:
        record = success_record(
            files, result.images, request_file, elapsed, warnings, request, names, offline=target.offline
        )
        print(json.dumps(record, indent=2))
    else:
        print("\n".join(str(path) for path in [*files, request_file]))
    return EXIT_OK


def save(out: Path, images: Sequence[Any], request: GenerateRequest, names: Sequence[str]) -> tuple[list[Path], Path]:
    try:
        return write_results(out, images, request, names, datetime.now())
    except OSError as error:
        raise ResultsNotSavedError(
            f"The images were generated but could not be saved in {out}: {error.strerror or error}."
        ) from None


def build_request(args: argparse.Namespace) -> tuple[GenerateRequest, list[str]]:
    """The validated request with its references prepared, and the references' names. Nothing is sent."""
    from seedream_ui.references import prepare_references

    refs: list[str] = list(args.ref)
    request = GenerateRequest(
        prompt=args.prompt,
        size=args.size,
        watermark=not args.no_watermark,
        optimize_prompt_mode=args.optimize_prompt,
        sequential_image_generation="disabled" if args.sequence is None else "auto",
        max_images=args.sequence,
    )
    # Every rule that does not need the files' content first, so a typo in the size is reported at once.
    cheap = tuple(ref if _is_inline(ref) else _FILE_PLACEHOLDER for ref in refs)
    replace(request, images=cheap).validated()
    prepared = prepare_references(refs)
    return replace(request, images=tuple(p.value for p in prepared)).validated(), [p.name for p in prepared]


def output_folder(path: str) -> Path:
    """The results folder, created if missing and checked writable before a paid call is made."""
    out = Path(path).expanduser()
    if out.exists() and not out.is_dir():
        raise CommandLineError(f"--out {path} is a file, not a folder.")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with open(out / f".seedream-write-test-{secrets.token_hex(4)}", "xb") as probe:
            Path(probe.name).unlink()
    except OSError as error:
        raise CommandLineError(f"Cannot write results to {path}: {error.strerror or error}.") from None
    return out.resolve()


def resolve_target(args: argparse.Namespace) -> Target:
    """Settings, endpoint and key, all checked; no key (None) means the offline preview. Nothing starts here."""
    settings = load_settings()
    options = {
        "connect_timeout": settings.connect_timeout,
        "read_timeout": settings.read_timeout,
        "max_retries": settings.max_retries,
    }
    key = read_key_file(args.api_key_file) if args.api_key_file else settings.api_key
    if key and not _VISIBLE_ASCII.match(key):
        # Checked here, not left to the client, so that it counts as invalid input (exit 2) like the rest.
        source = args.api_key_file or "SEEDREAM_API_KEY"
        raise CommandLineError(f"The API key in {source} contains spaces or non-ASCII characters; check it.")
    api_url = settings.api_url if args.api_url is None else _checked_url(args.api_url)
    return Target(api_url, key or None, options)


def start_preview(target: Target, args: argparse.Namespace, progress: Progress) -> None:
    """Point `target` at a stand-in started in this process, as the page's offline preview does."""
    from seedream_ui.stub_api import StubConfig, StubServer

    target.api_key = secrets.token_urlsafe(16)  # shared only between this process and its own stand-in
    target.stub = StubServer(StubConfig(api_key=target.api_key)).start()
    target.api_url = target.stub.url
    target.options["max_retries"] = 0
    ignored = " (--api-url is not used without a key)" if args.api_url else ""
    progress.note(
        "No API key (set SEEDREAM_API_KEY in the environment or .env, or use --api-key-file): offline preview, "
        f"a local stand-in at {target.api_url} draws placeholder images{ignored}."
    )


def read_key_file(path: str) -> str:
    try:
        if path == "-":
            text = sys.stdin.read(_KEY_FILE_MAX_BYTES)
        else:
            with open(path, encoding="utf-8", errors="replace") as file:
                text = file.read(_KEY_FILE_MAX_BYTES)
    except OSError as error:
        raise CommandLineError(f"Cannot read the key file {path}: {error.strerror or error}.") from None
    key = text.strip()
    if not key:
        raise CommandLineError(f"The key file {path} is empty; it should hold only the API key.")
    return key


async def _generate(request: GenerateRequest, target: Target, progress: Progress) -> Any:
    from seedream_ui.client import SeedreamClient

    async with SeedreamClient(api_key=target.api_key, api_url=target.api_url, **target.options) as client:
        task = asyncio.ensure_future(client.generate(request))
        started = time.perf_counter()
        while not task.done():
            await asyncio.wait({task}, timeout=0.25)
            progress.tick(time.perf_counter() - started)
        return task.result()


# ---- helpers --------------------------------------------------------------------------------------


def _fail(args: argparse.Namespace, progress: Progress, error: SeedreamError, code: int) -> int:
    progress.end(f"✗ {error}")
    if args.json:
        print(json.dumps(error_record(error, code), indent=2))
    return code


def _is_inline(ref: str) -> bool:
    head = ref.strip()[:8].lower()
    return head.startswith(("http://", "https://", "data:"))


def _checked_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CommandLineError(f"--api-url must be an http:// or https:// URL, got {url!r}.")
    return url


def _start_line(request: GenerateRequest, target: Target) -> str:
    count = request.expected_images()
    what = "1 image" if request.sequential_image_generation == "disabled" else f"up to {count} images"
    refs = f" from {len(request.images)} reference(s)" if request.images else ""
    where = "the local stand-in" if target.offline else urlsplit(target.api_url).netloc
    return f"Generating {what} at {request.size}{refs} with {where}…"


def _end_line(images: Sequence[Any], elapsed: float, out: Path) -> str:
    sizes = sorted({f"{image.width}x{image.height}" for image in images})
    plural = "s" if len(images) != 1 else ""
    return f"✓ {len(images)} image{plural} · {', '.join(sizes)} · {elapsed:.1f} s · saved in {out}"


def _warnings(result: Any) -> list[str]:
    notes = list(dict.fromkeys(getattr(result, "warnings", ())))
    failures = tuple(getattr(result, "failures", ()))
    if failures:
        total = len(failures) + len(result.images)
        notes.append(
            f"{len(failures)} of {total} images could not be downloaded from Seedream: " + "; ".join(failures[:3])
        )
    return notes
