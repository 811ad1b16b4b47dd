"""Seedream 4.5 demo: `python app.py` serves it (port from GRADIO_SERVER_PORT, default 7860)."""

import os
import signal
import time

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # nothing about visitors leaves the machine

from seedream_ui.config import load_settings  # noqa: E402
from seedream_ui.errors import ConfigError  # noqa: E402
from seedream_ui.quotas import budget_notice  # noqa: E402
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
    if notice := budget_notice(settings):  # the default daily spend cap in force (issue 10)
        print(notice, flush=True)
    demo = build_demo(settings)
    # SIGTERM (docker stop, a Space restarting) ends the app like Ctrl-C. demo.close() then stops the queue
    # before the server, so the server stops at once and Gradio deletes the uploads and results it cached;
    # at exit the backend removes its result folders. Killed by SIGTERM's default action, both were left.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    demo.queue(default_concurrency_limit=settings.concurrency).launch(
        prevent_thread_lock=True, **launch_options(settings)
    )
    try:
        while demo.is_running:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        demo.close()
