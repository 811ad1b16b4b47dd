"""`python app.py` as a newcomer runs it: offline preview without a key, one clear line for bad settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.support import ROOT, app_process


def test_without_a_key_the_demo_starts_in_a_labelled_offline_preview(tmp_path: Path) -> None:
    with app_process(tmp_path) as app:
        page = httpx.get(app.url, timeout=10).text
        config = httpx.get(app.url + "config", timeout=10).text
    assert "Offline preview" in app.log() and "SEEDREAM_API_KEY" in app.log()
    assert "Offline preview" in page + config
    assert "SEEDREAM_API_KEY" in page + config  # the banner says how to add a key


def test_with_a_key_there_is_no_offline_banner(tmp_path: Path) -> None:
    with app_process(tmp_path, env={"SEEDREAM_API_KEY": "sk-startup-test"}) as app:
        config = httpx.get(app.url + "config", timeout=10).text
    assert "Offline preview" not in config
    assert "Offline preview" not in app.log()


def test_an_invalid_setting_stops_start_up_with_one_clear_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "app.py")],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "SEEDREAM_READ_TIMEOUT": "-5", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert done.stderr.strip() == "Configuration error: SEEDREAM_READ_TIMEOUT must be greater than 0, got '-5'."
    assert "Traceback" not in done.stderr + done.stdout


def test_settings_come_from_a_dotenv_file_in_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SEEDREAM_API_URL=ftp://not-http.example\n")
    done = subprocess.run(
        [sys.executable, str(ROOT / "app.py")],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "SEEDREAM_API_URL must be an http:// or https:// URL" in done.stderr
