"""Seedream 4.5 demo: `python app.py` serves it (port from GRADIO_SERVER_PORT, default 7860)."""

import gc
import os
import signal
import time

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # nothing about visitors leaves the machine

from seedream_ui.config import load_settings
from seedream_ui.errors import ConfigError
from seedream_ui.quotas import budget_notice
from seedream_ui.server import serve
from seedream_ui.server.logs import condense_tracebacks

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
    condense_tracebacks()
    # SIGTERM (docker stop, a Space restarting) ends the app like Ctrl-C, so the `finally` below runs.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    served = serve(settings)
    try:
        while served.running:
            time.sleep(0.1)
    except KeyboardInterrupt:
        pass
    finally:
        served.close()
        # Nothing is left to clean up; without this, the interpreter's final garbage collection over Gradio's
        # objects took 4-6 s on a busy 2-core machine, past the 2 s a stop may take.
        gc.freeze()
