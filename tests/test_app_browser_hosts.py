"""The app as the hosts show it, in Debian's Chromium: host theme variables and dark classes, the ~312 px
sidebar that re-appends the element, ComfyUI's strict CSP, and A1111's hidden tabs."""

from __future__ import annotations

import json
import re

from tests.browser_harness import APP, browser, cards, new_page, open_app, serve, shot, tab  # noqa: F401
from tests.test_app_browser import _expect, _models_requests


def test_theme_follows_host_variables_and_dark_class(serve, new_page):
    running = serve()
    page = new_page()
    open_app(page, running)
    background = f"getComputedStyle(document.querySelector('{APP}').shadowRoot.querySelector('.app')).backgroundColor"
    assert page.evaluate(background) == "rgb(255, 255, 255)"
    shot(page, "theme-light")
    # Gradio (A1111/Forge) and ComfyUI expose their themes as CSS variables that pierce the shadow root.
    page.evaluate("document.body.style.setProperty('--background-fill-primary', 'rgb(11, 15, 25)')")
    assert page.evaluate(background) == "rgb(11, 15, 25)"
    page.evaluate("document.body.style.removeProperty('--background-fill-primary');"
                  "document.documentElement.style.setProperty('--comfy-menu-bg', 'rgb(23, 23, 24)')")
    assert page.evaluate(background) == "rgb(23, 23, 24)"
    page.evaluate("document.body.classList.add('dark-theme')")
    page.wait_for_function(f"document.querySelector('{APP}').dataset.theme === 'dark'")


def test_dark_system_theme_standalone(serve, fake_civitai, new_page):
    expect = _expect()
    running = serve()
    page = new_page(dark=True)
    open_app(page, running)
    expect(cards(page).first).to_be_visible()
    background = page.evaluate(f"getComputedStyle(document.querySelector('{APP}').shadowRoot.querySelector('.app')).backgroundColor")
    assert background != "rgb(255, 255, 255)"
    shot(page, "search-dark")


def test_narrow_sidebar_and_reappended_element(serve, fake_civitai, new_page):
    """ComfyUI's sidebar is ~312 px and renders a fresh container on every open: the same element is
    re-appended and must keep its state without building twice."""
    expect = _expect()
    running = serve()
    page = new_page(width=360, height=800)
    open_app(page, running)
    expect(cards(page).first).to_be_visible()
    width = page.evaluate(f"document.querySelector('{APP}').shadowRoot.querySelector('.app').scrollWidth")
    assert width <= 360
    columns = page.evaluate(f"""getComputedStyle(document.querySelector('{APP}').shadowRoot.querySelector('.grid'))
        .gridTemplateColumns.split(' ').length""")
    assert columns == 2
    shot(page, "search-narrow")
    before = cards(page).count()
    page.evaluate(f"""() => {{ const el = document.querySelector('{APP}'); el.remove();
        const box = document.createElement('div'); box.style.width = '312px'; document.body.append(box); box.append(el); }}""")
    expect(cards(page)).to_have_count(before)
    assert page.evaluate(f"document.querySelector('{APP}').shadowRoot.querySelectorAll('nav').length") == 1
    tab(page, "library").click()
    shot(page, "library-narrow")
    tab(page, "search").click()
    cards(page).first.click()
    dialog = page.locator(f"{APP} dialog.model")
    expect(dialog.locator("button[data-file-id]").first).to_be_visible()
    box = dialog.locator("button[data-file-id]").first.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360  # the files table folds into rows
    shot(page, "model-narrow")


def test_works_under_comfyuis_strict_csp(serve, fake_civitai, new_page):
    """ComfyUI with --disable-api-nodes sends default-src 'self': no inline styles, no remote images, no
    cross-origin fetches. The app styles itself through the CSSOM and fetches pictures from its own route."""
    expect = _expect()
    running = serve()
    page = new_page()
    csp = "default-src 'self'; img-src 'self' data: blob:; connect-src 'self'"
    violations = []

    def host_page(route):  # the host's page under its CSP, without the standalone page's own inline style
        html = re.sub(r"<style>.*?</style>", "", route.fetch().text(), flags=re.S)
        route.fulfill(body=html, headers={"Content-Security-Policy": csp, "Content-Type": "text/html; charset=utf-8"})

    page.route(f"{running.url}/", host_page)
    page.expose_function("cspViolation", lambda text: violations.append(text))
    page.add_init_script("document.addEventListener('securitypolicyviolation', "
                         "(e) => window.cspViolation(e.violatedDirective + ' ' + e.blockedURI))")
    open_app(page, running)
    expect(cards(page).first).to_be_visible()
    display = page.evaluate(f"getComputedStyle(document.querySelector('{APP}').shadowRoot.querySelector('nav')).display")
    assert display == "flex"
    loaded = page.locator(f"{APP} article.card .thumb img[src]").first
    expect(loaded).to_be_visible()
    # decode() settles once a picture is really there (a CSP refusal rejects it; so does a video's URL,
    # which the fake cannot turn into a still, hence any of them).
    width = page.locator(f"{APP} article.card .thumb img[src]").evaluate_all(
        "imgs => Promise.any(imgs.map((img) => img.decode().then(() => img.naturalWidth)))")
    assert width > 0
    assert violations == []


