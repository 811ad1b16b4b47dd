"""The MCP tool as an agent sees it: the real `mcp` SDK client over streamable HTTP at /gradio_api/mcp/."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_client import Client
from mcp import ClientSession, types
from mcp.client.streamable_http import streamable_http_client
from PIL import Image

from seedream_ui import mcp_tool
from seedream_ui.config import Settings, load_settings
from seedream_ui.errors import ConfigError, ValidationError
from seedream_ui.generation import GenerationForm, build_request
from seedream_ui.mcp_tool import KEY_HEADER
from seedream_ui.stub_api import StubServer, read_marker
from tests.images import data_uri
from tests.support import SMALL, RunningApp, app_process, running_app

SERVER_KEY = "server-key-mcp-5d2a"
PRICE = 0.05  # not the default, so the tool's description is seen to quote the configured price


@pytest.fixture(scope="module")
def app(stub_server: StubServer) -> Iterator[RunningApp]:
    """The demo with a server key and its own price, pointed at the session's stand-in (one launch for the module)."""
    settings = Settings(
        api_key=SERVER_KEY, api_url=stub_server.url, max_retries=0, read_timeout=30, price_per_image=PRICE
    )
    with running_app(settings) as running:
        yield running


@asynccontextmanager
async def mcp_session(base_url: str, headers: dict[str, str] | None = None) -> AsyncIterator[ClientSession]:
    """An MCP client session on the app's streamable HTTP route, as Claude Desktop or Cursor would open it."""
    async with httpx.AsyncClient(headers=headers, timeout=60) as http:
        async with streamable_http_client(base_url + "gradio_api/mcp/", http_client=http) as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session


async def list_tools(base_url: str) -> list[types.Tool]:
    async with mcp_session(base_url) as session:
        return (await session.list_tools()).tools


async def call(base_url: str, arguments: dict[str, Any], headers: dict[str, str] | None = None) -> types.CallToolResult:
    async with mcp_session(base_url, headers) as session:
        return await session.call_tool("generate_image", arguments)


def images(result: types.CallToolResult) -> list[bytes]:
    return [base64.b64decode(c.data) for c in result.content if isinstance(c, types.ImageContent)]


def texts(result: types.CallToolResult) -> list[str]:
    return [c.text for c in result.content if isinstance(c, types.TextContent)]


def image_urls(result: types.CallToolResult) -> list[str]:
    return [t.removeprefix("Image URL: ") for t in texts(result) if t.startswith("Image URL: ")]


# ---- what an agent is offered ----------------------------------------------------------------------------


async def test_the_only_tool_is_generate_image_with_every_parameter_described(app: RunningApp) -> None:
    (tool,) = await list_tools(app.url)

    assert tool.name == "generate_image"
    assert "Seedream 4.5" in tool.description and KEY_HEADER in tool.description
    assert "costs about $0.05 on the server's account" in tool.description  # the configured price
    properties = tool.inputSchema["properties"]
    assert list(properties) == [
        "prompt", "size", "reference_images", "watermark", "sequential_image_generation", "max_images"
    ]  # fmt: skip
    assert all(len(p["description"]) > 30 for p in properties.values())
    assert tool.inputSchema["required"] == ["prompt"]
    assert "3,686,400" in properties["size"]["description"] and "16,777,216" in properties["size"]["description"]


def test_the_api_pages_mcp_tab_lists_the_same_tool(app: RunningApp) -> None:
    (listed,) = httpx.get(app.url + "gradio_api/mcp/schema", timeout=10).json()
    assert listed["name"] == "generate_image" and listed["meta"]["headers"] == [KEY_HEADER.lower()]
    assert "costs about $0.05 on the server's account" in listed["description"]
    assert listed["inputSchema"]["required"] == ["prompt"] and "size" in listed["inputSchema"]["properties"]


def test_the_pages_generate_endpoint_is_still_there_for_gradio_client(app: RunningApp) -> None:
    client = Client(app.url, verbose=False, download_files=False)
    try:
        assert "/generate" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    finally:
        client.close()


async def test_a_page_event_cannot_be_called_as_a_tool(app: RunningApp, stub: StubServer) -> None:
    async with mcp_session(app.url) as session:
        result = await session.call_tool("generate", {"prompt": "a fox"})
    assert result.isError and "only generate_image" in texts(result)[0]
    assert stub.requests() == []


# ---- calling it ------------------------------------------------------------------------------------------


async def test_generate_image_returns_the_images_the_stand_in_drew_their_urls_and_the_status(
    app: RunningApp, stub: StubServer
) -> None:
    result = await call(app.url, {"prompt": "a lighthouse at dusk", "size": "2560x1440"})

    assert not result.isError
    (sent,) = stub.requests()
    assert sent["api_key"] == SERVER_KEY and sent["body"]["size"] == "2560x1440"
    (drawn,) = images(result)
    marker = read_marker(drawn)
    assert marker is not None and marker["request_id"] == sent["id"] and marker["prompt"] == "a lighthouse at dusk"
    with Image.open(io.BytesIO(drawn)) as image:
        assert image.size == (2560, 1440)
    (url,) = image_urls(result)
    assert url.startswith(app.url + "gradio_api/file=")
    assert httpx.get(url, timeout=10).content == drawn  # the same bytes, served by this app
    assert texts(result)[-1].startswith("✓ 1 image · 2560x1440 · ")


