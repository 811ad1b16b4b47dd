"""SeedreamClient against httpx.MockTransport: response shapes, error mapping, retries, secrecy.

No server and no network: every answer is scripted here, and every request the client sends is recorded.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import quote, quote_plus

import httpx
import pytest

from seedream_ui.client import (
    GeneratedImage,
    GenerationResult,
    SeedreamClient,
    SyncSeedreamClient,
    parse_retry_after,
)
from seedream_ui.config import Settings
from seedream_ui.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ContentPolicyError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ValidationError,
)
from seedream_ui.request import GenerateRequest
from tests.images import b64, image_bytes

API_URL = "https://api.example.test/v3/seedream-4.5"
CDN = "https://cdn.example.test"
KEY = "sk-test-SECRET-9f8e7d6c5b4a"
# A sequence of up to 15: answers with several images are within what it can produce.
REQUEST = GenerateRequest(prompt="a lighthouse at dusk", size="2K", sequential_image_generation="auto", max_images=15)


JPEG = image_bytes("JPEG")
PNG = image_bytes("PNG", (20, 10))
WEBP = image_bytes("WEBP", (8, 8))
JPEG_B64 = base64.b64encode(JPEG).decode()
PNG_B64 = base64.b64encode(PNG).decode()


class Recorder:
    """A scripted API: answers POSTs from a list, serves CDN URLs from a dict, remembers every request."""

    def __init__(self, *answers: httpx.Response | Exception | dict[str, object], cdn: dict[str, object] | None = None):
        self.answers = list(answers)
        self.cdn = cdn or {}
        self.posts: list[httpx.Request] = []
        self.gets: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            self.gets.append(request)
            answer = self.cdn.get(str(request.url), httpx.Response(404))
            if isinstance(answer, list):  # a sequence of answers for repeated fetches
                answer = answer.pop(0) if len(answer) > 1 else answer[0]
        else:
            self.posts.append(request)
            answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, dict):
            return httpx.Response(200, json=answer)
        if isinstance(answer, bytes):
            return httpx.Response(200, content=answer)
        return answer


class SleepLog(list[float]):
    """Stands in for asyncio.sleep: records back-off delays instead of waiting them out."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_client(recorder: Callable[[httpx.Request], httpx.Response], **options: object) -> SeedreamClient:
    options.setdefault("api_key", KEY)
    options.setdefault("backoff_base", 0.001)
    client = SeedreamClient(
        api_url=API_URL,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(recorder)),
        **options,  # type: ignore[arg-type]
    )
    client._sleep = SleepLog()
    return client


def error(status: int, body: object = None, headers: dict[str, str] | None = None) -> httpx.Response:
    if body is None:
        return httpx.Response(status, headers=headers)
    if isinstance(body, str):
        return httpx.Response(status, text=body, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


async def generate(recorder: Recorder, **options: object) -> GenerationResult:
    async with make_client(recorder, **options) as client:
        return await client.generate(REQUEST)


async def failure(recorder: Recorder, **options: object) -> APIError:
    with pytest.raises(APIError) as caught:
        await generate(recorder, **options)
    return caught.value


# ------------------------------------------------------------------------------------------ response shapes


@pytest.mark.parametrize(
    "element",
    [
        pytest.param(JPEG_B64, id="bare-base64"),
        pytest.param(f"data:image/jpeg;base64,{JPEG_B64}", id="data-uri"),
        pytest.param({"b64_json": JPEG_B64}, id="object-b64_json"),
        pytest.param({"base64": JPEG_B64}, id="object-base64"),
        pytest.param({"image_url": f"data:image/jpeg;base64,{JPEG_B64}"}, id="object-image_url-data-uri"),
        pytest.param("\n".join(JPEG_B64[i : i + 76] for i in range(0, len(JPEG_B64), 76)), id="line-wrapped"),
        pytest.param(base64.urlsafe_b64encode(JPEG).decode().rstrip("="), id="urlsafe-unpadded"),
    ],
)
async def test_inline_image_shapes_decode_without_any_download(element: object) -> None:
    api = Recorder({"images": [element]})
    result = await generate(api)
    assert [(i.data, i.format, i.width, i.height, i.url) for i in result.images] == [(JPEG, "jpeg", 16, 12, None)]
    assert api.gets == []
    assert result.failures == ()


@pytest.mark.parametrize(
    "element",
    [
        pytest.param(f"{CDN}/a.jpg", id="url-string"),
        pytest.param({"url": f"{CDN}/a.jpg"}, id="object-url"),
        pytest.param({"image_url": f"{CDN}/a.jpg"}, id="object-image_url"),
        pytest.param({"type": "image_url", "image_url": {"url": f"{CDN}/a.jpg"}}, id="openai-nested"),
    ],
)
async def test_url_results_are_downloaded_and_keep_their_url(element: object) -> None:
    api = Recorder({"images": [element]}, cdn={f"{CDN}/a.jpg": JPEG})
    result = await generate(api)
    assert [(i.data, i.url) for i in result.images] == [(JPEG, f"{CDN}/a.jpg")]
    assert len(api.gets) == 1


async def test_an_object_with_both_url_and_base64_uses_the_inline_bytes_and_keeps_the_url() -> None:
    api = Recorder({"images": [{"url": f"{CDN}/a.jpg", "b64_json": PNG_B64}]})
    (image,) = (await generate(api)).images
    assert (image.data, image.format, image.url) == (PNG, "png", f"{CDN}/a.jpg")
    assert api.gets == []


async def test_mixed_results_come_back_in_the_order_the_api_gave() -> None:
    webp = image_bytes("WEBP", (9, 9))
    api = Recorder(
        {"images": [f"{CDN}/1.webp", PNG_B64, {"url": f"{CDN}/3.jpg"}, f"data:image/jpeg;base64,{JPEG_B64}"]},
        cdn={f"{CDN}/1.webp": webp, f"{CDN}/3.jpg": JPEG},
    )
    result = await generate(api)
    assert [i.data for i in result.images] == [webp, PNG, JPEG, JPEG]
    assert [i.format for i in result.images] == ["webp", "png", "jpeg", "jpeg"]


async def test_result_urls_are_fetched_concurrently() -> None:
    urls = [f"{CDN}/{n}.jpg" for n in range(4)]
    all_waiting = asyncio.Event()
    waiting = 0

    async def api(request: httpx.Request) -> httpx.Response:
        nonlocal waiting
        if request.method == "POST":
            return httpx.Response(200, json={"images": urls})
        waiting += 1
        if waiting == len(urls):
            all_waiting.set()
        # Sequential fetching would time out here: the first fetch waits for the last one to start.
        await asyncio.wait_for(all_waiting.wait(), timeout=2)
        return httpx.Response(200, content=JPEG)

    result = await generate(api)  # type: ignore[arg-type]
    assert [i.url for i in result.images] == urls


async def test_result_url_downloads_never_carry_the_api_key() -> None:
    api = Recorder({"images": [f"{CDN}/a.jpg"]}, cdn={f"{CDN}/a.jpg": JPEG})
    client = SeedreamClient(
        api_key=KEY,
        api_url=API_URL,
        # Even a caller's client with a default Authorization header must not leak it to the CDN.
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(api), headers={"Authorization": "Bearer x"}),
    )
    await client.generate(REQUEST)
    assert "authorization" not in api.gets[0].headers
    assert api.posts[0].headers["authorization"] == f"Bearer {KEY}"


