"""The app inside ComfyUI: its route table on PromptServer's aiohttp routes, served for real."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import threading

import pytest

from tests.comfy_support import load_pack, require, shims

require("aiohttp")  # ComfyUI's own web framework (tests/setup.d/40-comfyui.sh)

TOKEN = "tok-server-side-only-58c1"


@pytest.fixture
def comfy_server(monkeypatch, tmp_path, fake_civitai):
    fake_civitai.token = TOKEN
    monkeypatch.setenv("CIVITAI_API_TOKEN", TOKEN)
    fp = shims.install_comfyui(monkeypatch, tmp_path / "ComfyUI")
    modules = shims.install_comfy_modules(monkeypatch)
    pack = load_pack(monkeypatch)
    yield pack, modules["server"].PromptServer.instance, fp
    if pack.APP is not None and pack.APP._service is not None:
        pack.APP._service.close()


def serve(prompt_server, calls):
    """Run ``calls(client)`` against ComfyUI's routes on a real aiohttp server on 127.0.0.1."""
    from aiohttp.test_utils import TestClient, TestServer

    async def main():
        async with TestClient(TestServer(prompt_server.make_app(), host="127.0.0.1")) as client:
            return await calls(client)

    # A thread of its own: a browser test's event loop may still be running in this one.
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            outcome["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(120)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def test_the_pack_registers_routes_without_starting_the_app(comfy_server):
    pack, prompt_server, _ = comfy_server
    paths = {route.path for route in prompt_server.routes if hasattr(route, "path")}
    assert "/civitai-companion/api/{tail:.*}" in paths
    assert pack.APP is not None and pack.APP._service is None  # no threads, no queue file read at start


def test_the_api_answers_under_both_prefixes_and_never_shows_the_token(comfy_server):
    pack, prompt_server, fp = comfy_server

    async def calls(client):
        out = []
        for path in ("/civitai-companion/api/settings", "/api/civitai-companion/api/settings"):
            response = await client.get(path)
            out.append((response.status, response.headers["Content-Type"], await response.text()))
        return out

    for status, kind, text in serve(prompt_server, calls):
        assert status == 200 and kind.startswith("application/json")
        body = json.loads(text)
        assert body["token"] == {"set": True, "source": "env"} and body["host"] == "comfyui"
        assert TOKEN not in text


def test_settings_are_saved_in_comfyuis_user_folder_with_mode_0600_and_cross_site_puts_refused(comfy_server):
    pack, prompt_server, fp = comfy_server

    async def calls(client):
        origin = str(client.make_url("")).rstrip("/")
        refused = await client.put("/civitai-companion/api/settings", json={"nsfw_level": 3},
                                   headers={"Origin": "https://evil.example"})
        saved = await client.put("/civitai-companion/api/settings", json={"token": "saved-token-123", "nsfw_level": 3},
                                 headers={"Origin": origin})
        return refused.status, await refused.json(), saved.status, await saved.text()

    refused_status, refused_body, saved_status, saved_text = serve(prompt_server, calls)
    assert (refused_status, refused_body["code"]) == (403, "cross_origin")
    assert saved_status == 200 and "saved-token-123" not in saved_text
    path = os.path.join(fp.get_user_directory(), "civitai-companion", "settings.json")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert json.loads(open(path, encoding="utf-8").read())["nsfw_level"] == 3


def test_search_reaches_the_fake_civitai_through_comfyuis_server(comfy_server, fake_civitai):
    pack, prompt_server, _ = comfy_server
    model = fake_civitai.add_model(name="Server Side Owl", type="LORA")

    async def calls(client):
        response = await client.get("/api/civitai-companion/api/search", params={"query": "Server Side Owl"})
        return response.status, await response.json()

    status, body = serve(prompt_server, calls)
    assert status == 200 and [card["id"] for card in body["items"]] == [model["id"]]
    assert any(r.path == "/api/v1/models" for r in fake_civitai.requests_to("api"))


def test_the_front_end_is_served_from_the_packs_own_static_route(monkeypatch, tmp_path):
    from civitai_companion.app.aiohttp import register

    prompt_server = shims.install_comfy_modules(monkeypatch)["server"].PromptServer.instance
    (tmp_path / "companion.js").write_text("export const ok = 1;\n", encoding="utf-8")
    register([], prompt_server.routes, static_dir=tmp_path)

    async def calls(client):
        module = await client.get("/civitai-companion/static/companion.js")
        mirrored = await client.get("/api/civitai-companion/static/companion.js")  # ComfyUI mirrors no static route
        missing = await client.get("/civitai-companion/api/nothing")
        return module.status, await module.text(), mirrored.status, missing.status, await missing.json()

    status, text, mirrored, missing_status, missing = serve(prompt_server, calls)
    assert (status, text, mirrored) == (200, "export const ok = 1;\n", 404)
    assert missing_status == 404 and missing["code"] == "not_found"
