"""The A1111/Forge entry script under a real Gradio (3.41.2 as in A1111, 4.40.0 as in Forge).

Run by tests/test_webui_gradio.py inside .venv-gradio3 and .venv-gradio4 (tests/setup.d/30-gradio.sh);
the main suite's venv has no Gradio. The WebUI's own parts are the shims in tests/shims/.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import gradio as gr
import pytest
from gradio.routes import App
from starlette.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("civitai_test_shims", ROOT / "tests" / "shims" / "__init__.py")
shims = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(shims)

PREFIX = "/civitai-companion"


@pytest.fixture
def webui(monkeypatch, tmp_path):
    """A fresh WebUI (shims) with the extension's script imported as A1111 imports it."""
    shared, paths = shims.install_a1111(monkeypatch, tmp_path / "webui")
    Path(paths.data_path).mkdir(parents=True, exist_ok=True)
    from civitai_companion.hosts import webui as adapter

    monkeypatch.setattr(adapter, "_service", None)
    spec = importlib.util.spec_from_file_location("civitai_companion_script", ROOT / "scripts" / "civitai_companion.py")
    script = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "civitai_companion_script", script)
    spec.loader.exec_module(script)
    yield shared
    if adapter._service is not None:
        adapter._service.close()


def build_demo(shared):
    """The page as A1111's ui.py builds it: each extension tab rendered inside a TabItem, then Settings."""
    from modules import script_callbacks

    tabs = script_callbacks.fire_ui_tabs()
    script_callbacks.fire_ui_settings()
    with gr.Blocks(analytics_enabled=False) as demo:
        with gr.Tabs(elem_id="tabs"):
            for interface, label, ifid in tabs:
                with gr.TabItem(label, id=ifid, elem_id="tab_" + ifid):
                    interface.render()
            with gr.TabItem("Settings", id="settings"):
                for key, info in shared.opts.data_labels.items():
                    setting_component(shared, key, info)
    return demo, tabs


def setting_component(shared, key, info):
    """What A1111's ui_settings.create_setting_component does with an OptionInfo."""
    args = info.component_args() if callable(info.component_args) else info.component_args
    comp = info.component
    if comp is None:
        comp = {bool: gr.Checkbox, int: gr.Number, float: gr.Number, str: gr.Textbox}.get(type(info.default), gr.Textbox)
    value = shared.opts.data.get(key, info.default)
    return comp(label=info.label, value=value, elem_id=f"setting_{key}", **(args or {}))


def mounted_app(shared, *, auth=None):
    demo, _ = build_demo(shared)
    demo.auth = auth
    app = App.create_app(demo)
    from modules import script_callbacks

    script_callbacks.fire_app_started(demo, app)
    return app


def test_tab_builds_with_the_mount_point(webui):
    demo, tabs = build_demo(webui)
    assert [(label, ifid) for _, label, ifid in tabs] == [("Civitai", "civitai_companion")]
    values = [c.get("props", {}).get("value") for c in demo.get_config_file()["components"]]
    html = [v for v in values if isinstance(v, str) and "<civitai-companion" in v]
    assert len(html) == 1 and 'host="a1111"' in html[0] and '<select name="civitai-companion-target"' in html[0]


def test_settings_register_as_real_components(webui):
    demo, _ = build_demo(webui)
    labels = {c.get("props", {}).get("label") for c in demo.get_config_file()["components"]}
    ours = [info.label for key, info in webui.opts.data_labels.items() if key.startswith("civitai_companion_")]
    assert len(ours) == 9 and set(ours) <= labels
    token = [c for c in demo.get_config_file()["components"]
             if c.get("props", {}).get("elem_id") == "setting_civitai_companion_token"]
    assert token[0]["props"]["type"] == "password" and token[0]["props"]["value"] == ""


def test_routes_mount_and_answer(webui):
    client = TestClient(mounted_app(webui))
    answer = client.get(PREFIX + "/api/settings")
    assert answer.status_code == 200
    assert answer.json()["host"] in ("a1111", "forge")
    assert answer.json()["token"] == {"set": False, "source": None}


def test_app_settings_are_the_webui_settings(webui):
    client = TestClient(mounted_app(webui))
    answer = client.put(PREFIX + "/api/settings", json={"nsfw_level": 3, "token": "k-123"},
                        headers={"Origin": "http://testserver"})
    assert answer.status_code == 200, answer.text
    assert webui.opts.data["civitai_companion_nsfw_level"] == ["PG", "PG-13"]
    assert "k-123" not in repr(webui.opts.data)
    assert client.get(PREFIX + "/api/settings").json()["token"] == {"set": True, "source": "settings"}
    webui.opts.set("civitai_companion_base_url", "http://127.0.0.1:9")
    assert client.get(PREFIX + "/api/settings").json()["base_url"] == "http://127.0.0.1:9"


def test_login_is_required_when_the_webui_has_one(webui):
    client = TestClient(mounted_app(webui, auth=[("alice", "wonder")]))
    for path in ("/api/settings", "/api/jobs", "/static/companion.js", "/static/"):
        answer = client.get(PREFIX + path)
        assert answer.status_code == 401, path
        assert answer.json()["code"] == "auth_required"
    assert client.post("/login", data={"username": "alice", "password": "wrong"}).status_code in (400, 401)
    assert client.get(PREFIX + "/api/settings").status_code == 401
    assert client.post("/login", data={"username": "alice", "password": "wonder"}).status_code == 200
    assert client.get(PREFIX + "/api/settings").status_code == 200


def test_api_auth_lets_machine_clients_in(webui):
    webui.cmd_opts.api_auth = "bot:s3cret"
    client = TestClient(mounted_app(webui, auth=[("alice", "wonder")]))
    assert client.get(PREFIX + "/api/settings", auth=("bot", "s3cret")).status_code == 200
    assert client.get(PREFIX + "/api/settings", auth=("bot", "guess")).status_code == 401


def test_reload_ui_mounts_again_on_the_new_app(webui):
    from civitai_companion.hosts import webui as adapter

    first = mounted_app(webui)
    service = adapter._service
    second = mounted_app(webui)
    assert adapter._service is service
    assert TestClient(first).get(PREFIX + "/api/jobs").status_code == 200
    assert TestClient(second).get(PREFIX + "/api/jobs").status_code == 200
