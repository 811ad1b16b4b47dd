"""SeedreamClient against the local stand-in API over a real socket on 127.0.0.1.

Each test asserts what a user of the client observes (images or the error and its message) and what the
server saw (how many paid requests arrived), for every response shape and every injectable fault.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time

import pytest

from seedream_ui.client import GenerationResult, SeedreamClient, SyncSeedreamClient
from seedream_ui.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ContentPolicyError,
    InvalidResponseError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from seedream_ui.request import GenerateRequest
from seedream_ui.stub_api import StubConfig, StubServer, read_marker
from tests.images import data_uri

KEY = "sk-contract-SECRET-0a1b2c3d"
SMALL = "1920x1920"  # the fewest pixels the API allows: the cheapest image to draw
REQUEST = GenerateRequest(prompt="a red fox in the snow", size=SMALL)


def sequence(count: int, prompt: str = "four seasons of one tree") -> GenerateRequest:
    return GenerateRequest(prompt=prompt, size=SMALL, sequential_image_generation="auto", max_images=count)


def client_for(stub: StubServer, **options: object) -> SeedreamClient:
    """The real pooled client (no injected transport), with short waits so fault tests stay fast."""
    options.setdefault("api_key", KEY)
    options.setdefault("backoff_base", 0.01)
    options.setdefault("read_timeout", 20.0)
    return SeedreamClient(api_url=stub.url, **options)  # type: ignore[arg-type]


async def generate(
    stub: StubServer, request: GenerateRequest = REQUEST, headers: dict[str, str] | None = None, **options: object
) -> GenerationResult:
    async with client_for(stub, **options) as client:
        return await client.generate(request, headers=headers)


async def failure(
    stub: StubServer, request: GenerateRequest = REQUEST, headers: dict[str, str] | None = None, **options: object
) -> APIError:
    with pytest.raises(APIError) as caught:
        await generate(stub, request, headers, **options)
    return caught.value


def statuses(stub: StubServer) -> list[int | None]:
    return [entry["status"] for entry in stub.requests()]


# ------------------------------------------------------------------------------------------ success


@pytest.mark.parametrize(
    ("response_format", "has_url"),
    [("url", True), ("b64", False), ("data-uri", False), ("object-url", True), ("object-b64", False)],
)
async def test_every_response_shape_gives_the_requested_images(
    stub: StubServer, response_format: str, has_url: bool
) -> None:
    result = await generate(stub, sequence(2), {"X-Stub-Response-Format": response_format})
    assert [(i.format, i.width, i.height) for i in result.images] == [("jpeg", 1920, 1920)] * 2
    assert [i.url is not None for i in result.images] == [has_url, has_url]
    markers = [read_marker(image.data) for image in result.images]
    assert [(m["prompt"], m["size"], m["index"], m["count"]) for m in markers] == [
        ("four seasons of one tree", "1920x1920", 1, 2),
        ("four seasons of one tree", "1920x1920", 2, 2),
    ]
    assert result.failures == ()
    assert statuses(stub) == [200]
    assert stub.image_fetches() == (2 if has_url else 0)


async def test_a_mixed_answer_with_all_five_shapes_comes_back_complete_and_in_order(stub: StubServer) -> None:
    result = await generate(stub, sequence(5), {"X-Stub-Response-Format": "mixed"})
    assert [read_marker(image.data)["index"] for image in result.images] == [1, 2, 3, 4, 5]
    assert [image.url is not None for image in result.images] == [True, False, False, True, False]
    assert stub.image_fetches() == 2


async def test_png_results_are_recognised_as_png(stub: StubServer) -> None:
    result = await generate(stub, headers={"X-Stub-Image-Format": "png", "X-Stub-Response-Format": "b64"})
    (image,) = result.images
    assert (image.format, image.mime_type, image.extension) == ("png", "image/png", "png")
    assert read_marker(image.data)["size"] == SMALL


async def test_a_200_is_sent_exactly_once_with_the_key_and_the_validated_payload(stub: StubServer) -> None:
    request = GenerateRequest(prompt="  a red fox  ", size="2K", watermark=False, optimize_prompt_mode="standard")
    result = await generate(stub, request)
    (seen,) = stub.requests()
    assert seen["status"] == 200
    assert seen["api_key"] == KEY
    assert seen["headers"]["content-type"] == "application/json"
    assert seen["body"] == request.validated().to_payload()
    assert (result.images[0].width, result.images[0].height) == (2048, 2048)


async def test_reference_images_and_boundary_sizes_that_our_validator_accepts_the_api_accepts(
    stub: StubServer,
) -> None:
    reference = data_uri("png", (8, 8))
    requests = [
        GenerateRequest(prompt="extreme panorama", size="7680x480"),  # ratio exactly 16, pixels exactly the minimum
        GenerateRequest(prompt="with references", size=SMALL, images=(reference, "https://example.com/a.jpg")),
        GenerateRequest(
            prompt="fill the budget", size=SMALL, images=(reference,), sequential_image_generation="auto", max_images=2
        ),
    ]
    async with client_for(stub) as client:
        for request in requests:
            result = await client.generate(request, headers={"X-Stub-Response-Format": "b64"})
            assert len(result.images) == request.expected_images()
    assert statuses(stub) == [200, 200, 200]
    assert [ref["format"] for ref in read_marker(result.images[0].data)["references"]] == ["png"]


async def test_a_per_call_key_is_the_one_the_api_receives(stub: StubServer) -> None:
    async with client_for(stub, api_key=None) as client:
        await client.generate(REQUEST, api_key="sk-visitor-1")
        with pytest.raises(AuthenticationError):
            await client.generate(REQUEST)
    assert [entry["api_key"] for entry in stub.requests()] == ["sk-visitor-1"]


async def test_concurrent_generations_share_the_pool_and_never_mix_up_answers(stub: StubServer) -> None:
    async with client_for(stub) as client:
        running = asyncio.gather(
            *(
                client.generate(
                    GenerateRequest(prompt=f"picture {n}", size=SMALL),
                    headers={"X-Stub-Token": f"token-{n}", "X-Stub-Latency": "3"},
                )
                for n in range(6)
            )
        )
        # One after another, the stand-in would never hold six unanswered requests at once.
        in_flight = 0
        while not running.done() and in_flight < 6:
            await asyncio.sleep(0.02)
            in_flight = sum(entry["status"] is None for entry in stub.requests())
        results = await running
    assert in_flight == 6
    assert [read_marker(r.images[0].data)["token"] for r in results] == [f"token-{n}" for n in range(6)]
    assert [r.request.prompt for r in results] == [f"picture {n}" for n in range(6)]


# ------------------------------------------------------------------------------------------ every fault

FAULTS_SENT_ONCE = [
    ("400", BadRequestError, "Seedream rejected the request: The request is invalid (injected fault)."),
    (
        "content-policy",
        ContentPolicyError,
        (
            "Seedream declined the request under its content policy: The request was rejected because the prompt "
            "or a reference image may contain sensitive content; change it and try again."
        ),
    ),
    ("401", AuthenticationError, "The API key was rejected (401). Check SEEDREAM_API_KEY or the key box."),
    (
        "403",
        PermissionDeniedError,
        (
            "The API key is not allowed to do this (403). This API key is not allowed to use Seedream 4.5; check "
            "the key's permissions. Check SEEDREAM_API_KEY or the key box."
        ),
    ),
    (
        "500",
        ServerError,
        "Seedream had a server error (500). It said: The service hit an internal error; try again later.",
    ),
    ("not-json", InvalidResponseError, "Seedream's answer was not JSON (HTTP 200: <html>upstream error</html>)."),
    ("no-images", InvalidResponseError, "Seedream returned no images."),
    ("empty-images", InvalidResponseError, "Seedream returned no images."),
    (
        "bad-image",
        InvalidResponseError,
        "Seedream returned 1 image(s) but none could be used: The image: not an image (it does not decode).",
    ),
    (
        "url-404",
        InvalidResponseError,
        "Seedream returned 1 image(s) but none could be used: The image: the result URL answered 404.",
    ),
]


@pytest.mark.parametrize(("fault", "error_type", "message"), FAULTS_SENT_ONCE, ids=[f[0] for f in FAULTS_SENT_ONCE])
async def test_faults_that_must_not_be_retried_are_sent_once(
    stub: StubServer, fault: str, error_type: type[APIError], message: str
) -> None:
    exc = await failure(stub, headers={"X-Stub-Fault": fault}, max_retries=3)
    assert type(exc) is error_type
    assert exc.message == message
    assert len(stub.requests()) == 1


async def test_503_is_retried_up_to_max_retries_then_reported(stub: StubServer) -> None:
    exc = await failure(stub, headers={"X-Stub-Fault": "503"}, max_retries=2)
    assert type(exc) is ServerError
    assert exc.status_code == 503
    assert exc.message.startswith("Seedream had a server error (503) and did not recover after 3 attempts.")
    assert statuses(stub) == [503] * 3


@pytest.mark.parametrize("fault", ["502", "504"])
async def test_502_and_504_are_sent_once_because_the_upstream_may_still_be_billing(
    stub: StubServer, fault: str
) -> None:
    exc = await failure(stub, headers={"X-Stub-Fault": fault}, max_retries=2)
    assert type(exc) is ServerError
    assert exc.message.startswith(f"Seedream had a server error ({fault}).")
    assert "Not retried automatically" in exc.message
    assert statuses(stub) == [int(fault)]


async def test_a_503_that_clears_gives_images_after_exactly_one_more_request(stub: StubServer) -> None:
    stub.queue_faults(["503", "429", "ok"])
    result = await generate(stub, max_retries=2, headers={"X-Stub-Retry-After": "0"})
    assert len(result.images) == 1
    assert statuses(stub) == [503, 429, 200]


async def test_429_is_retried_after_retry_after_and_then_succeeds(stub: StubServer) -> None:
    stub.queue_faults(["429", "ok"])
    started = time.perf_counter()
    result = await generate(stub, headers={"X-Stub-Retry-After": "0.3"}, backoff_base=0.001)
    assert time.perf_counter() - started >= 0.3
    assert len(result.images) == 1
    assert statuses(stub) == [429, 200]


async def test_429_that_persists_is_a_rate_limit_error_carrying_retry_after(stub: StubServer) -> None:
    exc = await failure(stub, headers={"X-Stub-Fault": "429", "X-Stub-Retry-After": "0.05"}, max_retries=2)
    assert type(exc) is RateLimitError
    assert exc.retry_after == 0.05
    assert exc.message == "Rate limited by Seedream; retry after 0.05 s."
    assert statuses(stub) == [429] * 3


async def test_429_asking_for_too_long_a_wait_is_reported_at_once(stub: StubServer) -> None:
    exc = await failure(stub, headers={"X-Stub-Fault": "429", "X-Stub-Retry-After": "90"}, max_retry_after=60)
    assert type(exc) is RateLimitError
    assert (exc.retry_after, exc.message) == (90.0, "Rate limited by Seedream; retry after 90 s.")
    assert len(stub.requests()) == 1


async def test_429_without_retry_after_backs_off_then_reports(stub: StubServer) -> None:
    exc = await failure(stub, headers={"X-Stub-Fault": "429-no-retry-after"}, max_retries=1)
    assert type(exc) is RateLimitError
    assert exc.retry_after is None
    assert exc.message == "Rate limited by Seedream after 2 attempts; wait a moment and try again."
    assert statuses(stub) == [429, 429]


async def test_a_hanging_api_is_a_timeout_and_is_not_sent_again(stub: StubServer) -> None:
    exc = await failure(stub, headers={"X-Stub-Fault": "hang"}, read_timeout=0.4, max_retries=3)
    assert type(exc) is APITimeoutError
    assert exc.message == "Seedream did not answer within 0.4 s."
    assert len(stub.requests()) == 1


async def test_a_connection_dropped_mid_answer_is_not_sent_again(stub: StubServer) -> None:
    exc = await failure(stub, headers={"X-Stub-Fault": "drop"}, max_retries=3)
    assert type(exc) is APIConnectionError
    assert exc.message.startswith("The connection to Seedream broke before its answer was complete")
    assert "may already have been generated" in exc.message
    assert len(stub.requests()) == 1


async def test_a_partly_missing_sequence_returns_the_good_images_and_counts_the_missing(stub: StubServer) -> None:
    result = await generate(stub, sequence(3), {"X-Stub-Fault": "partial-url-404"})
    assert [read_marker(image.data)["index"] for image in result.images] == [2, 3]
    assert result.failures == ("Image 1 of 3: the result URL answered 404.",)
    assert len(stub.requests()) == 1


async def test_the_ok_fault_is_a_normal_answer(stub: StubServer) -> None:
    result = await generate(stub, headers={"X-Stub-Fault": "ok"})
    assert len(result.images) == 1 and statuses(stub) == [200]


# ------------------------------------------------------------------------------------------ keys and network


async def test_a_key_the_api_does_not_know_is_rejected_once() -> None:
    with StubServer(StubConfig(api_key="sk-the-right-one")) as strict:
        exc = await failure(strict, api_key="sk-the-wrong-one")
        assert type(exc) is AuthenticationError and exc.status_code == 401
        assert [entry["status"] for entry in strict.requests()] == [401]
        assert len((await generate(strict, api_key="sk-the-right-one")).images) == 1


async def test_no_server_listening_is_a_connection_error_after_the_retries() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: nothing listens there
    client = SeedreamClient(api_key=KEY, api_url=f"http://127.0.0.1:{port}/v3/seedream-4.5", backoff_base=0.01)
    async with client:
        with pytest.raises(APIConnectionError) as caught:
            await client.generate(REQUEST)
    assert caught.value.message.startswith(f"Could not connect to Seedream at 127.0.0.1:{port} after 3 attempts")


async def test_the_key_stays_out_of_every_error_and_log_line(
    stub: StubServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    faults = ["400", "401", "403", "429", "500", "503", "not-json", "bad-image", "url-404", "drop", "ok"]
    async with client_for(stub, max_retries=1) as client:
        for fault in faults:
            try:
                await client.generate(REQUEST, headers={"X-Stub-Fault": fault, "X-Stub-Retry-After": "0"})
            except APIError as exc:
                assert KEY not in f"{exc} {exc!r} {exc.body!r} {exc.__cause__!r} {exc.__context__!r}"
    assert len(stub.requests()) >= len(faults)
    assert KEY not in caplog.text


def test_one_client_keeps_working_across_event_loops_and_closes_cleanly(stub: StubServer) -> None:
    # Scripts call asyncio.run() more than once; connections of a finished loop must not be reused.
    client = client_for(stub)
    first = asyncio.run(client.generate(REQUEST))
    second = asyncio.run(client.generate(REQUEST))
    asyncio.run(client.aclose())
    assert len(first.images) == len(second.images) == 1
    assert statuses(stub) == [200, 200]


# ------------------------------------------------------------------------------------------ sync wrapper


def test_the_sync_wrapper_generates_against_the_stand_in(stub: StubServer) -> None:
    with SyncSeedreamClient(api_key=KEY, api_url=stub.url) as client:
        first = client.generate(REQUEST)
        second = client.generate(sequence(2), headers={"X-Stub-Response-Format": "object-b64"})
        with pytest.raises(BadRequestError):
            client.generate(REQUEST, headers={"X-Stub-Fault": "400"})
    assert read_marker(first.images[0].data)["prompt"] == "a red fox in the snow"
    assert len(second.images) == 2
    assert statuses(stub) == [200, 200, 400]
