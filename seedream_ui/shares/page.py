"""The HTML of shared pages: read-only, self-contained, every visitor-made string escaped.

Links are relative (`<id>/image/1` from `…/s/<id>`), so the pages work under any root path or proxy prefix
without knowing it. The only style and script are inline and allowed by their hashes in the
Content-Security-Policy; nothing is loaded from anywhere else (URL references are shown as text, never fetched,
so opening a share tells no third party who looked).
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from html import escape

from seedream_ui.shares.recipe import Recipe, UrlReference
from seedream_ui.shares.store import Share

CSS = """
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f6f8;color:#1f2330}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:1.5rem;margin:0 0 4px}
.muted{color:#5b6170}
.prompt{white-space:pre-wrap;overflow-wrap:anywhere;background:#fff;border:1px solid #dde;border-radius:8px;padding:12px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:16px;margin:16px 0}
figure{margin:0;background:#fff;border:1px solid #dde;border-radius:8px;padding:8px}
figure img{width:100%;height:auto;display:block;border-radius:4px}
figcaption{font-size:.9rem;margin-top:6px;overflow-wrap:anywhere}
.refs{display:flex;flex-wrap:wrap;gap:8px}
.ref{width:120px;font-size:.8rem;overflow-wrap:anywhere}
.ref img{width:120px;height:120px;object-fit:contain;background:#fff;border:1px solid #dde;border-radius:4px}
.ref .url{width:112px;height:112px;padding:4px;background:#fff;border:1px dashed #99a;border-radius:4px;overflow:hidden}
.actions a,button{display:inline-block;margin:8px 8px 0 0;padding:8px 14px;border-radius:6px;border:0;
background:#4f46e5;color:#fff;text-decoration:none;font:inherit;cursor:pointer}
.actions a.secondary{background:#e4e4ee;color:#1f2330}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px}
dt{font-weight:600}
dd{margin:0;overflow-wrap:anywhere}
input{font:inherit;padding:6px;width:100%;max-width:420px}
"""
# Fills the delete form from the link's #fragment (never sent to the server, so never in a log or a Referer)
# and takes the token out of the address bar.
UNSHARE_JS = (
    "const t=location.hash.slice(1);if(t){document.getElementById('token').value=decodeURIComponent(t);"
    "history.replaceState(null,'',location.pathname);}"
)


def _sha(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; img-src 'self' data:; style-src {_sha(CSS)}; script-src {_sha(UNSHARE_JS)}; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
GONE_TITLE = "Not found or no longer shared"


def share_page(share: Share) -> str:
    recipe = share.recipe
    made = recipe.created or share.created
    count = len(share.images)
    figures = "".join(
        f'<figure><a href="{_id(share)}/image/{n}"><img src="{_id(share)}/image/{n}" alt="Result {n}" '
        f'width="{image.width}" height="{image.height}"></a><figcaption>{escape(image.file)} · '
        f'{image.width}×{image.height} · {_amount(image.bytes)} · '
        f'<a href="{_id(share)}/image/{n}?download=1">Download</a></figcaption></figure>'
        for n, image in enumerate(share.images, start=1)
    )
    body = f"""
<h1>Seedream 4.5 · {count} image{'s' if count != 1 else ''}</h1>
<p class="muted">Made {_when(made)}. Shared until {_when(share.expires)}.</p>
<h2>Prompt</h2>
<div class="prompt" id="prompt">{escape(recipe.prompt)}</div>
<div class="actions">
<a href="{_id(share)}/zip">Download all (.zip)</a>
<a class="secondary" href="../?recipe={_id(share)}" id="open-in-editor">Open in the editor</a>
<a class="secondary" href="{_id(share)}/recipe.json">Recipe (JSON)</a>
</div>
<div class="grid">{figures}</div>
<h2>Settings</h2>
{_settings(recipe)}
<h2>References</h2>
{_references(share)}
"""
    return _document(f"Seedream 4.5 · {_short(recipe.prompt)}", body)


def gone_page(home: str = "../") -> str:
    """`home`: the demo's page relative to where this is served (it is served at several depths)."""
    body = f"""
<h1>{GONE_TITLE}</h1>
<p>This link does not lead to a shared generation: it may have been mistyped, unshared by the person who
shared it, or removed after its time was up.</p>
<p><a href="{escape(home)}">Make your own with Seedream 4.5</a></p>
"""
    return _document(GONE_TITLE, body)


def unshare_form(share_id: str, wrong_token: bool = False) -> str:
    warning = '<p><strong>That delete token is not right for this share.</strong></p>' if wrong_token else ""
    body = f"""
<h1>Stop sharing this generation?</h1>
<p>Anyone with the link will see "{GONE_TITLE}", and its files are deleted. This cannot be undone.</p>
{warning}
<form method="post" action="unshare">
<label for="token">Delete token (filled in from your delete link)</label><br>
<input id="token" name="token" autocomplete="off" maxlength="64" required>
<br><button type="submit">Stop sharing</button>
</form>
<p><a href="../{escape(share_id)}">Back to the shared page</a></p>
<script>{UNSHARE_JS}</script>
"""
    return _document("Stop sharing", body)


def unshared_page() -> str:
    body = "<h1>No longer shared</h1><p>The link now shows “not found or no longer shared”, and its files are deleted.</p>"
    return _document("No longer shared", body)


def _settings(recipe: Recipe) -> str:
    rows = [
        ("Size", recipe.size),
        ("Watermark", "on" if recipe.watermark else "off"),
        ("Prompt optimisation", recipe.optimize_prompt_mode or "not set (the API's default)"),
        ("Sequential generation", recipe.sequential_image_generation),
        ("Max images", str(recipe.max_images) if recipe.max_images is not None else "—"),
        ("References", str(len(recipe.references))),
    ]
    return "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows) + "</dl>"


def _references(share: Share) -> str:
    if not share.recipe.references:
        return '<p class="muted">None: made from the prompt alone.</p>'
    tiles = []
    for n, reference in enumerate(share.recipe.references, start=1):
        if isinstance(reference, UrlReference):
            # Shown, never loaded: an <img> of a third-party URL would tell that site who opened the share.
            inner = f'<div class="url">URL:<br>{escape(reference.url)}</div>'
        elif share.thumbnails[n - 1]:
            inner = f'<img src="{_id(share)}/reference/{n}" alt="Reference {n}">'
        else:
            inner = '<div class="url">(no preview)</div>'
        label = reference.url if isinstance(reference, UrlReference) else reference.name
        tiles.append(f'<div class="ref">{inner}<div>{n}. {escape(_short(label, 60))}</div></div>')
    return '<div class="refs">' + "".join(tiles) + "</div>"


def _document(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">  <!-- no favicon request: it would 404 -->
<title>{escape(title)}</title>
<style>{CSS}</style>
</head><body><main>{body}</main></body></html>"""


def _id(share: Share) -> str:
    return escape(share.id)  # already [A-Za-z0-9_-]; escaped anyway, as every value in these pages is


def _when(moment: datetime) -> str:
    return f'<time datetime="{moment:%Y-%m-%dT%H:%M:%SZ}">{moment:%Y-%m-%d %H:%M} UTC</time>'


def _amount(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{max(1, round(size / 1e3))} KB"


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
