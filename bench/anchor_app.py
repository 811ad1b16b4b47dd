"""`python bench/anchor_app.py PORT`: the leanest honest Gradio front end for the same API, the yardstick of
bench/lean.py. One async handler: POST the request with a shared httpx.AsyncClient, download each image, write it
to a file, return the paths to a Gallery. Same nine /generate inputs and queue concurrency as app.py's default."""

import os
import sys
import tempfile
import uuid
from pathlib import Path

import gradio as gr
import httpx

API_URL, API_KEY = os.environ["SEEDREAM_API_URL"], os.environ.get("SEEDREAM_API_KEY", "")
OUT = Path(tempfile.mkdtemp(prefix="anchor-"))
http = httpx.AsyncClient(timeout=httpx.Timeout(120.0, connect=10.0))  # httpx's default pool, as app.py's client


async def generate(
    prompt: str, size: str, image: object, urls: str, watermark: bool, mode: str, seq: str, n: float, key: str
) -> list[str]:
    body = {"prompt": prompt, "size": size, "watermark": watermark, "sequential_image_generation": seq,
            "optimize_prompt_options": {"mode": mode}}  # fmt: skip
    answer = await http.post(API_URL, json=body, headers={"Authorization": f"Bearer {key or API_KEY}"})
    paths = []
    for url in answer.raise_for_status().json()["images"]:
        path = OUT / f"{uuid.uuid4().hex}.jpg"
        path.write_bytes((await http.get(url)).raise_for_status().content)
        paths.append(str(path))
    return paths


with gr.Blocks() as demo:
    inputs = [gr.Textbox(), gr.Textbox(), gr.Gallery(type="filepath"), gr.Textbox(), gr.Checkbox(), gr.Textbox(),
              gr.Textbox(), gr.Number(), gr.Textbox()]  # fmt: skip
    gr.Button().click(generate, inputs, gr.Gallery(), api_name="generate")

if __name__ == "__main__":
    demo.queue(default_concurrency_limit=int(os.environ.get("SEEDREAM_CONCURRENCY", "64")))
    demo.launch(server_name="127.0.0.1", server_port=int(sys.argv[1]))
