"""The launched demo through its public API ("/generate"), as a gradio_client script would use it.

The app talks to the session's stand-in API (`stub_server`), so every test can see what was sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from seedream_ui.config import Settings
from seedream_ui.stub_api import StubServer, read_marker
from tests.images import image_file
from tests.support import SMALL, RunningApp, app_process, generate_inputs, running_app

SERVER_KEY = "server-key-7c1e"


@pytest.fixture(scope="module")
def app(stub_server: StubServer) -> Iterator[RunningApp]:
    """The demo with a key configured, pointed at the stand-in (one launch for the module)."""
    settings = Settings(api_key=SERVER_KEY, api_url=stub_server.url, max_retries=0, read_timeout=30)
    with running_app(settings) as running:
        yield running


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("client-downloads")


@pytest.fixture
def client(app: RunningApp, downloads: Path) -> Client:
    """A fresh client per test: its own session, so its own history."""
    return Client(app.url, verbose=False, download_files=str(downloads))


def generate(client: Client, prompt: str = "a lighthouse at dusk", **fields: Any) -> tuple[Any, ...]:
    return client.predict(**generate_inputs(prompt, **({"max_images": 4} | fields)), api_name="/generate")


def gallery_files(value: list[dict[str, Any]]) -> list[Path]:
    return [Path(item["image"]) for item in value]


def test_only_generate_is_offered_as_an_api_endpoint(client: Client) -> None:
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert list(endpoints) == ["/generate"]
    names = [p["parameter_name"] for p in endpoints["/generate"]["parameters"]]
    assert names == ["prompt", "size", "image", "image_urls", "watermark", "optimize_prompt_mode",
                     "sequential_image_generation", "max_images", "api_key"]  # fmt: skip


def test_generate_returns_images_of_the_requested_size_and_a_status_and_zips_nothing(
    client: Client, stub: StubServer
) -> None:
    results, download, status = generate(client, size="2560x1440")

    (image_path,) = gallery_files(results)
    with Image.open(image_path) as image:
        assert image.size == (2560, 1440)
    assert read_marker(image_path.read_bytes())["prompt"] == "a lighthouse at dusk"
    assert results[0]["caption"] == image_path.name and image_path.name.startswith("seedream-")
    assert status.startswith("✓ 1 image · 2560x1440 · ")

    # The zip is built only when the page's "Download all" is clicked (tests/test_browser.py), and the page shows
    # that button in its own step: /generate leaves it alone, and nothing was zipped.
    assert download is None
    assert not any(p.suffix == ".zip" for p in image_path.parent.iterdir())

    (sent,) = stub.requests()
    assert sent["api_key"] == SERVER_KEY and sent["status"] == 200


def test_uploaded_references_and_urls_reach_the_api_in_order(client: Client, stub: StubServer, tmp_path: Path) -> None:
    sketch = str(image_file(tmp_path / "sketch.png", (48, 32)))
    results, _, _ = generate(
        client,
        "turn the sketch into a photo",
        image=[{"image": handle_file(sketch), "caption": None}],
        image_urls="https://example.com/palette.jpg\n",
    )
    body = stub.requests()[0]["body"]
    assert body["image"][0].startswith("data:image/png;base64,")
    assert body["image"][1] == "https://example.com/palette.jpg"
    marker = read_marker(gallery_files(results)[0].read_bytes())
    assert [r["kind"] for r in marker["references"]] == ["base64", "url"]


def test_a_sequence_returns_max_images_results(client: Client, stub: StubServer) -> None:
    results, _, status = generate(client, "a storyboard", sequential_image_generation="auto", max_images=3)
    assert len(results) == 3
    assert status.startswith("✓ 3 images · 1920x1920")
    assert stub.requests()[0]["body"]["sequential_image_generation_options"] == {"max_images": 3}


def test_max_images_is_not_sent_when_sequential_generation_is_off(client: Client, stub: StubServer) -> None:
    results, _, _ = generate(client, sequential_image_generation="disabled", max_images=5)
    assert len(results) == 1
    body = stub.requests()[0]["body"]
    assert body["sequential_image_generation"] == "disabled"
    assert "sequential_image_generation_options" not in body


def test_an_invalid_size_is_an_error_and_nothing_is_sent(client: Client, stub: StubServer) -> None:
    with pytest.raises(AppError) as caught:
        generate(client, size="1000x1000")
    assert "Size 1000x1000 has 1,000,000 pixels" in caught.value.message
    assert caught.value.title == "Check your input"
    assert stub.requests() == []


def test_too_many_references_is_an_error_and_nothing_is_sent(client: Client, stub: StubServer, tmp_path: Path) -> None:
    urls = "\n".join(f"https://example.com/{i}.jpg" for i in range(15))
    with pytest.raises(AppError, match="15 reference images given"):
        generate(client, image_urls=urls)
    assert stub.requests() == []


def test_a_visitors_own_key_is_used_instead_of_the_servers(client: Client, stub: StubServer) -> None:
    generate(client, api_key="  visitor-key-91  ")
    assert stub.requests()[0]["api_key"] == "visitor-key-91"


@pytest.mark.parametrize(
    ("fault", "title", "says"),
    [
        ("content-policy", "Refused by Seedream", "content policy"),
        ("401", "API key problem", "The API key was rejected (401)"),
        ("429", "Rate limited", "retry after"),
        ("503", "Seedream API error", "server error (503)"),
    ],
)
def test_api_failures_arrive_as_errors_a_person_can_act_on(
    client: Client, stub: StubServer, fault: str, title: str, says: str
) -> None:
    stub.queue_faults([fault])
    with pytest.raises(AppError) as caught:
        generate(client)
    assert caught.value.title == title
    assert says in caught.value.message
    assert SERVER_KEY not in caught.value.message


def test_each_call_returns_only_its_own_results_not_the_session_history(app: RunningApp, downloads: Path) -> None:
    # The page's history gallery is filled by a private step: an API caller never re-downloads earlier results.
    first = Client(app.url, verbose=False, download_files=str(downloads))
    other = Client(app.url, verbose=False, download_files=str(downloads))
    generate(first, "first prompt")
    outputs = generate(first, "second prompt")
    assert len(outputs) == 3
    (second,) = gallery_files(outputs[0])
    assert read_marker(second.read_bytes())["prompt"] == "second prompt"
    (theirs,) = gallery_files(generate(other, "someone else")[0])
    assert read_marker(theirs.read_bytes())["prompt"] == "someone else"


def test_offline_preview_uses_its_own_stand_in_unless_the_visitor_brings_a_key(
    stub: StubServer, downloads: Path
) -> None:
    # No key configured: offline preview. The "real" URL here is the session's stand-in, to see where keys go.
    with running_app(Settings(api_url=stub.url, max_retries=0, read_timeout=30)) as preview:
        assert preview.backend.offline and preview.backend.stub is not None
        client = Client(preview.url, verbose=False, download_files=str(downloads))
        results, _, _ = generate(client, "preview please")
        assert read_marker(gallery_files(results)[0].read_bytes())["prompt"] == "preview please"
        assert len(preview.backend.stub.requests()) == 1
        assert stub.requests() == []

        generate(client, "with my key", api_key="visitor-key-3")
        assert [r["api_key"] for r in stub.requests()] == ["visitor-key-3"]
        assert len(preview.backend.stub.requests()) == 1


def test_python_app_py_with_a_key_generates_and_never_logs_the_key(
    stub: StubServer, tmp_path: Path
) -> None:
    secret = "sk-never-in-logs-4242"
    env = {"SEEDREAM_API_KEY": secret, "SEEDREAM_API_URL": stub.url, "SEEDREAM_MAX_RETRIES": "0"}
    with app_process(tmp_path, env) as app:
        client = Client(app.url, verbose=False, download_files=str(tmp_path / "downloads"))
        _, _, status = generate(client, "from a real process")
        assert status.startswith("✓ 1 image")
        # Bad input: a message each, and no traceback in the log.
        for bad in ({"watermark": "false"}, {"image": "not-a-gallery"}, {"max_images": [2]}):
            with pytest.raises(AppError, match="must be"):
                generate(client, "bad input", **bad)
        stub.queue_faults(["401"])
        with pytest.raises(AppError, match="rejected"):
            generate(client, "rejected key")
        stub.queue_faults(["500"])
        with pytest.raises(AppError, match="server error"):
            generate(client, "server trouble")
        log = app.log()
    assert [r["api_key"] for r in stub.requests()] == [secret] * 3
    assert secret not in log
    assert "Traceback" not in log


def test_python_app_py_without_a_key_generates_placeholders_out_of_the_box(tmp_path: Path) -> None:
    with app_process(tmp_path) as app:
        client = Client(app.url, verbose=False, download_files=str(tmp_path / "downloads"))
        results, _, _ = generate(client, "offline preview")
    (path,) = gallery_files(results)
    marker = read_marker(path.read_bytes())
    assert marker is not None and marker["prompt"] == "offline preview" and marker["size"] == SMALL


def test_results_are_served_from_the_results_folder_not_copied_again(app: RunningApp, stub: StubServer) -> None:
    # Gradio copies (and hashes) any file outside its cache folder before serving it; ours live inside it.
    session = Client(app.url, verbose=False, download_files=False)
    results, _, _ = generate(session, sequential_image_generation="auto", max_images=2)
    served = [Path(item["image"]["path"]) for item in results]
    assert len(served) == 2
    assert all(path.is_relative_to(app.backend.output_root) for path in served), served
