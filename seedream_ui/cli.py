"""The command line: `python -m seedream_ui generate "PROMPT"`, `... stub`, `... usage`.

`generate` (seedream_ui/cli_generate.py) builds the same GenerateRequest as the page and calls the same
client. There is deliberately no `--api-key` flag: command lines are visible to every user of the machine
(`ps`); the key comes from the environment / `.env` or `--api-key-file`.
"""

from __future__ import annotations

import argparse
import importlib
import io
import sys
from collections.abc import Sequence

from seedream_ui.cli_generate import EXIT_INVALID, generate_command
from seedream_ui.request import OPTIMIZE_MODES, GenerateRequest

COMMANDS = {
    "generate": "generate images from a prompt (and reference images)",
    "stub": "run the local stand-in API (python -m seedream_ui stub --help for its options)",
    "usage": "show API usage and quotas",
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    _tolerant_streams()
    # `stub` and `usage` own their options: hand them everything after the command name, --help included.
    if args and args[0] == "stub":
        from seedream_ui.stub_api import main as stub_main

        return stub_main(args[1:])
    if args and args[0] == "usage":
        return _usage(args[1:])
    parsed = build_parser().parse_args(args)
    if parsed.command is None:
        build_parser().print_help(sys.stderr)
        return EXIT_INVALID
    return generate_command(parsed)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m seedream_ui",
        description="Seedream 4.5 from the command line: the same client and request rules as the web demo.",
        epilog="Exit codes: 0 success, 2 invalid input (nothing was sent), 1 the API or the network failed.",
    )
    commands = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")
    generate = commands.add_parser("generate", help=COMMANDS["generate"], description=_GENERATE_HELP,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    generate.add_argument("prompt", help="what to draw (quote it)")
    generate.add_argument(
        "--size", default=GenerateRequest(prompt="").size, help="2K, 4K or WIDTHxHEIGHT (default: %(default)s)"
    )
    generate.add_argument(
        "--ref", action="append", default=[], metavar="PATH_OR_URL",
        help="a reference image: a file, an http(s) URL (sent unchanged) or a data URI; repeat for up to 14",
    )  # fmt: skip
    generate.add_argument(
        "--sequence", type=int, metavar="N",
        help="sequential generation: let Seedream make up to N related images (references + N <= 15)",
    )  # fmt: skip
    generate.add_argument("--no-watermark", action="store_true", help="ask for images without the watermark")
    generate.add_argument(
        "--optimize-prompt", default="standard", metavar="|".join(OPTIMIZE_MODES),
        # No argparse `choices`: request.py owns the rule and its message (why 'fast' is refused on 4.5).
        help="prompt optimisation mode (default: %(default)s; Seedream 4.5 supports only standard)",
    )  # fmt: skip
    generate.add_argument("--out", default=".", metavar="DIR", help="folder for the results (default: here)")
    generate.add_argument("--json", action="store_true", help="print one JSON record on stdout")
    generate.add_argument(
        "--api-key-file", metavar="PATH",
        help="read the API key from this file ('-' for stdin) instead of SEEDREAM_API_KEY",
    )  # fmt: skip
    generate.add_argument("--api-url", metavar="URL", help="the endpoint, instead of SEEDREAM_API_URL")
    commands.add_parser("stub", help=COMMANDS["stub"], add_help=False)
    commands.add_parser("usage", help=COMMANDS["usage"], add_help=False)
    return parser


_GENERATE_HELP = """\
Generate images and save them, named like the page's downloads, with a request.json of the parameters.

The API key comes from SEEDREAM_API_KEY (environment or .env) or --api-key-file. Without one, a local
stand-in answers with placeholder images, as in the demo's offline preview.

examples:
  python -m seedream_ui generate "a lighthouse at dusk, oil painting" --size 4K --out results
  python -m seedream_ui generate "the same cat in winter" --ref cat.png --ref https://example.com/snow.jpg
  python -m seedream_ui generate "a four-panel comic" --sequence 4 --json > record.json
"""


def _usage(argv: list[str]) -> int:
    try:
        usage = importlib.import_module("seedream_ui.quotas.usage")
    except ModuleNotFoundError as error:
        if error.name not in ("seedream_ui.quotas", "seedream_ui.quotas.usage"):
            raise
        print("python -m seedream_ui usage: not available in this version.", file=sys.stderr)
        return EXIT_INVALID
    return int(usage.main(argv))


def _tolerant_streams() -> None:
    """Never crash on printing: a prompt or a ✓ on a terminal that cannot show it is replaced, not fatal."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