async def test_generated_image_reports_mime_type_and_file_extension() -> None:
    api = Recorder({"images": [JPEG_B64, PNG_B64, base64.b64encode(WEBP).decode()]})
    images = (await generate(api)).images
    assert [(i.mime_type, i.extension) for i in images] == [
        ("image/jpeg", "jpg"),
        ("image/png", "png"),
        ("image/webp", "webp"),
    ]
    assert (images[1].width, images[1].height) == (20, 10)
    assert "data" not in repr(images[0])  # megabytes of bytes stay out of logs and tracebacks


# ------------------------------------------------------------------------------------------ what is sent


async def test_the_post_carries_the_payload_bearer_key_json_type_and_extra_headers() -> None:
    api = Recorder({"images": [JPEG_B64]})
    request = GenerateRequest(prompt="  two cats  ", size="2048x2048", watermark=False, optimize_prompt_mode="fast")
    async with make_client(api) as client:
        result = await client.generate(request, headers={"X-Stub-Fault": "ok"})
    (sent,) = api.posts
    assert str(sent.url) == API_URL
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["x-stub-fault"] == "ok"
    assert json.loads(sent.content) == request.validated().to_payload()
    assert json.loads(sent.content)["prompt"] == "two cats"
    assert result.request == request.validated()


async def test_a_per_call_key_overrides_the_clients_own() -> None:
    api = Recorder({"images": [JPEG_B64]})
    async with make_client(api, api_key="sk-shared") as client:
        await client.generate(REQUEST, api_key="sk-visitor")
        await client.generate(REQUEST)
    assert [p.headers["authorization"] for p in api.posts] == ["Bearer sk-visitor", "Bearer sk-shared"]


async def test_without_any_key_nothing_is_sent_and_the_error_says_how_to_add_one() -> None:
    api = Recorder({"images": [JPEG_B64]})
    async with make_client(api, api_key=None) as client:
        with pytest.raises(AuthenticationError, match="SEEDREAM_API_KEY") as caught:
            await client.generate(REQUEST, api_key="   ")
    assert "key box" in str(caught.value)
    assert api.posts == []


async def test_a_key_with_a_line_break_is_refused_before_sending_without_quoting_it() -> None:
    api = Recorder({"images": [JPEG_B64]})
    async with make_client(api, api_key=None) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.generate(REQUEST, api_key="sk-abc\ndef")
    assert "sk-abc" not in str(caught.value) and "sk-abc" not in repr(caught.value)
    assert api.posts == []


async def test_an_invalid_request_is_never_sent() -> None:
    api = Recorder({"images": [JPEG_B64]})
    async with make_client(api) as client:
        with pytest.raises(ValidationError) as caught:
            await client.generate(GenerateRequest(prompt="x", size="100x100"))
    assert caught.value.field == "size"
    assert api.posts == []