def test_hidden_tab_asks_civitai_only_when_shown(serve, fake_civitai, new_page):
    """A1111 builds every tab at page load and hides the inactive ones: the app must not search Civitai
    from a tab nobody has opened."""
    expect = _expect()
    running = serve()
    page = new_page()

    def host_page(route):
        html = route.fetch().text().replace('<civitai-companion host="standalone">',
                                            '<div id="tab" hidden><civitai-companion host="a1111">')
        route.fulfill(body=html, headers={"Content-Type": "text/html; charset=utf-8"})

    page.route(f"{running.url}/", host_page)
    with page.expect_response(lambda r: "/api/jobs" in r.url):
        open_app(page, running)
    page.evaluate("new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok)))")
    assert _models_requests(fake_civitai) == []
    assert page.evaluate(f"document.querySelector('{APP}').views.search.started") is False
    page.evaluate("document.getElementById('tab').hidden = false")
    expect(cards(page).first).to_be_visible()
    assert len(_models_requests(fake_civitai)) >= 1


def test_in_comfyui_a_version_is_sent_to_the_graph_as_its_air(serve, fake_civitai, new_page):
    """Inside ComfyUI the model panel offers "Add to workflow": a resource send with the version's AIR, which
    the sidebar's glue turns into a loader node. Other hosts have no graph and do not show it."""
    expect = _expect()
    running = serve()
    page = new_page()
    open_app(page, running)
    expect(cards(page).first).to_be_visible()
    cards(page).first.click()
    dialog = page.locator(f"{APP} dialog.model")
    expect(dialog.locator("button[data-file-id]").first).to_be_visible()
    assert dialog.locator("button[data-add-node]").count() == 0  # standalone: no graph
    dialog.locator("button[aria-label='Close'], button.close").first.press("Escape")
    page.evaluate(f"""() => {{ const el = document.querySelector('{APP}'); el.setAttribute('host', 'comfyui');
        window.sent = []; el.addEventListener('civitai-companion:send', (e) => {{ window.sent.push(e.detail);
        e.preventDefault(); }}); }}""")
    cards(page).first.click()
    expect(dialog.locator("button[data-add-node]")).to_be_visible()
    dialog.locator("button[data-add-node]").click()
    sent = page.evaluate("window.sent")
    assert len(sent) == 1 and sent[0]["kind"] == "resource"
    assert re.fullmatch(r"(urn:air:.*:)?civitai:\d+@\d+", sent[0]["text"]) and sent[0]["ref"]["air"] == sent[0]["text"]
    assert sent[0]["ref"]["versionId"] and "token" not in str(sent[0]).lower()
    # Cards and "Add to workflow" can be dragged onto the graph: they carry the reference, never the token.
    drag = """(el) => { const data = new DataTransfer();
        el.dispatchEvent(new DragEvent('dragstart', {bubbles: true, dataTransfer: data}));
        return {draggable: el.draggable, ref: data.getData('application/x-civitai-companion'),
                text: data.getData('text/plain')}; }"""
    button = page.evaluate(drag, dialog.locator("button[data-add-node]").element_handle())
    assert button["draggable"] and json.loads(button["ref"])["air"] == sent[0]["text"] == button["text"]
    page.keyboard.press("Escape")
    page.locator(f"{APP} input[name=query]").press("Enter")  # cards drawn again, now inside ComfyUI
    expect(cards(page).first).to_be_visible()
    card = page.evaluate(drag, cards(page).first.element_handle())
    ref = json.loads(card["ref"])
    model_id = int(cards(page).first.get_attribute("data-model-id"))
    assert card["draggable"] and ref["modelId"] == model_id and ref["versionId"] and ref["type"]
    assert card["text"] == f"civitai:{model_id}@{ref['versionId']}" and "token" not in card["ref"].lower()
