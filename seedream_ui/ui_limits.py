"""Limits and cost on the page and in the MCP tool (issue 10): who the visitor is, the reservation around the paid
call, what a generation can cost before the click and what it did cost after. The rules are in seedream_ui/quotas;
this module only wires them to a request and to the page's components.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import gradio as gr

from seedream_ui import generation as gen
from seedream_ui.quotas import QuotaGate, QuotaUnavailableError, Reservation
from seedream_ui.quotas.limits import plural

# When the store cannot say who a visitor is, an own key still works (the visitor pays); only its pause is lost.
UNKNOWN_VISITOR = "addr-unknown"
OWN_KEY_TEXT = "Billed to your own API key; not counted against the demo's limits."
PREVIEW_TEXT = "Offline preview: placeholder images, nothing billed."
# The key never leaves the browser for the hint: only whether the box holds one.
_KEY_PRESENT_JS = "(seq, n, key) => [seq, n, (key || '').trim() ? 'own' : '']"


def own_key(api_key: object) -> bool:
    """Whether the visitor brought a key (Backend.route uses it then, whatever the server has)."""
    return isinstance(api_key, str) and bool(api_key.strip())


def expected_images(sequential: object, max_images: object) -> int:
    """What the form can make at most, as the page shows it (the request's own count is checked on sending)."""
    if sequential != "auto":
        return 1
    return max(1, int(max_images)) if isinstance(max_images, (int, float)) and not isinstance(max_images, bool) else 1


@dataclass
class Visit:
    """One generation's visitor, and the reservation `gen.generate` makes through `reserve`."""

    gate: QuotaGate | None
    request: Any  # a gr.Request or the MCP call's starlette Request: whatever has .client and .headers
    own_key: bool
    username: str | None = None
    reservation: Reservation | None = None

    @asynccontextmanager
    async def reserve(self, images: int) -> AsyncIterator[gen.Reservation]:
        if self.gate is None:
            async with gen.no_reservation(images) as free:
                yield free
            return
        visitor = await self._visitor()
        async with self.gate.reserve(visitor, images=images, own_key=self.own_key) as reservation:
            self.reservation = reservation
            yield reservation

    async def _visitor(self) -> str:
        assert self.gate is not None
        try:
            return await self.gate.visitor(self.request, username=self.username)
        except QuotaUnavailableError:
            if self.own_key or self.gate.preview:  # nothing of the demo's is spent: go on without a name
                return UNKNOWN_VISITOR
            raise

    @property
    def payer(self) -> str:
        return self.reservation.payer if self.reservation is not None else "none"

    def server_images(self) -> int:
        """Images this generation cost the demo's key."""
        charge = self.reservation.settled if self.reservation is not None else None
        return charge.images if charge is not None and self.payer == "server" else 0

    def with_cost(self, done: gen.Generation, session_images: int | None = None) -> gen.Generation:
        """The generation with its cost on its status line (and the page session's total on the demo's key)."""
        charge = self.reservation.settled if self.reservation is not None else None
        if self.gate is None or charge is None:
            return done
        # Only the demo's key gets a price; otherwise one brief word on who pays.
        cost = {"own": "on your own key, not counted", "preview": "preview, nothing billed"}.get(self.payer, "")
        if self.payer == "server":
            cost = f"cost {charge.text}" + (f" · {self.gate.session_text(session_images)}" if session_images else "")
        first, sep, rest = done.status.partition("\n\n")
        return replace(done, status=f"{first} · {cost}{sep}{rest}")


async def visit_for(gate: QuotaGate | None, request: Any, *, api_key: object, profile: Any = None) -> Visit:
    """The visit of a page or MCP request; `profile` is the gr.OAuthProfile of a visitor signed in on a Space."""
    username = getattr(profile, "username", None) or getattr(profile, "preferred_username", None)
    return Visit(gate, request, own_key(api_key), username if isinstance(username, str) else None)


# ---- the page -----------------------------------------------------------------------------------------------


def cost_hint(gate: QuotaGate | None, sequential: object, max_images: object, key: object) -> str:
    """The line under Generate: what a click can cost on the demo's key, or who pays instead."""
    if key:
        return OWN_KEY_TEXT
    if gate is None:
        return ""
    if gate.preview:
        return PREVIEW_TEXT
    text = f"Cost: {gate.estimate(expected_images(sequential, max_images))} on the demo's key"
    limits = [
        f"{plural(gate.limits.images_per_hour)} an hour" if gate.limits.images_per_hour else "",
        f"{gate.limits.images_per_day} a day" if gate.limits.images_per_day else "",
    ]
    shown = " and ".join(item for item in limits if item)
    return text + (f" · limit {shown} per visitor" if shown else "")


def build_cost(page: Any, gate: QuotaGate | None) -> None:
    """The cost line, placed under the Generate button, and the session's running total on the demo's key."""
    page.cost = gr.Markdown(cost_hint(gate, "disabled", 1, ""), elem_id="cost", elem_classes="hint")
    page.session_images = gr.State(0)


def login_button() -> None:
    """Sign in with Hugging Face, on a Space with OAuth only (hf_oauth: true sets OAUTH_CLIENT_ID): a signed-in
    visitor is counted by username, not address. Elsewhere Gradio would offer a mocked sign-in with this machine's
    own Hugging Face token, which means nothing for a public demo."""
    if os.environ.get("SPACE_ID") and os.environ.get("OAUTH_CLIENT_ID"):
        gr.LoginButton(elem_id="login")


def wire_limits(page: Any, gate: QuotaGate | None, event: Any) -> None:
    """The cost line follows the form; after each generation the key box is paused or open again."""
    fast: dict[str, Any] = {"queue": False, "show_progress": "hidden", "api_visibility": "private"}
    gr.on(
        [page.sequential_image_generation.change, page.max_images.change, page.api_key.change],
        lambda seq, n, key: cost_hint(gate, seq, n, key),
        [page.sequential_image_generation, page.max_images, page.api_key],
        page.cost,
        js=_KEY_PRESENT_JS,
        trigger_mode="always_last",
        **fast,
    )

    placeholder, info = page.api_key.placeholder, page.api_key.info
    paused_shown = gr.State(False)  # whether this tab shows the box paused

    async def key_box(shown: bool, request: gr.Request) -> dict[Any, Any]:
        """An update only when the pause starts or ends: re-sending the box's props after every rejected key
        raced with the visitor typing the next one (a props update arriving after a fill could lose it)."""
        if gate is None:
            return gr.skip()  # not {}: Gradio 6.31 takes an empty dict for one value, not "no update"
        try:
            until = await gate.key_paused_until(await gate.visitor(request))
        except QuotaUnavailableError:
            return gr.skip()
        if until is None:
            if not shown:
                return gr.skip()
            return {page.api_key: gr.Textbox(interactive=True, placeholder=placeholder, info=info), paused_shown: False}
        if shown:
            return gr.skip()
        # Emptied too: the next click then uses the demo's key, which still works for this visitor.
        paused = gr.Textbox(
            value="", interactive=False, placeholder=f"Paused until {until:%H:%M} UTC",
            info=f"Paused after {gate.limits.key_failures} rejected keys; the demo's own key still works meanwhile.",
        )  # fmt: skip
        return {page.api_key: paused, paused_shown: True}

    # Both, not `.then`: in Gradio 6.31 a `.then` step does not run after the event raised an error.
    event.success(key_box, paused_shown, [page.api_key, paused_shown], **fast)
    event.failure(key_box, paused_shown, [page.api_key, paused_shown], **fast)


def counted(page: Any, visit: Visit, done: gen.Generation, session_images: object) -> tuple[gen.Generation, dict[Any, Any]]:
    """After a generation: the generation with its cost shown, and the session total to keep."""
    total = (session_images if isinstance(session_images, int) else 0) + visit.server_images()
    return visit.with_cost(done, total), {page.session_images: total}

