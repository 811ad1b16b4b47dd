// Keyboard and waiting (issue 12). Loaded in the page's <head>; listeners are delegated to the document,
// because Gradio renders (and re-renders) the components after this runs.
(() => {
  const $ = (selector) => document.querySelector(selector);
  const button = (id) => { const el = $(id); return el?.tagName === "BUTTON" ? el : el?.querySelector("button"); };
  const waiting = () => $("#wait .waiting") !== null;

  // Ctrl+Enter (Cmd+Enter on a Mac) in the prompt generates: one click per key press (a held key repeats
  // keydown events; those are ignored). Esc stops a wait; anywhere else it keeps its usual meaning.
  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.closest?.("#prompt")) {
      event.preventDefault();
      if (!event.repeat) button("#generate")?.click();
    } else if (event.key === "Escape" && waiting()) {
      event.preventDefault();
      button("#stop")?.click();
    }
  }, true);

  // Elapsed seconds, counted from the click (the server's estimate arrives a moment later).
  let started = null;
  document.addEventListener("click", (event) => {
    if (event.target.closest?.("#generate")) started = Date.now();
  }, true);
  setInterval(() => {
    const elapsed = $("#wait .waiting .elapsed");
    if (!elapsed) return;
    const seconds = Math.floor((Date.now() - (started ?? Date.now())) / 1000);
    const text = seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
    if (elapsed.textContent !== text) elapsed.textContent = text;
  }, 250);
})();
