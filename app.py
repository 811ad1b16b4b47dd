"""Seedream 4.5 demo: `python app.py` serves it (port from GRADIO_SERVER_PORT, default 7860)."""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # nothing about visitors leaves the machine

from seedream_ui.config import load_settings  # noqa: E402
from seedream_ui.errors import ConfigError  # noqa: E402
from seedream_ui.ui import build_demo, launch_options  # noqa: E402

if __name__ == "__main__":
    try:
        settings = load_settings()
    except ConfigError as exc:
        raise SystemExit(f"Configuration error: {exc}") from None
    if settings.offline:
        print(
            "Offline preview: no SEEDREAM_API_KEY is set, so a local stand-in API answers with placeholder images.\n"
            "To use the real API, set SEEDREAM_API_KEY in the environment or in .env (see .env.example).",
            flush=True,
        )
    demo = build_demo(settings)
    demo.queue(default_concurrency_limit=settings.concurrency).launch(**launch_options(settings))