async def test_request_warnings_and_elapsed_time_are_reported() -> None:
    api = Recorder({"images": [JPEG_B64]})
    async with make_client(api) as client:
        result = await client.generate(GenerateRequest(prompt="word " * 700))
    assert len(result.warnings) == 1 and "700 words" in result.warnings[0]
    assert result.elapsed > 0


# ------------------------------------------------------------------------------------------ invalid answers


async def test_an_answer_that_is_not_json_is_an_invalid_response() -> None:
    exc = await failure(Recorder(error(200, "<html>upstream error</html>")))
    assert type(exc) is InvalidResponseError
    assert exc.message.startswith("Seedream's answer was not JSON")
    assert "upstream error" in exc.message


@pytest.mark.parametrize("body", [{"data": []}, {"images": []}, {"images": None}, [], {}])
async def test_an_answer_without_images_is_an_invalid_response(body: object) -> None:
    exc = await failure(Recorder(httpx.Response(200, json=body)))
    assert type(exc) is InvalidResponseError
    assert exc.message == "Seedream returned no images."


async def test_a_200_carrying_an_error_instead_of_images_shows_that_error() -> None:
    exc = await failure(Recorder({"error": {"message": "quota exhausted for today"}}))
    assert type(exc) is InvalidResponseError
    assert exc.message == "Seedream returned no images: quota exhausted for today"


async def test_a_200_refusing_the_content_is_a_content_policy_error() -> None:
    exc = await failure(Recorder({"images": [], "reason": "CONTENT_POLICY", "message": "The prompt has sensitive content."}))
    assert type(exc) is ContentPolicyError
    assert "sensitive content" in exc.message


@pytest.mark.parametrize(
    ("element", "expected"),
    [
        pytest.param(base64.b64encode(b"definitely not an image").decode(), "not an image", id="not-image-bytes"),
        pytest.param("%%%% not base64 %%%%", "neither a URL nor valid Base64", id="not-base64"),
        pytest.param(base64.b64encode(PNG[: len(PNG) - 8]).decode(), "a corrupt or incomplete image (it does not decode)", id="truncated-png"),
        pytest.param(42, "holds no URL or Base64", id="a-number"),
        pytest.param({"seed": 7}, "holds no URL or Base64", id="object-without-image"),
        pytest.param("", "empty", id="empty-string"),
    ],
)
async def test_an_image_that_does_not_decode_is_an_invalid_response(element: object, expected: str) -> None:
    exc = await failure(Recorder({"images": [element]}))
    assert type(exc) is InvalidResponseError
    assert "none could be used" in exc.message and expected in exc.message


async def test_when_many_results_fail_the_message_lists_three_and_counts_the_rest() -> None:
    exc = await failure(Recorder({"images": [f"{CDN}/{n}.jpg" for n in range(5)]}))
    assert exc.message == (
        "Seedream returned 5 image(s) but none could be used: Image 1 of 5: the result URL answered 404. "
        "Image 2 of 5: the result URL answered 404. Image 3 of 5: the result URL answered 404. (and 2 more)"
    )


async def test_when_some_results_fail_the_good_images_come_back_with_the_failures_listed() -> None:
    api = Recorder(
        {"images": [f"{CDN}/gone.jpg", f"{CDN}/ok.jpg", base64.b64encode(b"junk").decode()]},
        cdn={f"{CDN}/ok.jpg": JPEG},
    )
    result = await generate(api)
    assert [i.url for i in result.images] == [f"{CDN}/ok.jpg"]
    assert result.failures == (
        "Image 1 of 3: the result URL answered 404.",
        "Image 3 of 3: not an image (it does not decode).",
    )


async def test_when_every_result_url_fails_the_call_fails() -> None:
    api = Recorder({"images": [f"{CDN}/a.jpg", f"{CDN}/b.jpg"]})
    exc = await failure(api)
    assert type(exc) is InvalidResponseError
    assert "Image 1 of 2: the result URL answered 404" in exc.message
    assert len(api.posts) == 1  # the paid request is not repeated because its downloads failed


async def test_a_result_url_download_retries_transient_failures_but_not_404() -> None:
    flaky = f"{CDN}/flaky.jpg"
    api = Recorder(
        {"images": [flaky, f"{CDN}/missing.jpg"]},
        cdn={flaky: [httpx.Response(503), httpx.ConnectError("reset"), httpx.Response(200, content=JPEG)]},
    )
    result = await generate(api)
    assert [i.url for i in result.images] == [flaky]
    assert [str(r.url) for r in api.gets].count(flaky) == 3
    assert [str(r.url) for r in api.gets].count(f"{CDN}/missing.jpg") == 1


async def test_a_result_url_that_times_out_is_a_failure_not_a_hang() -> None:
    api = Recorder({"images": [f"{CDN}/slow.jpg", JPEG_B64]}, cdn={f"{CDN}/slow.jpg": httpx.ReadTimeout("slow")})
    result = await generate(api)
    assert len(result.images) == 1
    assert result.failures == ("Image 1 of 2: the result URL on cdn.example.test did not answer in time.",)


# ------------------------------------------------------------------------------------------ bounded results


async def test_a_result_of_more_pixels_than_seedream_makes_is_refused_from_its_header() -> None:
    exc = await failure(Recorder({"images": [b64(image_bytes("PNG", (9000, 9000), mode="1"))]}))
    assert exc.message == (
        "Seedream returned 1 image(s) but none could be used: The image: 9000x9000 pixels, more than any "
        "Seedream image (16,777,216 at most); not used."
    )


