"""The "Civitai" tab in a real browser, on a page built with real Gradio (3.41.2 as in A1111, 4.40.0 as
in Forge) with A1111's prompt box ids: a trained word clicked in the app lands in #txt2img_prompt,
parameters go through #paste, and an Extra Networks card of a scanned file gets its control and update dot.

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
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

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
                    yield SimpleNamespace(url=line.split()[1], fake=fake, root=tmp_path / "webui")
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
    page.add_style_tag(path=str(ROOT / "style.css"))  # A1111 links every extension's style.css
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
    _open_tab(page, webui_page.url)
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
    _open_tab(page, webui_page.url)
    page.locator("select[name='civitai-companion-target']").select_option("img2img")
    _open_model(page, "Pastel Raven")
    page.locator(f"{APP} [data-words] button.chip", has_text=WORD).first.click()
    assert _prompt(page, "img2img").input_value() == WORD
    assert _prompt(page, "txt2img").input_value() == ""


def test_appending_keeps_what_the_user_typed(webui_page, new_page):
    page = new_page()
    _open_tab(page, webui_page.url)
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


def test_parameters_go_through_paste_and_show_txt2img(webui_page, new_page):
    page = new_page()
    _open_tab(page, webui_page.url)
    _open_model(page, "Pastel Raven")
    expect(page.locator(f"{APP} dialog[open]")).to_be_visible()
    handled = page.evaluate("""() => gradioApp().querySelector('civitai-companion').dispatchEvent(
        new CustomEvent('civitai-companion:send', {bubbles: true, composed: true, cancelable: true,
            detail: {text: 'a raven\\nNegative prompt: blurry\\nSteps: 23, Sampler: Euler a', kind: 'parameters'}}))""")
    assert handled is False
    expect(page.locator("#txt2img_steps textarea, #txt2img_steps input").first).to_have_value("23")  # #paste ran
    expect(_prompt(page, "txt2img")).to_be_visible()  # the WebUI's txt2img tab is shown
    expect(page.locator(f"{APP} dialog[open]")).to_have_count(0)  # and the model panel closed


def _scan(page):
    started = page.evaluate("""() => fetch('civitai-companion/api/library/scan', {method: 'POST',
        headers: {'Content-Type': 'application/json'}, body: '{}'}).then(r => r.json())""")
    page.wait_for_function("""(id) => fetch('civitai-companion/api/jobs').then(r => r.json())
        .then(j => j.scans.some(s => s.id === id && s.state === 'done'))""", arg=started["id"], polling=200)


def test_an_extra_networks_card_gets_trigger_words_and_an_update_dot(webui_page, new_page):
    """A LoRA whose newer version is on Civitai, scanned: its card's control adds the trained words, its
    dot opens the newer version in the Civitai tab; a card of a file we do not know gets nothing."""
    model = webui_page.fake.add_model(name="Card Lora", versions=2, trained_words=["card_word"])
    newest, older = model["modelVersions"][0], model["modelVersions"][1]
    folder = webui_page.root / "models" / "Lora"
    folder.mkdir(parents=True, exist_ok=True)
    mine = folder / "card_lora.safetensors"
    mine.write_bytes(webui_page.fake.file_bytes(older["files"][0]["id"]))
    page = new_page()
    _open_tab(page, webui_page.url)
    _scan(page)
    page.locator("button", has_text=re.compile(r"^\s*txt2img\s*$")).first.click()
    page.evaluate("""([known, stranger]) => {
        const cards = gradioApp().querySelector('#txt2img_lora_cards');
        for (const [name, path] of [['card_lora', known], ['stranger', stranger]]) {
            const card = document.createElement('div');
            card.className = 'card';
            card.style.cssText = 'position: relative; width: 8em; height: 10em';
            card.dataset.name = name;
            card.innerHTML = '<div class="button-row"><div class="copy-path-button card-button"></div></div>';
            card.querySelector('.copy-path-button').setAttribute('data-clipboard-text', path);
            cards.appendChild(card);
        }
    }""", [str(mine), str(folder / "stranger.safetensors")])
    control = page.locator("#txt2img_lora_cards .card[data-name=card_lora] .civitai-companion-card")
    # The cards came before the app's next look at its jobs: the control follows the scan's end.
    expect(control).to_have_count(1, timeout=20_000)
    expect(page.locator("#txt2img_lora_cards .card[data-name=stranger] .civitai-companion-card")).to_have_count(0)
    control.click()
    assert _prompt(page, "txt2img").input_value() == "card_word"
    dot = page.locator("#txt2img_lora_cards .card[data-name=card_lora] .civitai-companion-update")
    expect(dot).to_have_count(1)
    shot(page, "webui-card-control")
    dot.click()
    dialog = page.locator(f"{APP} dialog[open]")
    expect(dialog).to_be_visible()
    assert page.evaluate("location.hash") == f"#civitai-model/{model['id']}/{newest['id']}"


CONTRAST = """(el) => {
    const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
    const lum = (c) => { const [r, g, b] = rgb(c).map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
    const s = getComputedStyle(el);
    const [a, b] = [lum(s.color), lum(s.backgroundColor)].sort((x, y) => y - x);
    return (a + 0.05) / (b + 0.05);
}"""


def test_primary_buttons_are_readable_on_gradios_theme(webui_page, new_page):
    """Gradio's --button-primary-text-color belongs to its pale primary gradient: on our accent-filled
    buttons it was orange on orange, and white on Gradio's orange is 2.8:1."""
    page = new_page()
    _open_tab(page, webui_page.url)
    search = page.locator(f"{APP} button.primary").first
    expect(search).to_be_visible()
    assert page.evaluate(CONTRAST, search.element_handle()) >= 4.5  # WCAG AA for text
