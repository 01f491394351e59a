"""The "Civitai" tab in a real browser, on a page built with real Gradio (3.41.2 as in A1111, 4.40.0 as
in Forge) with A1111's prompt box ids: a trained word clicked in the app lands in #txt2img_prompt.

The page runs in the Gradio venv (tests/in_gradio/webui_page.py); the browser is Debian's Chromium.
javascript/civitai_companion.js is added as A1111 adds it: a classic script that runs before the page.
"""

from __future__ import annotations

import os
import re
import select
import socket
import subprocess
from pathlib import Path

import pytest

from tests.browser_harness import APP, browser, new_page, shot  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
VENVS = {"3.41.2": ".venv-gradio3", "4.40.0": ".venv-gradio4"}
WORD = "pastel_raven_lora"

# What A1111's script.js gives every extension script: the app root and "tell Gradio the value changed".
WEBUI_HELPERS = """
window.gradioApp = function () {
    var app = document.querySelector("gradio-app");
    return app ? (app.shadowRoot || app) : document;
};
window.updateInput = function (target) {
    target.dispatchEvent(new Event("input", {bubbles: true}));
};
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module", params=sorted(VENVS))
def webui_page(request, tmp_path_factory):
    """URL of a running WebUI-like page with the extension, its app pointed at the fake Civitai (one page
    server per Gradio version: starting one takes seconds; each test opens its own browser context)."""
    from tests.fake_civitai import FakeCivitai

    tmp_path = tmp_path_factory.mktemp("webui-page")
    python = ROOT / VENVS[request.param] / "bin" / "python"
    if not python.exists():
        message = f"{VENVS[request.param]} is missing: run bash tests/setup.d/30-gradio.sh"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    fake = FakeCivitai().start()
    request.addfinalizer(fake.stop)
    env = {**os.environ, "CIVITAI_BASE_URL": fake.url, "CIVITAI_COMPANION_HOME": str(tmp_path / "home"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "GRADIO_ANALYTICS_ENABLED": "False"}
    env.pop("CIVITAI_API_TOKEN", None)
    proc = subprocess.Popen([str(python), "tests/in_gradio/webui_page.py", str(_free_port()), str(tmp_path / "webui")],
                            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    lines = []
    try:
        for _ in range(400):  # bounded: each wait is at most 0.5 s
            ready, _, _ = select.select([proc.stdout], [], [], 0.5)
            if ready:
                line = proc.stdout.readline()
                lines.append(line)
                if line.startswith("READY "):
                    yield line.split()[1]
                    break
            if proc.poll() is not None:
                pytest.fail("the page server stopped:\n" + "".join(lines))
        else:
            pytest.fail("the page server did not start:\n" + "".join(lines))
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


def _offline(route):
    """Gradio's page asks for web fonts and a CDN script: answered empty here, nothing leaves the machine."""
    kind = route.request.resource_type
    route.fulfill(status=200, body="", content_type="text/css" if kind == "stylesheet" else "text/javascript")


def _open_tab(page, url):
    page.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/])"), _offline)
    page.add_init_script(WEBUI_HELPERS)
    page.add_init_script(path=str(ROOT / "javascript" / "civitai_companion.js"))
    page.goto(url)
    page.locator("button", has_text=re.compile(r"^\s*Civitai\s*$")).first.click()
    page.wait_for_function("!!customElements.get('civitai-companion')")


def _open_model(page, name):
    query = page.locator(f"{APP} input[name=query]")
    query.fill(name)
    query.press("Enter")
    page.locator(f"{APP} article.card", has_text=name).first.click()


def _prompt(page, tab):
    return page.locator(f"#{tab}_prompt textarea")


def test_clicking_a_trained_word_fills_the_txt2img_prompt(webui_page, new_page):
    page = new_page()
    _open_tab(page, webui_page)
    _open_model(page, "Pastel Raven")
    chip = page.locator(f"{APP} [data-words] button.chip", has_text=WORD).first
    chip.click()
    assert _prompt(page, "txt2img").input_value() == WORD
    shot(page, "webui-tab-trained-word")
    chip.click()  # the same word again is not added twice
    assert _prompt(page, "txt2img").input_value() == WORD
    assert page.locator(f"{APP} [data-copybox]:popover-open").count() == 0  # the host handled it


def test_the_user_picks_img2img(webui_page, new_page):
    page = new_page()
    _open_tab(page, webui_page)
    page.locator("select[name='civitai-companion-target']").select_option("img2img")
    _open_model(page, "Pastel Raven")
    page.locator(f"{APP} [data-words] button.chip", has_text=WORD).first.click()
    assert _prompt(page, "img2img").input_value() == WORD
    assert _prompt(page, "txt2img").input_value() == ""


def test_appending_keeps_what_the_user_typed(webui_page, new_page):
    page = new_page()
    _open_tab(page, webui_page)
    page.locator("button", has_text=re.compile(r"^\s*txt2img\s*$")).first.click()
    _prompt(page, "txt2img").fill("a raven, Pastel_Raven_Lora")
    page.locator("button", has_text=re.compile(r"^\s*Civitai\s*$")).first.click()
    result = page.evaluate("""() => {
        const app = document.querySelector('civitai-companion') ||
            gradioApp().querySelector('civitai-companion');
        const event = new CustomEvent('civitai-companion:send', {bubbles: true, composed: true, cancelable: true,
            detail: {text: 'pastel_raven_lora, night sky', kind: 'prompt'}});
        return app.dispatchEvent(event);
    }""")
    assert result is False  # handled: the app shows no copy box
    assert _prompt(page, "txt2img").input_value() == "a raven, Pastel_Raven_Lora, night sky"