async def test_a_client_that_asks_for_progress_hears_while_seedream_works(
    app: RunningApp, stub: StubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mcp_tool, "PROGRESS_INTERVAL_S", 0.01)  # the stand-in answers in well under a second
    heard: list[str | None] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        heard.append(message)

    async with mcp_session(app.url) as session:
        result = await session.call_tool(
            "generate_image", {"prompt": "a fox", "size": SMALL}, progress_callback=on_progress
        )
    assert not result.isError and len(images(result)) == 1
    assert heard and all(m and m.startswith("Waiting for Seedream… ") for m in heard)


async def test_a_sequence_returns_each_image(app: RunningApp, stub: StubServer) -> None:
    result = await call(
        app.url, {"prompt": "a storyboard", "size": SMALL, "sequential_image_generation": "auto", "max_images": 3}
    )
    assert not result.isError
    assert stub.requests()[0]["body"]["sequential_image_generation_options"] == {"max_images": 3}
    drawn = images(result)
    assert len(drawn) == len(image_urls(result)) == 3
    assert len(set(drawn)) == 3


async def test_references_reach_the_api_in_order_and_a_server_path_is_refused(
    app: RunningApp, stub: StubServer
) -> None:
    refs = ["https://example.com/palette.jpg", data_uri("png", (48, 32))]
    result = await call(app.url, {"prompt": "combine image 1 and image 2", "size": SMALL, "reference_images": refs})
    assert not result.isError
    assert stub.requests()[0]["body"]["image"] == refs

    stub.reset()
    refused = await call(app.url, {"prompt": "read a file", "size": SMALL, "reference_images": ["/etc/hostname"]})
    assert refused.isError and "must be an http(s) URL or a data:image" in texts(refused)[0]
    assert stub.requests() == []


async def test_a_bad_size_is_a_tool_error_with_the_pages_message_and_nothing_is_sent(
    app: RunningApp, stub: StubServer
) -> None:
    result = await call(app.url, {"prompt": "a fox", "size": "1000x1000"})

    with pytest.raises(ValidationError) as page:  # what the page says for the same form
        await build_request(GenerationForm(prompt="a fox", size="1000x1000"))
    assert result.isError and texts(result) == [str(page.value)]
    assert stub.requests() == []


async def test_arguments_outside_the_schema_are_refused_before_anything_is_sent(
    app: RunningApp, stub: StubServer
) -> None:
    result = await call(app.url, {"prompt": "a fox", "max_images": 40, "sequential_image_generation": "auto"})
    assert result.isError and "40 is greater than the maximum of 14" in texts(result)[0]
    assert stub.requests() == []


async def test_an_api_failure_is_a_tool_error_without_the_key(app: RunningApp, stub: StubServer) -> None:
    stub.queue_faults(["401"])
    result = await call(app.url, {"prompt": "a fox", "size": SMALL})
    assert result.isError and "rejected (401)" in texts(result)[0]
    assert SERVER_KEY not in texts(result)[0]


# ---- whose key pays --------------------------------------------------------------------------------------


async def test_a_key_in_the_header_is_the_one_the_api_receives(app: RunningApp, stub: StubServer) -> None:
    await call(app.url, {"prompt": "with my key", "size": SMALL}, headers={KEY_HEADER: "agent-key-77"})
    await call(app.url, {"prompt": "with the server's", "size": SMALL})

    assert [r["api_key"] for r in stub.requests()] == ["agent-key-77", SERVER_KEY]


async def test_python_app_py_without_a_key_serves_its_preview_and_an_agents_key_reaches_the_api(
    stub: StubServer, tmp_path: Path
) -> None:
    agent_key = "agent-key-never-logged-31"
    with app_process(tmp_path, {"SEEDREAM_API_URL": stub.url, "SEEDREAM_MAX_RETRIES": "0"}) as app:
        preview = await call(app.url, {"prompt": "offline preview", "size": SMALL})
        real = await call(app.url, {"prompt": "with my key", "size": SMALL}, headers={KEY_HEADER: agent_key})
        log = app.log()

    (drawn,) = images(preview)  # by the app's own stand-in: the configured API received nothing for it
    marker = read_marker(drawn)
    assert marker is not None and marker["prompt"] == "offline preview"
    (sent,) = stub.requests()
    assert sent["api_key"] == agent_key and sent["body"]["prompt"] == "with my key"
    assert not real.isError and len(images(real)) == 1
    assert agent_key not in log and "Traceback" not in log


# ---- turning it off --------------------------------------------------------------------------------------


def test_seedream_mcp_0_turns_the_route_off(stub_server: StubServer) -> None:
    settings = Settings(api_key=SERVER_KEY, api_url=stub_server.url, mcp=False)
    with running_app(settings) as off:
        answer = httpx.post(off.url + "gradio_api/mcp/", json={}, timeout=10)
    assert answer.status_code == 404


@pytest.mark.parametrize(("text", "on"), [("", True), ("1", True), ("true", True), ("0", False), ("Off", False)])
def test_seedream_mcp_setting(text: str, on: bool) -> None:
    assert load_settings({"SEEDREAM_MCP": text}, dotenv_path=None).mcp is on


def test_a_bad_seedream_mcp_value_stops_start_up_with_one_line() -> None:
    with pytest.raises(ConfigError, match="SEEDREAM_MCP must be 1 or 0"):
        load_settings({"SEEDREAM_MCP": "maybe"}, dotenv_path=None)