async def test_the_largest_size_seedream_makes_and_a_little_more_are_accepted() -> None:
    # 1-bit and one colour: a few KB however many pixels.
    api = Recorder({"images": [b64(image_bytes("PNG", size, mode="1")) for size in ((4096, 4096), (5120, 4096))]})
    result = await generate(api)
    assert [(i.width, i.height) for i in result.images] == [(4096, 4096), (5120, 4096)]


async def test_more_results_than_the_request_can_produce_are_cut_before_any_download() -> None:
    urls = [f"{CDN}/{n}.jpg" for n in range(300)]
    api = Recorder({"images": urls}, cdn={url: JPEG for url in urls})
    async with make_client(api) as client:
        result = await client.generate(GenerateRequest(prompt="one picture", size="2K"))
        sequence = await client.generate(
            GenerateRequest(prompt="a few", size="2K", sequential_image_generation="auto", max_images=3)
        )
    assert [i.url for i in result.images] == urls[:1]
    assert result.warnings == ("Seedream returned 300 images, more than this request can produce; kept the first 1.",)
    assert [i.url for i in sequence.images] == urls[:3]
    assert len(api.gets) == 4  # 1 + 3: the other 296 URLs were never fetched


async def test_a_retry_that_would_outlast_the_generation_deadline_is_not_waited_for() -> None:
    api = Recorder(error(429, headers={"Retry-After": "30"}), {"images": [JPEG_B64]})
    client = make_client(api, generation_timeout=20)
    with pytest.raises(RateLimitError) as caught:
        await client.generate(REQUEST)
    assert caught.value.message == "Rate limited by Seedream; retry after 30 s."
    assert len(api.posts) == 1 and client._sleep == []


# ------------------------------------------------------------------------------------------ status mapping


@pytest.mark.parametrize(
    ("body", "api_message"),
    [
        ({"code": 400, "reason": "INVALID_ARGUMENT", "message": "size: too small"}, "size: too small"),
        ({"error": {"message": "prompt is required", "type": "invalid_request_error"}}, "prompt is required"),
        ({"error": "image 3 is not a supported format"}, "image 3 is not a supported format"),
        ({"detail": "watermark must be a boolean"}, "watermark must be a boolean"),
        ({"reason": "BAD_SIZE"}, "BAD_SIZE"),
        ("size must look like 2048x2048", "size must look like 2048x2048"),
    ],
)
async def test_400_is_a_bad_request_carrying_the_apis_own_message(body: object, api_message: str) -> None:
    exc = await failure(Recorder(error(400, body)))
    assert type(exc) is BadRequestError
    assert exc.message == f"Seedream rejected the request: {api_message}"
    assert exc.status_code == 400


async def test_422_validation_details_name_the_field() -> None:
    body = {"detail": [{"loc": ["body", "prompt"], "msg": "Field required", "type": "missing"}]}
    exc = await failure(Recorder(error(422, body)))
    assert type(exc) is BadRequestError
    assert exc.message == "Seedream rejected the request: body.prompt: Field required"
    assert exc.body == body


async def test_400_without_a_body_still_says_what_happened() -> None:
    exc = await failure(Recorder(error(400)))
    assert type(exc) is BadRequestError
    assert exc.message == "Seedream rejected the request (400)."


@pytest.mark.parametrize(
    "body",
    [
        {"code": 400, "reason": "CONTENT_POLICY", "message": "The prompt contains sensitive content."},
        {"error": {"message": "Rejected by the safety system.", "code": "content_policy_violation"}},
        {"error": "Input flagged by moderation"},
    ],
)
async def test_a_content_refusal_is_a_content_policy_error(body: object) -> None:
    exc = await failure(Recorder(error(400, body)))
    assert type(exc) is ContentPolicyError
    assert isinstance(exc, BadRequestError)
    assert exc.message.startswith("Seedream declined the request under its content policy: ")


async def test_401_says_the_key_was_rejected() -> None:
    exc = await failure(Recorder(error(401, {"code": 401, "reason": "UNAUTHENTICATED", "message": "bad key"})))
    assert type(exc) is AuthenticationError
    assert exc.message == "The API key was rejected (401). Check SEEDREAM_API_KEY or the key box."


async def test_403_is_permission_denied_with_the_apis_reason() -> None:
    exc = await failure(Recorder(error(403, {"message": "This key has no access to Seedream 4.5"})))
    assert type(exc) is PermissionDeniedError
    assert isinstance(exc, AuthenticationError)  # on this router a 403 is a key problem (INVALID_API_KEY)
    assert exc.status_code == 403
    assert exc.message == (
        "The API key is not allowed to do this (403). This key has no access to Seedream 4.5. "
        "Check SEEDREAM_API_KEY or the key box."
    )


async def test_404_points_at_the_api_url_setting() -> None:
    exc = await failure(Recorder(error(404)))
    assert type(exc) is NotFoundError
    assert exc.message == f"Nothing answers at {API_URL} (404). Check SEEDREAM_API_URL."


