"""The shared pages over real HTTP (uvicorn on 127.0.0.1): what someone opening a share link gets."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request

from seedream_ui.shares import ShareLimits, ShareStore, delete_url, parse_recipe, root_url, share_url
from seedream_ui.shares.page import GONE_TITLE
from tests.shares_fixtures import clock, store  # noqa: F401  (fixtures of this module only)
from tests.shares_support import HOSTILE_PROMPT, FakeClock, publish, results, serving, sha, share_app
from tests.waiting import wait_for


@dataclass
class Site:
    url: str
    store: ShareStore
    clock: FakeClock


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One server for the module; each test publishes shares of its own."""
    clock = FakeClock()
    store = ShareStore(tmp_path_factory.mktemp("site") / "data", ShareLimits(), clock=clock)
    with serving(share_app(store)) as url:
        yield Site(url, store, clock)
    store.close()


HTTP = httpx.Client(timeout=10)  # one connection pool for the module: a client per request costs ~50 ms each


@pytest.fixture(scope="module", autouse=True)
def _close_http() -> Iterator[None]:
    yield
    HTTP.close()


def get(url: str, **kwargs: object) -> httpx.Response:
    return HTTP.get(url, **kwargs)  # type: ignore[arg-type]


def assert_gone(response: httpx.Response) -> None:
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert GONE_TITLE in response.text
    assert "Traceback" not in response.text and "detail" not in response.text


def test_a_shared_page_shows_the_generation_and_serves_the_original_bytes(site: Site) -> None:
    published = publish(site.store, HOSTILE_PROMPT)
    link = share_url(site.url, published.id)

    page = get(link)

    assert page.status_code == 200
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page.text  # the prompt, escaped
    assert "<script>alert" not in page.text and "onerror=alert" not in page.text.replace("onerror=alert(1)&gt;", "")
    for text in ("2560x1440", "Watermark</dt><dd>off", "standard", "auto", "Max images</dt><dd>3", "cat.png",
                 "https://example.com/ref.jpg", "2026-11-29 15:30 UTC", "Download all (.zip)", "Open in the editor"):
        assert text in page.text
    for n, sent in enumerate(results(2), start=1):
        image = get(f"{link}/image/{n}")
        assert image.status_code == 200 and sha(image.content) == sha(sent.data)
        assert image.headers["content-type"] == ("image/jpeg" if n == 1 else "image/png")
    download = get(f"{link}/image/1?download=1")
    assert download.headers["content-disposition"] == 'attachment; filename="seedream-20261129-153012-1.jpg"'
    thumb = get(f"{link}/reference/2")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/webp"


def test_the_zip_holds_the_images_and_a_request_json_that_reads_back_as_the_recipe(site: Site) -> None:
    published = publish(site.store)

    response = get(f"{share_url(site.url, published.id)}/zip")

    assert response.headers["content-disposition"] == 'attachment; filename="seedream-20261129-153012.zip"'
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert sorted(archive.namelist()) == ["recipe.json", "request.json", "seedream-20261129-153012-1.jpg",
                                              "seedream-20261129-153012-2.png"]
        assert sha(archive.read("seedream-20261129-153012-1.jpg")) == sha(results(2)[0].data)
        from_request = parse_recipe(archive.read("request.json"))
        assert parse_recipe(archive.read("recipe.json")) == published.share.recipe
    assert from_request.prompt == published.share.recipe.prompt
    assert from_request.references[0] == published.share.recipe.references[0]
    # The download's zip is removed once sent (by a background task that runs after the response).
    wait_for(lambda: not list((site.store.root / "tmp").iterdir()))


def test_the_recipe_json_is_the_shares_recipe(site: Site) -> None:
    published = publish(site.store)

    response = get(f"{share_url(site.url, published.id)}/recipe.json")

    assert response.headers["content-type"] == "application/json"
    assert parse_recipe(response.text) == published.share.recipe


def test_pages_carry_a_strict_content_security_policy(site: Site) -> None:
    link = share_url(site.url, publish(site.store).id)

    page, image = get(link), get(f"{link}/image/1")

    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "sandbox" in image.headers["content-security-policy"]
    assert image.headers["x-content-type-options"] == "nosniff"


def test_after_restarting_on_the_same_data_dir_the_link_still_works(tmp_path: Path, clock: FakeClock) -> None:
    first = ShareStore(tmp_path / "data", ShareLimits(), clock=clock)
    published = publish(first)
    with serving(share_app(first)) as url:
        before = get(f"{share_url(url, published.id)}/image/2").content
    first.close()

    second = ShareStore(tmp_path / "data", ShareLimits(), clock=clock)
    with serving(share_app(second)) as url:
        page = get(share_url(url, published.id))
        after = get(f"{share_url(url, published.id)}/image/2").content
    second.close()

    assert page.status_code == 200 and "a lighthouse at dusk" in page.text
    assert sha(after) == sha(before) == sha(results(2)[1].data)


def test_the_delete_link_asks_first_and_a_post_with_the_token_unshares(site: Site) -> None:
    published = publish(site.store)
    link = share_url(site.url, published.id)
    secret = delete_url(site.url, published)
    assert secret == f"{link}/unshare#{published.delete_token}"

    asked = get(secret)  # what a link previewer fetching the delete link does (the #fragment is never sent)
    assert asked.status_code == 200 and "Stop sharing this generation?" in asked.text
    assert get(link).status_code == 200

    wrong = HTTP.post(f"{link}/unshare", data={"token": "x" * 32})
    assert wrong.status_code == 403 and "not right for this share" in wrong.text
    assert get(link).status_code == 200

    done = HTTP.post(f"{link}/unshare", data={"token": published.delete_token})
    assert done.status_code == 200 and "No longer shared" in done.text
    for path in ("", "/image/1", "/reference/2", "/zip", "/recipe.json", "/unshare"):
        assert_gone(get(link + path))


