"""Every fault of the Seedream API, through the whole app: `python app.py` driven by gradio_client (and by
Chromium for a few), talking to a stand-in this module controls.

For each fault the tests assert what the visitor sees (the message, its title, no stack trace), what the
session keeps (results and history survive an error), and how many requests the stand-in received: 503 and
429 are retried exactly `SEEDREAM_MAX_RETRIES` times, nothing else is (502 and 504 may follow a forwarded,
billable request), and a request that succeeded is never sent again.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from seedream_ui.stub_api import StubConfig, StubServer, read_marker
from tests.support import (
    ARTIFACTS,
    SMALL,
    AppProcess,
    app_process,
    generate_inputs,
    screenshot,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

KEY = "sk-faults-SECRET-5e1d9c"
MAX_RETRIES = 2
ATTEMPTS = MAX_RETRIES + 1
READ_TIMEOUT = 1.5
RETRY_AFTER = 1  # seconds, what the stand-in's 429 asks for


# ----------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def api() -> Iterator[StubServer]:
    """The stand-in for this module: it accepts only KEY, so a wrong key shows up as a 401."""
    with StubServer(StubConfig(api_key=KEY, retry_after=RETRY_AFTER)) as server:
        yield server


@pytest.fixture(scope="module")
def app(api: StubServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppProcess]:
    env = {
        "SEEDREAM_API_URL": api.url,
        "SEEDREAM_API_KEY": KEY,
        "SEEDREAM_READ_TIMEOUT": str(READ_TIMEOUT),
        "SEEDREAM_CONNECT_TIMEOUT": "2",
        "SEEDREAM_MAX_RETRIES": str(MAX_RETRIES),
    }
    with app_process(tmp_path_factory.mktemp("faults-app"), env) as running:
        yield running


@pytest.fixture
def stub(api: StubServer) -> StubServer:
    api.reset()
    return api


@pytest.fixture
def log_mark(app: AppProcess) -> Iterator[int]:
    """Fails the test if any handler failed while it ran (the app condenses a trace to one `error:` line), or
    logged a stack trace: every fault here is an expected one, answered with a message."""
    start = len(app.log())
    yield start
    new = app.log()[start:]
    assert "Traceback" not in new, new
    assert "\nerror: " not in "\n" + new, new
    assert KEY not in new


# ------------------------------------------------------------------------------------------------ helpers


def inputs(prompt: str = "a lighthouse at dusk", **fields: Any) -> dict[str, Any]:
    return generate_inputs(prompt, **fields)


def generate(client: Client, **fields: Any) -> tuple[Any, ...]:
    return client.predict(**inputs(**fields), api_name="/generate")


def failure(client: Client, **fields: Any) -> AppError:
    with pytest.raises(AppError) as caught:
        generate(client, **fields)
    return caught.value


def statuses(stub: StubServer) -> list[int | None]:
    return [record["status"] for record in stub.requests()]


def assert_success_sent_once(stub: StubServer) -> None:
    """A request the API answered with 200 is the last one: nothing after it, nothing twice."""
    answered = statuses(stub)
    assert answered.count(200) <= 1
    if 200 in answered:
        assert answered.index(200) == len(answered) - 1


def image_bytes(item: dict[str, Any]) -> bytes:
    response = httpx.get(item["image"]["url"], timeout=10)
    assert response.status_code == 200
    return response.content


def assert_plain_message(error: AppError) -> None:
    """What the visitor reads: a sentence, not a Python error."""
    message = str(error)
    assert message[:1].isupper() and message.rstrip().endswith(".")
    for tell in ("Traceback", 'File "', "Exception", "httpx.", "seedream_ui", KEY):
        assert tell not in message


# ------------------------------------------------------------------------------------ faults, one at a time

# (faults queued, title, what the message says (one or more parts), statuses the stand-in answered, in order)
FAULTS: list[tuple[list[str], str, str | tuple[str, ...], list[int | None]]] = [
    (["400"], "Seedream API error", "Seedream rejected the request: The request is invalid (injected fault).", [400]),
    (["content-policy"], "Refused by Seedream", ("declined the request under its content policy: The request was",
     "rejected because the prompt or a reference image may contain sensitive content"), [400]),
    (["401"], "API key problem", "The API key was rejected (401). Check SEEDREAM_API_KEY or the key box.", [401]),
    (["403"], "API key problem", ("The API key is not allowed to do this (403)",
     "This API key is not allowed to use Seedream 4.5"), [403]),
    (["429"] * ATTEMPTS, "Rate limited", f"Rate limited by Seedream; retry after {RETRY_AFTER} s.", [429] * ATTEMPTS),
    (["429-no-retry-after"] * ATTEMPTS, "Rate limited",
     f"Rate limited by Seedream after {ATTEMPTS} attempts; wait a moment and try again.", [429] * ATTEMPTS),
    (["500"], "Seedream API error", "Seedream had a server error (500). It said: The service hit an internal error",
     [500]),
    # 502 and 504 come from a gateway that may have passed the request on: never sent twice.
    (["502"], "Seedream API error", ("Seedream had a server error (502).", "Not retried automatically"), [502]),
    (["503"] * ATTEMPTS, "Seedream API error",
     f"Seedream had a server error (503) and did not recover after {ATTEMPTS} attempts.", [503] * ATTEMPTS),
    (["504"], "Seedream API error", ("Seedream had a server error (504).", "may still be making (and billing)"),
     [504]),
    # The client gave up, so the stand-in never answered: status None. Never re-sent: it may have been billed.
    (["hang"], "Seedream API error", f"Seedream did not answer within {READ_TIMEOUT} s.", [None]),
    # The 200 went out but the body broke off: the work was done, so sending it again would pay twice.
    (["drop"], "Seedream API error", "The connection to Seedream broke before its answer was complete", [200]),
    (["not-json"], "Seedream API error", "Seedream's answer was not JSON (HTTP 200: <html>upstream error</html>).",
     [200]),
    (["no-images"], "Seedream API error", "Seedream returned no images.", [200]),
    (["empty-images"], "Seedream API error", "Seedream returned no images.", [200]),
    (["bad-image"], "Seedream API error",
     "Seedream returned 1 image(s) but none could be used: The image: not an image (it does not decode).", [200]),
    (["url-404"], "Seedream API error",
     "Seedream returned 1 image(s) but none could be used: The image: the result URL answered 404.", [200]),
]


@pytest.mark.parametrize(
    ("faults", "title", "says", "answered"), FAULTS, ids=[f"{case[0][0]}x{len(case[0])}" for case in FAULTS]
)
def test_each_fault_shows_its_message_and_is_retried_exactly_as_the_policy_says(
    client: Client, stub: StubServer, log_mark: int,
    faults: list[str], title: str, says: str | tuple[str, ...], answered: list[int | None],
) -> None:  # fmt: skip
    stub.queue_faults(faults)
    error = failure(client)
    for part in (says,) if isinstance(says, str) else says:
        assert part in str(error)
    assert error.title == title
    assert_plain_message(error)
    assert statuses(stub) == answered
    assert stub.state.queued_faults() == []  # every queued fault was consumed: no more, no fewer requests
    assert_success_sent_once(stub)
    assert all(record["api_key"] == KEY for record in stub.requests())


def test_retries_of_a_429_wait_as_long_as_retry_after_says(client: Client, stub: StubServer, log_mark: int) -> None:
    stub.queue_faults(["429", "429", "ok"])
    results, _, status = generate(client)
    assert len(results) == 1 and status.startswith("✓ 1 image")
    times = [record["time"] for record in stub.requests()]
    assert statuses(stub) == [429, 429, 200]
    assert all(later - earlier >= RETRY_AFTER - 0.05 for earlier, later in itertools.pairwise(times))


@pytest.mark.parametrize(
    ("faults", "answered"),
    [(["503", "ok"], [503, 200]), (["503", "503", "ok"], [503, 503, 200]), (["429-no-retry-after", "ok"], [429, 200])],
    ids=["503-then-ok", "503-503-then-ok", "429-then-ok"],
)
def test_a_fault_that_clears_within_the_retries_gives_the_images_after_exactly_one_success(
    client: Client, stub: StubServer, log_mark: int, faults: list[str], answered: list[int]
) -> None:
    stub.queue_faults(faults)
    results, _, status = generate(client)
    assert status.startswith("✓ 1 image · 1920x1920")
    assert len(results) == 1
    assert statuses(stub) == answered
    assert_success_sent_once(stub)
    marker = read_marker(image_bytes(results[0]))
    assert marker is not None and marker["request_id"] == stub.requests()[-1]["id"]


def test_a_partial_failure_shows_the_good_images_and_says_how_many_failed(
    client: Client, stub: StubServer, log_mark: int
) -> None:
    stub.queue_faults(["partial-url-404"])
    results, _, status = generate(client, sequential_image_generation="auto", max_images=3)
    assert len(results) == 2
    assert [read_marker(image_bytes(item))["index"] for item in results] == [2, 3]  # type: ignore[index]
    assert status.startswith("✓ 2 images")
    assert "1 of 3 images could not be downloaded from Seedream: Image 1 of 3: the result URL answered 404." in status
    assert statuses(stub) == [200]  # the paid POST is not repeated for a missing download
    assert stub.image_fetches() == 3  # each URL fetched once: a 404 is not worth retrying


def test_a_session_keeps_its_results_through_every_fault(
    client: Client, stub: StubServer, log_mark: int
) -> None:
    # (The page's history gallery after faults is checked in the browser; /generate returns only its own results.)
    first_results, _, _ = generate(client, prompt="the first picture")
    first_bytes = image_bytes(first_results[0])
    for fault in ["400", "401", "500", "not-json", "bad-image", "drop", "url-404", "hang"]:
        stub.queue_faults([fault])
        failure(client)
    results, _, _ = generate(client, prompt="the last picture")
    assert read_marker(image_bytes(results[0]))["prompt"] == "the last picture"  # type: ignore[index]
    assert image_bytes(first_results[0]) == first_bytes  # the earlier result is still served after the faults
    assert statuses(stub) == [200, 400, 401, 500, 200, 200, 200, 200, None, 200]


def test_an_api_nobody_listens_on_is_retried_then_reported(
    client: Client, stub: StubServer, app: AppProcess, log_mark: int
) -> None:
    stub.stop()  # the port is closed: connection refused
    try:
        error = failure(client)
    finally:
        stub.start()  # same port, same records
    assert str(error).startswith(f"Could not connect to Seedream at 127.0.0.1:{stub.port} after {ATTEMPTS} attempts")
    assert error.title == "Seedream API error"
    assert_plain_message(error)
    assert stub.requests() == []
    attempts = [line for line in app.log()[log_mark:].splitlines() if "ConnectError" in line]
    assert [f"attempt {n}/{ATTEMPTS}" in line for n, line in enumerate(attempts, start=1)] == [True] * ATTEMPTS
    # And once it is back, the same session works again.
    results, _, status = generate(client)
    assert len(results) == 1 and status.startswith("✓ 1 image") and statuses(stub) == [200]


# ----------------------------------------------------------------------------------------------- browser


@pytest.mark.browser
def test_in_the_browser_a_fault_is_a_readable_toast_and_the_page_keeps_its_results(
    app: AppProcess, stub: StubServer, log_mark: int, page: Page
) -> None:
    from playwright.sync_api import expect

    page.fill("#prompt textarea", "a paper boat on a puddle")
    page.fill("#size textarea, #size input", SMALL)
    page.click("#generate")
    expect(page.locator("#results img")).to_have_count(1, timeout=20_000)
    kept_src = page.locator("#results img").first.get_attribute("src")
    expect(page.locator("#status")).to_contain_text("✓ 1 image")

    for faults, says in [
        (["503"] * ATTEMPTS, f"Seedream had a server error (503) and did not recover after {ATTEMPTS} attempts."),
        (["401"], "The API key was rejected (401)."),
        (["not-json"], "Seedream's answer was not JSON"),
    ]:
        stub.queue_faults(faults)
        page.click("#generate")
        toast = page.locator('[data-testid="toast-body"].error').last
        expect(toast).to_contain_text(says, timeout=20_000)
        assert "Traceback" not in toast.inner_text()
        # What the visitor had is still there: the prompt and the results; the status says what failed.
        expect(page.locator("#prompt textarea")).to_have_value("a paper boat on a puddle")
        expect(page.locator("#results img")).to_have_count(1)
        assert page.locator("#results img").first.get_attribute("src") == kept_src
        expect(page.locator("#status")).to_contain_text("The last attempt failed")
        expect(page.locator("#status")).to_contain_text("The results below are from an earlier generation")
        page.locator('[data-testid="toast-close"]').last.click()
    # The session's history still holds the one generation, and only that one.
    page.get_by_text("History: click an earlier generation to show it again").click()
    expect(page.locator("#history img")).to_have_count(1, timeout=10_000)
    screenshot(page, ARTIFACTS / "faults-after-errors.png")
    assert statuses(stub) == [200, *[503] * ATTEMPTS, 401, 200]

