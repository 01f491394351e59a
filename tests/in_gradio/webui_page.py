"""A WebUI-like page on a real Gradio, for the browser test: txt2img/img2img prompt boxes and a #paste
button with A1111's element ids (it reads the steps from the prompt, as A1111 reads the whole infotext), an
empty Lora cards page, the extension's "Civitai" tab, and the app mounted from on_app_started.

Run with a Gradio venv's python: ``python tests/in_gradio/webui_page.py PORT DATA_DIR``. It prints
``READY <url>`` and serves until its stdin closes. The WebUI's modules are the shims in tests/shims/.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import gradio as gr

ROOT = Path(__file__).resolve().parents[2]


class _Patch:
    """Enough of pytest's monkeypatch for the shims' installers, for a process that never undoes it."""

    @staticmethod
    def setitem(mapping, key, value):
        mapping[key] = value


def _steps(infotext: str) -> str:
    match = re.search(r"(?:^|[\n,])\s*Steps:\s*(\d+)", infotext or "")
    return match.group(1) if match else ""


def main(port: int, data_dir: str) -> None:
    spec = importlib.util.spec_from_file_location("civitai_test_shims", ROOT / "tests" / "shims" / "__init__.py")
    shims = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shims)
    shared, paths = shims.install_a1111(_Patch, data_dir)
    Path(paths.data_path).mkdir(parents=True, exist_ok=True)
    spec = importlib.util.spec_from_file_location("civitai_companion_script", ROOT / "scripts" / "civitai_companion.py")
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    from modules import script_callbacks

    tabs = script_callbacks.fire_ui_tabs()
    script_callbacks.fire_ui_settings()
    with gr.Blocks(analytics_enabled=False, title="WebUI-like page") as demo:
        with gr.Tabs(elem_id="tabs"):
            for name in ("txt2img", "img2img"):
                with gr.TabItem(name, id=name, elem_id="tab_" + name):
                    with gr.Row(elem_id=name + "_toprow"):
                        prompt = gr.Textbox(label="Prompt", elem_id=name + "_prompt", lines=3)
                        gr.Textbox(label="Negative prompt", elem_id=name + "_neg_prompt", lines=2)
                    with gr.Row(elem_id=name + "_tools"):
                        paste = gr.Button("Read parameters", elem_id="paste")
                    # A1111's #paste reads the infotext in the prompt into the fields; here, its steps.
                    steps = gr.Textbox(label="Sampling steps", elem_id=name + "_steps")
                    paste.click(fn=_steps, inputs=[prompt], outputs=[steps])
                    # An Extra Networks page as A1111 lays it out; the test puts cards into it.
                    gr.HTML(f'<div id="{name}_lora_cards" class="extra-network-cards"></div>')
            for interface, label, ifid in tabs:
                with gr.TabItem(label, id=ifid, elem_id="tab_" + ifid):
                    interface.render()
    app, _, _ = demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    script_callbacks.fire_app_started(demo, app)
    print(f"READY http://127.0.0.1:{port}/", flush=True)
    sys.stdin.read()
    demo.close()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