async def test_another_4xx_is_a_status_error_with_the_apis_message() -> None:
    exc = await failure(Recorder(error(409, {"message": "a request with this id is running"})))
    assert type(exc) is APIStatusError
    assert (exc.status_code, exc.message) == (409, "Seedream rejected the request (409): a request with this id is running")


@pytest.mark.parametrize(
    ("answer", "error_type"),
    [
        (error(400, {"message": "no"}), BadRequestError),
        (error(401), AuthenticationError),
        (error(403), PermissionDeniedError),
        (error(404), NotFoundError),
        (error(429), RateLimitError),
        (error(500), ServerError),
    ],
)
async def test_every_http_error_status_is_an_api_status_error_carrying_its_status(
    answer: httpx.Response, error_type: type[APIError]
) -> None:
    exc = await failure(Recorder(answer), max_retries=0)
    assert type(exc) is error_type and isinstance(exc, APIStatusError)
    assert exc.status_code == answer.status_code


async def test_timeouts_are_connection_errors_and_no_answer_is_not_a_status_error() -> None:
    exc = await failure(Recorder(httpx.ReadTimeout("timed out")))
    assert type(exc) is APITimeoutError and isinstance(exc, APIConnectionError)
    assert not isinstance(exc, APIStatusError) and exc.status_code is None


async def test_an_error_body_keeps_its_parsed_type_even_with_the_key_scrubbed_out() -> None:
    echoed = {"message": "bad request", "headers": {"authorization": f"Bearer {KEY}"}, "codes": [1, 2]}
    exc = await failure(Recorder(error(400, echoed)))
    assert exc.body == {"message": "bad request", "headers": {"authorization": "Bearer ***"}, "codes": [1, 2]}


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 500, 502, 504])
async def test_these_statuses_are_never_retried(status: int) -> None:
    api = Recorder(error(status, {"message": "no"}), {"images": [JPEG_B64]})
    await failure(api)
    assert len(api.posts) == 1


async def test_500_is_a_server_error_sent_once_with_the_apis_message() -> None:
    api = Recorder(error(500, {"code": 500, "reason": "INTERNAL", "message": "Something broke."}))
    exc = await failure(api)
    assert type(exc) is ServerError
    assert exc.message == "Seedream had a server error (500). It said: Something broke."


@pytest.mark.parametrize("status", [429, 503])
async def test_statuses_that_turn_the_request_away_unhandled_are_retried_up_to_the_configured_count(
    status: int,
) -> None:
    api = Recorder(error(status))
    exc = await failure(api, max_retries=2)
    assert exc.status_code == status
    assert "after 3 attempts" in exc.message or "did not recover after 3 attempts" in exc.message
    assert len(api.posts) == 3


@pytest.mark.parametrize("status", [502, 504])
async def test_gateway_errors_that_may_follow_a_forwarded_request_are_never_retried(status: int) -> None:
    api = Recorder(error(status), {"images": [JPEG_B64]})
    exc = await failure(api, max_retries=3)
    assert type(exc) is ServerError
    assert exc.message == (
        f"Seedream had a server error ({status}). Not retried automatically: a gateway may already have passed "
        "the request on, so Seedream may still be making (and billing) the image."
    )
    assert len(api.posts) == 1


async def test_503_is_retried_with_its_message_after_the_last_attempt() -> None:
    api = Recorder(error(503))
    exc = await failure(api, max_retries=2)
    assert type(exc) is ServerError
    assert exc.message == "Seedream had a server error (503) and did not recover after 3 attempts."


async def test_a_503_that_clears_up_gives_the_images_after_one_more_post() -> None:
    api = Recorder(error(503), error(429), {"images": [JPEG_B64]})
    result = await generate(api, max_retries=3)
    assert len(result.images) == 1
    assert len(api.posts) == 3


async def test_max_retries_zero_sends_exactly_once() -> None:
    api = Recorder(error(503))
    exc = await failure(api, max_retries=0)
    assert exc.message == "Seedream had a server error (503)."
    assert len(api.posts) == 1


async def test_a_200_is_never_sent_again() -> None:
    api = Recorder({"images": [base64.b64encode(b"junk").decode()]})
    await failure(api, max_retries=5)
    assert len(api.posts) == 1


# ------------------------------------------------------------------------------------------ rate limits


async def test_429_waits_at_least_retry_after_then_succeeds() -> None:
    api = Recorder(error(429, headers={"Retry-After": "3"}), {"images": [JPEG_B64]})
    client = make_client(api)
    result = await client.generate(REQUEST)
    assert len(result.images) == 1 and len(api.posts) == 2
    assert client._sleep == [3.0]  # the jittered back-off (at most 1 ms here) never undercuts Retry-After


async def test_429_that_persists_is_a_rate_limit_error_with_retry_after() -> None:
    api = Recorder(error(429, {"code": 429, "reason": "RATE_LIMITED", "message": "slow down"}, {"Retry-After": "3"}))
    exc = await failure(api, max_retries=2)
    assert type(exc) is RateLimitError
    assert exc.retry_after == 3.0
    assert exc.message == "Rate limited by Seedream; retry after 3 s."
    assert len(api.posts) == 3


