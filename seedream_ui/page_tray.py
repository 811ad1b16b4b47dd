"""The reference tray's component (issue 12): every reference numbered Image 1..N in the order sent, with its
thumbnail, preflight, and controls. Built by page.py's `_build_references`; wired in ui_tray.py; its behaviour
in the browser (insert "image N", paste, drop, the actions) is assets/tray.js.

A gr.HTML rendered by Handlebars from a list of plain values (`tray.entries`): Handlebars escapes every value,
so a file name or URL cannot become markup. URLs get no <img>: loading a URL someone else put in a shared recipe
would tell its host who opened the page, so a URL shows as its host name.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

HINT = (
    "Add images by uploading, dropping them here, or pasting (Ctrl+V, ⌘+V on a Mac) anywhere on the page. "
    "They are sent in this order: click a number to write “image N” into the prompt."
)

# No "${": Gradio reads the template as a JS template string before Handlebars does.
TEMPLATE = """
<div class="tray">
  <p class="tray-hint">HINT</p>
  {{#if value.length}}
  <ol class="tray-list">
    {{#each value}}
    <li class="tray-item{{#if refused}} refused{{/if}}" data-index="{{index}}" data-key="{{key}}">
      <button type="button" class="tray-number" data-number="{{number}}"
              aria-label="Write “image {{number}}” into the prompt" title="Write “image {{number}}” into the prompt"
      >Image {{number}}</button>
      {{#if upload}}
      <img class="tray-thumb" data-src="{{thumb}}" alt="Image {{number}}: {{name}}">
      {{else}}
      <span class="tray-thumb tray-link" aria-hidden="true">URL</span>
      {{/if}}
      <div class="tray-text">
        <div class="tray-name" title="{{name}}">{{name}}</div>
        {{#if facts}}<div class="tray-facts">{{facts}}</div>{{/if}}
        <div class="tray-note">{{#if refused}}✗ Refused: {{/if}}{{note}}</div>
      </div>
      <div class="tray-actions">
        <button type="button" data-op="earlier" aria-label="Move image {{number}} earlier" title="Move earlier"
                {{#if first}}disabled{{/if}}>↑</button>
        <button type="button" data-op="later" aria-label="Move image {{number}} later" title="Move later"
                {{#if last}}disabled{{/if}}>↓</button>
        <button type="button" data-op="remove" aria-label="Remove image {{number}}" title="Remove">✕</button>
      </div>
    </li>
    {{/each}}
  </ol>
  {{/if}}
</div>
""".replace("HINT", HINT)

CSS = """
.tray-hint { margin: 0.25rem 0 0.5rem; font-size: var(--text-sm); color: var(--body-text-color-subdued); }
.tray-list { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 0.4rem; }
.tray-item { display: grid; grid-template-columns: auto 56px minmax(0, 1fr) auto; align-items: center;
             gap: 0.5rem; padding: 0.35rem; border: 1px solid var(--border-color-primary);
             border-radius: var(--radius-md); background: var(--background-fill-secondary); margin: 0; }
.tray-item.refused { border-color: var(--error-border-color, #ef4444); }
.tray-number { font-weight: 600; white-space: nowrap; padding: 0.3rem 0.55rem; border-radius: var(--radius-sm);
               background: var(--button-primary-background-fill); color: var(--button-primary-text-color);
               cursor: pointer; border: none; }
.tray-thumb { width: 56px; height: 56px; object-fit: contain; border-radius: var(--radius-sm);
              background: var(--background-fill-primary); }
.tray-link { display: flex; align-items: center; justify-content: center; font-size: var(--text-xs);
             color: var(--body-text-color-subdued); border: 1px dashed var(--border-color-primary); }
.tray-text { min-width: 0; font-size: var(--text-sm); line-height: 1.3; }
.tray-name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; font-weight: 500; }
.tray-facts, .tray-note { color: var(--body-text-color-subdued); overflow-wrap: anywhere; }
.refused .tray-note { color: var(--error-text-color, #b91c1c); }
.tray-actions { display: flex; gap: 0.2rem; }
.tray-actions button { width: 2.1rem; height: 2.1rem; padding: 0; border-radius: var(--radius-sm); cursor: pointer;
                       border: 1px solid var(--border-color-primary); background: var(--background-fill-primary);
                       color: var(--body-text-color); }
.tray-actions button:disabled { opacity: 0.35; cursor: default; }
@media (max-width: 480px) {  /* a phone: number, thumbnail and buttons on one line, the text under them */
  .tray-item { grid-template-columns: auto 40px minmax(0, 1fr); column-gap: 0.4rem; row-gap: 0.3rem; }
  .tray-number { padding: 0.3rem 0.45rem; }
  .tray-thumb { width: 40px; height: 40px; }
  .tray-number, .tray-thumb, .tray-actions { grid-row: 1; }
  .tray-actions { grid-column: 3; justify-self: end; }
  .tray-actions button { width: 1.9rem; height: 1.9rem; }
  .tray-text { grid-row: 2; grid-column: 1 / -1; }
}
"""

# The one custom event the tray sends (its name must appear quoted here for Gradio to offer `.tray_action`).
JS_ON_LOAD = "window.seedreamTray?.mount(element, (data) => trigger('tray_action', data), watch);"


def build_tray(page: Any) -> None:
    """Under the reference inputs: the numbered tray (empty until there is a reference)."""
    page.tray = gr.HTML(
        [],
        html_template=TEMPLATE,
        css_template=CSS,
        js_on_load=JS_ON_LOAD,
        elem_id="reference-tray",
        padding=False,
    )
