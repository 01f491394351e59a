"""AUTOMATIC1111 / Forge entry point: a "Civitai" tab, a Settings section, the app's routes.

Wiring only; everything the WebUI hands over is used in ``civitai_companion.hosts.webui``. Importing
this file and building the tab do no network call, no hashing and no scan.
"""

import gradio as gr
from modules import script_callbacks

from civitai_companion.hosts import webui


def on_ui_tabs():
    return [(webui.build_tab(gr), "Civitai", "civitai_companion")]


def on_ui_settings():
    webui.register_settings(gr=gr)


script_callbacks.on_ui_tabs(on_ui_tabs)
script_callbacks.on_ui_settings(on_ui_settings)
script_callbacks.on_app_started(webui.on_app_started)