async def test_429_without_retry_after_uses_exponential_backoff_within_bounds() -> None:
    api = Recorder(error(429))
    client = make_client(api, max_retries=4, backoff_base=0.5, backoff_max=1.5)
    with pytest.raises(RateLimitError) as caught:
        await client.generate(REQUEST)
    assert caught.value.retry_after is None
    assert caught.value.message == "Rate limited by Seedream after 5 attempts; wait a moment and try again."
    delays = list(client._sleep)
    assert len(delays) == 4
    for attempt, delay in enumerate(delays):
        assert 0 <= delay <= min(1.5, 0.5 * 2**attempt)


async def test_a_retry_after_longer_than_the_limit_stops_at_once() -> None:
    api = Recorder(error(429, headers={"Retry-After": "120"}))
    client = make_client(api, max_retry_after=60)
    with pytest.raises(RateLimitError) as caught:
        await client.generate(REQUEST)
    assert caught.value.retry_after == 120.0
    assert caught.value.message == "Rate limited by Seedream; retry after 120 s."
    assert len(api.posts) == 1 and client._sleep == []


async def test_retry_after_as_an_http_date_is_honoured() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    api = Recorder(error(503, headers={"Retry-After": later}), {"images": [JPEG_B64]})
    client = make_client(api)
    await client.generate(REQUEST)
    (delay,) = client._sleep
    assert 28 <= delay <= 30