def test_an_expired_share_gets_the_same_page(tmp_path: Path, clock: FakeClock) -> None:
    store = ShareStore(tmp_path / "data", ShareLimits(days=1), clock=clock)
    published = publish(store)
    with serving(share_app(store)) as url:
        assert get(share_url(url, published.id)).status_code == 200
        clock.advance(days=1)
        assert_gone(get(share_url(url, published.id)))
    store.close()


FORGED = [
    "AAAAAAAAAAAAAAAAAAAAAA",  # the right shape, never issued
    "..%2F..%2F..%2Fetc%2Fpasswd",
    "%2E%2E%2Fshares.sqlite3",
    "a" * 5000,
    "%C3%A9" * 22,  # non-ASCII
    "abc%24def%25ghi%26jkl%2Amno",  # the wrong alphabet
    "AAAAAAAAAAAAAAAAAAAAAA%00",
    "x%2F..%2F..%2Fshares%2Fshares.sqlite3",
    "files",
]


@pytest.mark.parametrize("forged", FORGED, ids=[f"forged-{i}" for i in range(len(FORGED))])
def test_forged_ids_all_get_the_same_clear_page(site: Site, forged: str) -> None:
    publish(site.store)

    for suffix in ("", "/image/1", "/zip", "/recipe.json", "/reference/1", "/unshare"):
        assert_gone(get(f"{site.url}/s/{forged}{suffix}"))


def test_someone_elses_unshared_share_and_bad_image_numbers_get_the_same_page(site: Site) -> None:
    gone_share = publish(site.store, visitor="addr-someone-else")
    site.store.unshare(gone_share.id, gone_share.delete_token)
    live = share_url(site.url, publish(site.store).id)

    assert_gone(get(share_url(site.url, gone_share.id)))
    for n in ("0", "3", "-1", "01", "1.0", "99999999999999999999", "%C2%B2"):
        assert_gone(get(f"{live}/image/{n}"))
    assert_gone(get(f"{live}/reference/1"))  # a URL reference has no thumbnail to serve


def test_head_requests_see_a_share_as_get_does(site: Site) -> None:
    link = share_url(site.url, publish(site.store).id)

    for path in ("", "/image/1", "/zip", "/recipe.json"):
        response = HTTP.head(link + path)
        assert response.status_code == 200 and response.content == b""
    assert HTTP.head(share_url(site.url, "A" * 22)).status_code == 404
    assert list((site.store.root / "tmp").iterdir()) == []


def test_a_trailing_slash_redirects_to_the_page_relative_to_wherever_it_is_mounted(site: Site) -> None:
    published = publish(site.store)

    response = get(f"{site.url}/s/{published.id}/")

    assert response.status_code == 308
    assert response.headers["location"] == f"../{published.id}"


def request_with(headers: dict[str, str], root_path: str = "") -> Request:
    return Request({
        "type": "http", "method": "GET", "scheme": "http", "server": ("10.0.0.5", 7860), "path": "/gradio_api/x",
        "root_path": root_path, "query_string": b"", "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    })


def test_a_configured_root_path_wins_and_may_be_a_full_url() -> None:
    request = request_with({"host": "127.0.0.1:7860", "x-forwarded-prefix": "/other"})

    assert root_url(request, "/demo/") == "http://127.0.0.1:7860/demo"
    assert root_url(request, "https://seedream.example.org/") == "https://seedream.example.org"


@pytest.mark.parametrize(("headers", "root_path", "expected"), [
    ({"host": "127.0.0.1:7860"}, "", "http://127.0.0.1:7860"),
    ({"host": "127.0.0.1:7860"}, "/demo", "http://127.0.0.1:7860/demo"),
    ({"host": "10.0.0.5", "x-forwarded-host": "user-space.hf.space", "x-forwarded-proto": "https"}, "",
     "https://user-space.hf.space"),
    ({"host": "10.0.0.5", "x-forwarded-host": "example.org, proxy", "x-forwarded-proto": "https,http",
      "x-forwarded-prefix": "/tools/seedream/"}, "", "https://example.org/tools/seedream"),
    ({"host": "h", "x-forwarded-prefix": "javascript:alert(1)"}, "/demo", "http://h/demo"),
    ({"host": "h", "x-forwarded-host": "evil.com/<script>"}, "", "http://h"),
    ({"host": "h", "x-forwarded-host": "[::1]:8080"}, "", "http://[::1]:8080"),
])
def test_share_links_follow_the_proxy_and_root_path(headers: dict[str, str], root_path: str, expected: str) -> None:
    root = root_url(request_with(headers, root_path))

    assert root == expected
    assert share_url(root, "A" * 22) == f"{expected}/s/{'A' * 22}"


def test_nothing_served_names_the_visitor_who_shared(site: Site) -> None:
    link = share_url(site.url, publish(site.store, visitor="addr-0123456789abcdef").id)

    served = b"".join(get(link + path).content for path in ("", "/recipe.json", "/zip", "/unshare"))

    assert b"addr-0123456789abcdef" not in served and b"127.0.0.1" not in served
