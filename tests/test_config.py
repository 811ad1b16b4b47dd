"""Settings come from the environment, then `.env`, then defaults; a bad value stops start-up with one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from seedream_ui.config import _VARIABLES, DEFAULT_API_URL, Settings, load_settings
from seedream_ui.errors import ConfigError

SECRET = "sk-test-0123456789abcdef-SECRET"


def write_env(tmp_path: Path, text: str) -> str:
    path = tmp_path / ".env"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_defaults_when_nothing_is_configured(tmp_path: Path) -> None:
    settings = load_settings(environ={}, dotenv_path=str(tmp_path / "missing.env"))
    assert settings == Settings()
    assert settings.api_key is None
    assert settings.offline
    assert settings.api_url == DEFAULT_API_URL
    assert (settings.connect_timeout, settings.read_timeout) == (10.0, 300.0)
    assert (settings.max_retries, settings.concurrency, settings.max_upload_mb) == (2, 64, 30.0)
    assert settings.max_upload_bytes == 30 * 1024 * 1024


def test_no_dotenv_path_means_no_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_env(tmp_path, "SEEDREAM_MAX_RETRIES=7\n")
    monkeypatch.chdir(tmp_path)
    assert load_settings(environ={}, dotenv_path=None).max_retries == 2
    assert load_settings(environ={}).max_retries == 7  # the default path is ./.env


def test_every_variable_is_read_from_the_environment() -> None:
    settings = load_settings(
        environ={
            "SEEDREAM_API_KEY": SECRET,
            "SEEDREAM_API_URL": "http://127.0.0.1:8123/v3/seedream-4.5",
            "SEEDREAM_CONNECT_TIMEOUT": "2.5",
            "SEEDREAM_READ_TIMEOUT": "60",
            "SEEDREAM_MAX_RETRIES": "0",
            "SEEDREAM_CONCURRENCY": "4",
            "SEEDREAM_MAX_UPLOAD_MB": "12.5",
        },
        dotenv_path=None,
    )
    assert settings == Settings(
        api_key=SECRET,
        api_url="http://127.0.0.1:8123/v3/seedream-4.5",
        connect_timeout=2.5,
        read_timeout=60.0,
        max_retries=0,
        concurrency=4,
        max_upload_mb=12.5,
    )
    assert not settings.offline
    assert type(settings.max_retries) is int and type(settings.concurrency) is int
    assert settings.max_upload_bytes == int(12.5 * 1024 * 1024)


def test_the_newer_settings_are_read_from_the_environment() -> None:
    settings = load_settings(
        environ={
            "SEEDREAM_GENERATION_TIMEOUT": "120",
            "SEEDREAM_DECODE_MEMORY_MB": "256",
            "SEEDREAM_SHARE_DAYS": "0",
            "SEEDREAM_SHARE_MAX_MB_PER_VISITOR": "50",
            "SEEDREAM_SHARE_MAX_MB": "1000",
            "SEEDREAM_MCP": "off",
        },
        dotenv_path=None,
    )
    assert settings == Settings(
        generation_timeout=120.0,
        decode_memory_mb=256.0,
        share_days=0.0,
        share_max_mb_per_visitor=50.0,
        share_max_mb=1000.0,
        mcp=False,
    )
    assert settings.decode_memory_bytes == 256 * 1024 * 1024


def test_every_variable_is_documented_in_the_readme_and_env_example_in_the_same_order() -> None:
    root = Path(__file__).resolve().parent.parent
    readme = [line.split("`")[1] for line in (root / "README.md").read_text().splitlines() if line.startswith("| `SEEDREAM_")]
    example = [
        line.split("=")[0] for line in (root / ".env.example").read_text().splitlines() if line.startswith("SEEDREAM_")
    ]
    assert readme == list(_VARIABLES)
    assert example == list(_VARIABLES)


def test_the_dotenv_file_is_read(tmp_path: Path) -> None:
    path = write_env(
        tmp_path,
        f'# local settings\nSEEDREAM_API_KEY="{SECRET}"\nSEEDREAM_READ_TIMEOUT=90\nexport SEEDREAM_CONCURRENCY=3\n',
    )
    settings = load_settings(environ={}, dotenv_path=path)
    assert (settings.api_key, settings.read_timeout, settings.concurrency) == (SECRET, 90.0, 3)


def test_the_environment_wins_over_the_dotenv_file(tmp_path: Path) -> None:
    path = write_env(tmp_path, "SEEDREAM_API_KEY=from-file\nSEEDREAM_READ_TIMEOUT=90\nSEEDREAM_MAX_RETRIES=5\n")
    settings = load_settings(environ={"SEEDREAM_API_KEY": "from-env", "SEEDREAM_READ_TIMEOUT": "45"}, dotenv_path=path)
    assert settings.api_key == "from-env"
    assert settings.read_timeout == 45.0
    assert settings.max_retries == 5  # not in the environment, so the file's value stands


def test_the_process_environment_is_used_when_none_is_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEEDREAM_CONCURRENCY", "9")
    assert load_settings(dotenv_path=None).concurrency == 9


@pytest.mark.parametrize(
    ("value", "expected"),
    [("  15  ", 15.0), ("1e2", 100.0), ("0.5", 0.5)],
    ids=["padded", "exponent", "fraction"],
)
def test_numbers_are_read_leniently(value: str, expected: float) -> None:
    assert load_settings(environ={"SEEDREAM_CONNECT_TIMEOUT": value}, dotenv_path=None).connect_timeout == expected


@pytest.mark.parametrize("blank", ["", "   "], ids=["empty", "spaces"])
def test_a_blank_value_means_the_default(blank: str) -> None:
    environ = {name: blank for name in ("SEEDREAM_API_KEY", "SEEDREAM_API_URL", "SEEDREAM_READ_TIMEOUT", "SEEDREAM_MAX_RETRIES")}
    assert load_settings(environ=environ, dotenv_path=None) == Settings()


def test_a_whole_number_written_as_a_float_is_accepted() -> None:
    settings = load_settings(environ={"SEEDREAM_MAX_RETRIES": "3.0", "SEEDREAM_CONCURRENCY": "8.0"}, dotenv_path=None)
    assert (settings.max_retries, settings.concurrency) == (3, 8)


def test_zero_retries_is_allowed() -> None:
    assert load_settings(environ={"SEEDREAM_MAX_RETRIES": "0"}, dotenv_path=None).max_retries == 0


@pytest.mark.parametrize(
    "url",
    ["https://api.example.com/v3/seedream-4.5", "http://127.0.0.1:8000/v3/seedream-4.5", "HTTPS://API.EXAMPLE.COM/x"],
    ids=["https", "local-http", "upper-case"],
)
def test_http_and_https_api_urls_are_accepted(url: str) -> None:
    assert load_settings(environ={"SEEDREAM_API_URL": url}, dotenv_path=None).api_url == url


INVALID = [
    # (variable, value, words the message must contain)
    pytest.param("SEEDREAM_CONNECT_TIMEOUT", "0", "greater than 0", id="zero-connect-timeout"),
    pytest.param("SEEDREAM_CONNECT_TIMEOUT", "-1", "greater than 0", id="negative-connect-timeout"),
    pytest.param("SEEDREAM_READ_TIMEOUT", "0", "greater than 0", id="zero-read-timeout"),
    pytest.param("SEEDREAM_READ_TIMEOUT", "-30", "greater than 0", id="negative-read-timeout"),
    pytest.param("SEEDREAM_READ_TIMEOUT", "five minutes", "must be a number", id="text-read-timeout"),
    pytest.param("SEEDREAM_READ_TIMEOUT", "30s", "must be a number", id="timeout-with-unit"),
    pytest.param("SEEDREAM_READ_TIMEOUT", "nan", "greater than 0", id="nan-timeout"),
    pytest.param("SEEDREAM_READ_TIMEOUT", "inf", "greater than 0", id="infinite-timeout"),
    pytest.param("SEEDREAM_MAX_RETRIES", "1.5", "whole number", id="fractional-retries"),
    pytest.param("SEEDREAM_MAX_RETRIES", "-1", "0 or more", id="negative-retries"),
    pytest.param("SEEDREAM_MAX_RETRIES", "many", "must be a number", id="text-retries"),
    pytest.param("SEEDREAM_CONCURRENCY", "0", "greater than 0", id="zero-concurrency"),
    pytest.param("SEEDREAM_CONCURRENCY", "2.5", "whole number", id="fractional-concurrency"),
    pytest.param("SEEDREAM_MAX_UPLOAD_MB", "0", "greater than 0", id="zero-upload-limit"),
    pytest.param("SEEDREAM_MAX_UPLOAD_MB", "lots", "must be a number", id="text-upload-limit"),
    pytest.param("SEEDREAM_API_URL", "ftp://example.com/v3", "http:// or https://", id="ftp-url"),
    pytest.param("SEEDREAM_API_URL", "api.example.com/v3", "http:// or https://", id="url-without-scheme"),
    pytest.param("SEEDREAM_API_URL", "localhost:8000", "http:// or https://", id="host-port-without-scheme"),
    pytest.param("SEEDREAM_API_URL", "https://", "http:// or https://", id="url-without-host"),
    pytest.param("SEEDREAM_GENERATION_TIMEOUT", "0", "greater than 0", id="zero-generation-timeout"),
    pytest.param("SEEDREAM_GENERATION_TIMEOUT", "10 min", "must be a number", id="text-generation-timeout"),
    pytest.param("SEEDREAM_DECODE_MEMORY_MB", "0", "greater than 0", id="zero-decode-memory"),
    pytest.param("SEEDREAM_DECODE_MEMORY_MB", "768MB", "must be a number", id="decode-memory-with-unit"),
    pytest.param("SEEDREAM_SHARE_DAYS", "-1", "0 or more", id="negative-share-days"),
    pytest.param("SEEDREAM_SHARE_DAYS", "a month", "must be a number", id="text-share-days"),
    pytest.param("SEEDREAM_SHARE_MAX_MB_PER_VISITOR", "0", "greater than 0", id="zero-share-disk-per-visitor"),
    pytest.param("SEEDREAM_SHARE_MAX_MB", "-5000", "greater than 0", id="negative-share-disk"),
    pytest.param("SEEDREAM_MCP", "maybe", "1 or 0", id="unclear-mcp-flag"),
]


@pytest.mark.parametrize(("variable", "value", "phrase"), INVALID)
def test_an_invalid_value_stops_start_up_with_one_line_naming_the_variable(variable: str, value: str, phrase: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"SEEDREAM_API_KEY": SECRET, variable: value}, dotenv_path=None)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(variable)
    assert phrase in message
    assert repr(value) in message  # shows what was found, so the fix is obvious
    assert SECRET not in message


def test_an_invalid_value_in_the_dotenv_file_is_reported_too(tmp_path: Path) -> None:
    path = write_env(tmp_path, "SEEDREAM_READ_TIMEOUT=-5\n")
    with pytest.raises(ConfigError, match=r"^SEEDREAM_READ_TIMEOUT must be greater than 0"):
        load_settings(environ={}, dotenv_path=path)


def test_a_good_environment_value_hides_a_bad_one_in_the_file(tmp_path: Path) -> None:
    path = write_env(tmp_path, "SEEDREAM_READ_TIMEOUT=-5\n")
    assert load_settings(environ={"SEEDREAM_READ_TIMEOUT": "20"}, dotenv_path=path).read_timeout == 20.0


def test_the_key_never_appears_in_the_settings_repr_or_str(tmp_path: Path) -> None:
    path = write_env(tmp_path, f"SEEDREAM_API_KEY={SECRET}\n")
    settings = load_settings(environ={}, dotenv_path=path)
    assert settings.api_key == SECRET
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings)
    assert SECRET not in f"{settings!r} {settings}"
    assert "api_url=" in repr(settings)  # the rest is still there to debug with


def test_settings_cannot_be_changed_after_loading() -> None:
    settings = load_settings(environ={}, dotenv_path=None)
    with pytest.raises(AttributeError):
        settings.api_key = SECRET  # type: ignore[misc]