def test_parse_retry_after_reads_seconds_and_dates_and_ignores_nonsense() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("3", now=now) == 3.0
    assert parse_retry_after(" 0.5 ", now=now) == 0.5
    assert parse_retry_after("-4", now=now) == 0.0
    assert parse_retry_after("Wed, 01 Jan 2025 12:00:07 GMT", now=now) == 7.0
    assert parse_retry_after("Wed, 01 Jan 2025 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after("nan", now=now) is None
    assert parse_retry_after(None) is None


# ------------------------------------------------------------------------------------------ transport faults


async def test_a_connection_failure_before_any_response_is_retried() -> None:
    api = Recorder(httpx.ConnectError("refused"), {"images": [JPEG_B64]})
    result = await generate(api)
    assert len(result.images) == 1 and len(api.posts) == 2


async def test_no_connection_at_all_names_the_host() -> None:
    api = Recorder(httpx.ConnectError("[Errno 111] Connection refused"))
    exc = await failure(api, max_retries=2)
    assert type(exc) is APIConnectionError
    assert exc.message.startswith("Could not connect to Seedream at api.example.test after 3 attempts")
    assert exc.status_code is None
    assert len(api.posts) == 3


async def test_a_connect_timeout_is_retried_then_is_a_timeout() -> None:
    api = Recorder(httpx.ConnectTimeout("timed out"))
    exc = await failure(api, max_retries=1, connect_timeout=2)
    assert type(exc) is APITimeoutError
    assert exc.message == "Could not connect to Seedream at api.example.test within 2 s after 2 attempts."
    assert len(api.posts) == 2


async def test_a_read_timeout_is_not_retried_because_the_work_may_be_done() -> None:
    api = Recorder(httpx.ReadTimeout("timed out"), {"images": [JPEG_B64]})
    exc = await failure(api, read_timeout=300)
    assert type(exc) is APITimeoutError
    assert exc.message == "Seedream did not answer within 300 s."
    assert len(api.posts) == 1


@pytest.mark.parametrize(
    "fault", [httpx.RemoteProtocolError("peer closed connection"), httpx.ReadError("connection reset")]
)
async def test_a_connection_dropped_after_sending_is_not_retried(fault: Exception) -> None:
    api = Recorder(fault, {"images": [JPEG_B64]})
    exc = await failure(api)
    assert type(exc) is APIConnectionError
    assert "Not retried automatically" in exc.message
    assert len(api.posts) == 1


async def test_an_answer_that_cannot_be_decompressed_is_an_invalid_response_sent_once() -> None:
    garbled = httpx.Response(200, stream=httpx.ByteStream(b"not gzip at all"), headers={"Content-Encoding": "gzip"})
    api = Recorder(garbled)
    exc = await failure(api)
    assert type(exc) is InvalidResponseError
    assert exc.message.startswith("Seedream's answer could not be decompressed")
    assert len(api.posts) == 1


async def test_a_malformed_result_url_is_a_failure_of_that_image_only() -> None:
    api = Recorder({"images": ["https://cdn.example.test:port/a.jpg", JPEG_B64]})
    result = await generate(api)
    assert len(result.images) == 1
    assert result.failures == ("Image 1 of 2: the result URL is not a valid URL.",)


# ------------------------------------------------------------------------------------------ written for a person

BROKE = (
    "The connection to Seedream broke before its answer was complete. Not retried automatically: the image may "
    "already have been generated and billed."
)
TRANSPORT_FAULTS = [
    (httpx.ConnectError("[Errno 111] Connection refused"),
     "Could not connect to Seedream at api.example.test after 3 attempts (the connection was refused)."),
    (httpx.ConnectError("[Errno -2] Name or service not known"),
     "Could not connect to Seedream at api.example.test after 3 attempts (its host name could not be resolved)."),
    (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed (_ssl.c:1006)"),
     "Could not connect to Seedream at api.example.test after 3 attempts (its TLS certificate was not accepted)."),
    (httpx.ConnectError("All connection attempts failed"),
     "Could not connect to Seedream at api.example.test after 3 attempts."),
    (httpx.RemoteProtocolError("can't handle event type ConnectionClosed when role=SERVER and state=SEND_RESPONSE"),
     BROKE),
    (httpx.ReadError("[Errno 104] Connection reset by peer"), BROKE),
    (RuntimeError("list index out of range"),
     "Calling Seedream failed in an unexpected way; the details are in the server log. Try again."),
]


@pytest.mark.parametrize(("fault", "message"), TRANSPORT_FAULTS, ids=[type(f).__name__ + str(n) for n, (f, _) in
                                                                     enumerate(TRANSPORT_FAULTS)])
async def test_a_failure_without_an_answer_is_told_in_words_never_in_the_exceptions_text(
    fault: Exception, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    exc = await failure(Recorder(fault))
    assert exc.message == message == str(exc)
    assert exc.__cause__ is None and exc.__context__ is None  # no chained raw exception either
    if isinstance(fault, RuntimeError):
        assert "RuntimeError" in caplog.text and "list index out of range" in caplog.text  # the operator can see it


# ------------------------------------------------------------------------------------------ secrecy


def _api_errors_echoing_the_key() -> list[Recorder]:
    echo = {"message": f"Invalid key Bearer {KEY}", "headers": {"Authorization": f"Bearer {KEY}"}}
    return [
        Recorder(error(400, echo)),
        Recorder(error(401, echo)),
        Recorder(error(403, echo)),
        Recorder(error(429, echo, {"Retry-After": "0"})),
        Recorder(error(500, echo)),
        Recorder(error(503, f"upstream said {KEY}")),
        Recorder(error(200, f"<html>{KEY}</html>")),
        Recorder({"error": {"message": f"key {KEY} has no quota"}}),
        Recorder({"images": [f"{CDN}/missing.jpg"]}),
        Recorder(httpx.ConnectError(f"refused for {KEY}")),
        Recorder(httpx.ReadTimeout("timed out")),
        Recorder(httpx.RemoteProtocolError(f"dropped {KEY}")),
    ]


@pytest.mark.parametrize("api", _api_errors_echoing_the_key())
async def test_the_key_never_appears_in_an_exception_or_a_log_line(
    api: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(api, max_retries=1)
    with pytest.raises(APIError) as caught:
        await client.generate(REQUEST)
    exc = caught.value
    for text in (str(exc), repr(exc), exc.message, repr(exc.body), repr(exc.__cause__), repr(exc.__context__)):
        assert KEY not in text
    assert caplog.records, "the client logs each attempt"
    assert KEY not in caplog.text
    assert all(KEY not in str(record.args) for record in caplog.records)


# A key with the characters that make its encodings differ from it: "/", "+", "=".
ODD_KEY = "sk-live/ab+cd=ef_SECRET-0123456789"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


ECHOES = {
    "plain": f"Authorization: Bearer {ODD_KEY}",
    "url-encoded": f"Authorization=Bearer%20{quote(ODD_KEY, safe='')}",
    "form-encoded": f"authorization=Bearer+{quote_plus(ODD_KEY)}",
    "percent-every-byte": "".join(f"%{b:02x}" for b in ODD_KEY.encode()),
    "json-escaped-slash": ODD_KEY.replace("/", "\\/"),
    "base64-key": _b64(ODD_KEY),
    "base64-bearer": _b64(f"Bearer {ODD_KEY}"),
    "base64-basic": _b64(f"user:{ODD_KEY}"),
    "base64-dumped-request": _b64(f"POST /v3 HTTP/1.1\r\nAuthorization: Bearer {ODD_KEY}\r\n"),
    "base64-urlsafe": base64.urlsafe_b64encode(f"Bearer {ODD_KEY}".encode()).decode(),
}


@pytest.mark.parametrize("echo", ECHOES.values(), ids=ECHOES.keys())
async def test_a_key_echoed_in_any_encoding_is_scrubbed_from_message_body_and_log(
    echo: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = {"message": f"Invalid request; we saw {echo}", "request": {"headers": [echo]}}
    exc = await failure(Recorder(error(400, body)), api_key=ODD_KEY)
    shown = f"{exc} {exc!r} {exc.body!r} {caplog.text}"
    assert echo not in shown and ODD_KEY not in shown
    assert "***" in exc.message
    assert isinstance(exc.body, dict)  # scrubbed, still the parsed object


async def test_a_json_unicode_escaped_key_is_scrubbed_once_parsed() -> None:
    escaped = "".join(f"\\u{ord(c):04x}" for c in ODD_KEY)
    api = Recorder(httpx.Response(400, content=f'{{"message": "bad key {escaped}"}}'.encode()))
    exc = await failure(api, api_key=ODD_KEY)
    assert exc.message == "Seedream rejected the request: bad key ***"


async def test_a_long_message_cut_to_a_snippet_never_shows_half_a_key() -> None:
    exc = await failure(Recorder(error(400, {"message": "x" * 290 + f" Bearer {KEY} and more"})))
    assert KEY[:8] not in exc.message


SECRET_URL = "https://alice-user:PW-SECRET-42@api.example.test/v3/seedream-4.5?api_key=QUERY-SECRET-43"


@pytest.mark.parametrize(
    "answer",
    [httpx.ConnectError("refused"), error(404), error(400, {"message": f"bad url {SECRET_URL}"})],
    ids=["connect-error", "404", "echo-of-the-url"],
)
async def test_credentials_and_query_of_the_api_url_are_never_shown_or_logged(
    answer: httpx.Response | Exception, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = SeedreamClient(
        api_key=KEY, api_url=SECRET_URL, http_client=httpx.AsyncClient(transport=httpx.MockTransport(Recorder(answer)))
    )
    client._sleep = SleepLog()
    with pytest.raises(APIError) as caught:
        await client.generate(REQUEST)
    shown = f"{caught.value} {caught.value!r} {caught.value.body!r} {caplog.text} {client!r}"
    for secret in ("alice-user", "PW-SECRET-42", "QUERY-SECRET-43"):
        assert secret not in shown
    assert "api.example.test" in caught.value.message or "***" in caught.value.message


async def test_a_result_url_with_credentials_is_named_by_its_host_only() -> None:
    url = "https://bob:CDN-SECRET@cdn.example.test/a.jpg?signature=SIG-SECRET-99"
    api = Recorder({"images": [url, JPEG_B64]}, cdn={url: httpx.ReadTimeout("slow")})
    result = await generate(api)
    assert result.failures == ("Image 1 of 2: the result URL on cdn.example.test did not answer in time.",)


def test_the_key_never_appears_in_a_client_repr() -> None:
    assert KEY not in repr(SeedreamClient(api_key=KEY))
    assert "api_key=<set>" in repr(SeedreamClient(api_key=KEY))
    assert KEY not in repr(SyncSeedreamClient(api_key=KEY))
    assert KEY not in repr(SeedreamClient.from_settings(Settings(api_key=KEY)))


async def test_each_attempt_is_logged_with_status_and_attempt_number(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="seedream_ui.client")
    await generate(Recorder(error(503), {"images": [JPEG_B64]}))
    lines = [r.getMessage() for r in caplog.records if r.name == "seedream_ui.client"]
    assert any("-> 503 (attempt 1/3" in line for line in lines)
    assert any("-> 200 (attempt 2/3" in line for line in lines)


# ------------------------------------------------------------------------------------------ construction


def test_from_settings_takes_the_settings_and_lets_overrides_win() -> None:
    settings = Settings(
        api_key=KEY, api_url="http://127.0.0.1:9/v3/x", read_timeout=42, max_retries=5, generation_timeout=90
    )
    client = SeedreamClient.from_settings(settings, max_retries=0)
    assert (client.api_url, client.read_timeout, client.max_retries, client.has_api_key) == (
        "http://127.0.0.1:9/v3/x", 42, 0, True
    )
    assert client.generation_timeout == 90


async def test_the_owned_pool_is_created_once_with_the_configured_timeouts_and_limits() -> None:
    client = SeedreamClient(api_key=KEY, connect_timeout=3, read_timeout=77, max_connections=100)
    pool = client._client()
    assert client._client() is pool
    assert (pool.timeout.connect, pool.timeout.read) == (3, 77)
    assert pool._transport._pool._max_connections == 100  # type: ignore[attr-defined]
    await client.aclose()
    assert pool.is_closed


async def test_an_injected_http_client_is_left_open_for_its_owner() -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(Recorder({"images": [JPEG_B64]})))
    async with SeedreamClient(api_key=KEY, http_client=http) as client:
        await client.generate(REQUEST)
    assert not http.is_closed
    await http.aclose()


# ------------------------------------------------------------------------------------------ sync wrapper


@pytest.fixture
def sync_client() -> Iterator[tuple[SyncSeedreamClient, Recorder]]:
    api = Recorder({"images": [JPEG_B64]})
    client = SyncSeedreamClient(
        api_key=KEY, api_url=API_URL, http_client=httpx.AsyncClient(transport=httpx.MockTransport(api))
    )
    with client:
        yield client, api


def test_the_sync_wrapper_returns_the_same_result(sync_client: tuple[SyncSeedreamClient, Recorder]) -> None:
    client, api = sync_client
    result = client.generate(REQUEST, api_key="sk-other")
    assert isinstance(result.images[0], GeneratedImage) and result.images[0].data == JPEG
    assert api.posts[0].headers["authorization"] == "Bearer sk-other"


def test_the_sync_wrapper_raises_the_same_errors() -> None:
    api = Recorder(error(401))
    http = httpx.AsyncClient(transport=httpx.MockTransport(api))
    with SyncSeedreamClient(api_key=KEY, http_client=http) as client, pytest.raises(AuthenticationError, match=r"\(401\)"):
        client.generate(REQUEST)


def test_the_sync_wrapper_serves_several_threads_at_once(sync_client: tuple[SyncSeedreamClient, Recorder]) -> None:
    client, api = sync_client
    results: list[GenerationResult] = []
    threads = [threading.Thread(target=lambda: results.append(client.generate(REQUEST))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(results) == 4 and len(api.posts) == 4


def test_the_sync_wrapper_can_be_closed_twice_and_without_use() -> None:
    client = SyncSeedreamClient(api_key=KEY)
    client.close()
    client.close()
