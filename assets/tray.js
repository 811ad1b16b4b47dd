// The reference tray in the browser (issue 12). Loaded in the page's <head>; the tray component
// (seedream_ui/page_tray.py) calls `mount` when Gradio renders it.
//
// - Ctrl/Cmd+V anywhere adds an image on the clipboard as a reference, opening the references if they were folded
//   away; dropping image files on the reference area adds them. Both go through the gallery's own file input, so
//   Gradio's upload (and this server's upload quotas) apply as to any upload.
// - A tray number writes "image N" into the prompt at the cursor; the arrows and the cross ask the server to
//   move or remove a reference (it checks the request against what it has).
(() => {
  const $ = (selector) => document.querySelector(selector);
  const AREA = "#references, #reference-urls, #reference-tray";

  // ---- adding images ------------------------------------------------------------------------------------

  const imageFiles = (transfer) =>
    [...(transfer?.files ?? [])].filter((file) => file.type.startsWith("image/"));

  // The references sit in an accordion the visitor may have folded away: an image pasted then would be added
  // out of sight, with no sign that the paste worked. Clicking the header (rather than showing the content) keeps
  // Gradio's own open/closed state true, so the next click on it folds it as the visitor expects.
  function revealReferences() {
    const header = $("#references")?.closest(".gr-accordion")?.querySelector(":scope > button.label-wrap");
    if (header && !header.classList.contains("open")) header.click();
  }

  let pasted = 0;
  function addFiles(files) {
    const input = $("#references input[type=file]");
    if (!input || !files.length) return false;
    revealReferences();
    const transfer = new DataTransfer();
    for (const file of files) {
      // A pasted image is called "image.png" whatever it is: number it, so that the tray can tell them apart.
      const named = file.name && file.name !== "image.png" ? file
        : new File([file], `pasted-${++pasted}.${file.type.split("/")[1] || "png"}`, { type: file.type });
      transfer.items.add(named);
    }
    input.files = transfer.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
    return true;
  }

  const typing = (target) =>
    target?.closest?.("textarea, input:not([type=checkbox]):not([type=radio]):not([type=file]), [contenteditable=true]");

  // An image on the clipboard is added as a reference, wherever the page has focus. In a text field, text on
  // the clipboard wins (copying from a web page often puts both), so pasting words still works.
  document.addEventListener("paste", (event) => {
    const files = imageFiles(event.clipboardData);
    if (!files.length) return;
    if (typing(event.target) && event.clipboardData.getData("text/plain")) return;
    if (addFiles(files)) event.preventDefault();
  });

  // Dropping on the whole reference area (gallery, URL box, tray): image files are uploaded, a dragged web image
  // (a link, no file) goes into the URL box.
  // Only files and links: dragging text into the URL box keeps its usual meaning.
  const inArea = (event) => event.target?.closest?.(AREA) &&
    [...(event.dataTransfer?.types ?? [])].some((t) => t === "Files" || t === "text/uri-list");
  document.addEventListener("dragover", (event) => {
    if (!inArea(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  }, true);
  document.addEventListener("drop", (event) => {
    if (!inArea(event)) return;
    event.preventDefault();
    event.stopPropagation(); // the gallery's own drop zone would upload the same files a second time
    const files = imageFiles(event.dataTransfer);
    if (files.length) { addFiles(files); return; }
    const link = (event.dataTransfer.getData("text/uri-list") || "").split("\n").find((l) => /^https?:\/\//i.test(l));
    if (link) appendUrl(link.trim());
  }, true);

  function setValue(field, value) {
    field.value = value;
    field.dispatchEvent(new Event("input", { bubbles: true })); // Gradio reads the value from this event
  }

  function appendUrl(url) {
    const box = $("#reference-urls textarea");
    if (!box) return;
    setValue(box, box.value.trim() ? `${box.value.replace(/\s+$/, "")}\n${url}` : url);
  }

  // ---- the tray -----------------------------------------------------------------------------------------

  // Writes "image N" at the prompt's cursor (replacing a selection), with a space either side where needed.
  function insertImage(number) {
    const prompt = $("#prompt textarea");
    if (!prompt) return;
    const start = prompt.selectionStart ?? prompt.value.length;
    const end = prompt.selectionEnd ?? start;
    const before = prompt.value.slice(0, start);
    const after = prompt.value.slice(end);
    const text = (before && !/\s$/.test(before) ? " " : "") + `image ${number}` +
                 (after && !/^[\s.,;:!?)]/.test(after) ? " " : "");
    setValue(prompt, before + text + after);
    prompt.focus();
    const cursor = before.length + text.length;
    prompt.setSelectionRange(cursor, cursor);
  }

  // The server gives each upload's path on this server; the page's root (a Space, a proxy) goes in front.
  function showThumbnails(element) {
    const root = (window.gradio_config?.root ?? "").replace(/\/$/, "");
    for (const img of element.querySelectorAll("img.tray-thumb[data-src]")) {
      const src = root + img.dataset.src;
      if (img.getAttribute("src") !== src) img.setAttribute("src", src);
    }
  }

  function mount(element, send, watch) {
    element.addEventListener("click", (event) => {
      const number = event.target.closest?.(".tray-number");
      if (number) { insertImage(Number(number.dataset.number)); return; }
      const button = event.target.closest?.("button[data-op]");
      const item = button?.closest(".tray-item");
      if (!item || button.disabled) return;
      send({ op: button.dataset.op, index: Number(item.dataset.index), key: item.dataset.key });
    });
    showThumbnails(element);
    watch?.("value", () => showThumbnails(element));
  }

  window.seedreamTray = { mount, insertImage, addFiles };
})();
