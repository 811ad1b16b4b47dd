// Recipes dropped onto the page (issue 11). Loaded in the page's <head>. A .json file (a recipe, or the zip's
// request.json) dropped anywhere is handed to the "Load recipe (.json)" button's own file input, so it goes
// through Gradio's upload route and its limits, and the server checks it as it checks any recipe. Every other
// drop (images onto the references) is left alone: only drags that carry JSON files are taken.
(() => {
  const isJson = (item) => item.kind === "file" && (item.type === "application/json" || item.type === "");
  const carriesJson = (event) => {
    const items = [...(event.dataTransfer?.items ?? [])];
    return items.length > 0 && items.every(isJson);
  };
  const recipeFiles = (event) => [...(event.dataTransfer?.files ?? [])].filter(
    (file) => file.type === "application/json" || file.name.toLowerCase().endsWith(".json"));

  // Without this the browser would open the dropped file in place of the page.
  window.addEventListener("dragover", (event) => {
    if (!carriesJson(event)) return;
    event.preventDefault();
    event.stopPropagation();
    event.dataTransfer.dropEffect = "copy";
  }, true);

  window.addEventListener("drop", (event) => {
    const files = recipeFiles(event);
    if (files.length === 0 || files.length !== (event.dataTransfer?.files?.length ?? 0)) return;
    event.preventDefault();
    event.stopPropagation();  // not to the references' drop zone either
    // Gradio renders the UploadButton's input beside the button, not inside it.
    const input = document.querySelector("#load-recipe")?.parentElement?.querySelector("input[type=file]")
      ?? document.querySelector('input[type=file][accept=".json"]');
    if (!input) return;
    const chosen = new DataTransfer();
    chosen.items.add(files[0]);
    input.files = chosen.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }, true);
})();
