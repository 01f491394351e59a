"""The ComfyUI entry script (web/civitai_companion.js) in headless Chromium, on a harness page that plays
ComfyUI's front end: ``app`` with ``extensionManager``, ``api``, LiteGraph's ``createNode`` and a graph.

The harness serves the entry script at ComfyUI's extension path and a stand-in ``<civitai-companion>`` at
the pack's static route, so what is tested is the glue: the tab, one element re-appended on every render,
"send" and cards dropped on the canvas turned into nodes or prompt text, and trained words shown after a
node runs.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import os
import queue
import threading
from pathlib import Path

import pytest

from tests.comfy_support import ROOT

CHROMIUM = "/usr/bin/chromium"

STUB_APP = """
const tabs = [];
const graph = { nodes: [], add(node) { this.nodes.push(node); }, setDirtyCanvas() {} };
const toasts = [];
const canvasEl = document.getElementById("graph-canvas");
export const app = {
  graph, canvasEl,
  canvas: { visible_area: [-100, 50, 1000, 600], selected_nodes: {}, canvas: canvasEl,
            convertEventToCanvasOffset: (e) => [e.clientX * 2 - 100, e.clientY * 2 + 50] },  // zoom 0.5, offset
  extensionManager: { registerSidebarTab(tab) { tabs.push(tab); }, toast: { add(t) { toasts.push(t); } } },
  extensions: [], refreshed: 0,
  refreshComboInNodes() { this.refreshed += 1; },
  registerExtension(ext) { this.extensions.push(ext); ext.setup?.(); },
};
window.harness = { app, tabs, toasts };
"""

STUB_API = """
const listeners = {};
export const api = {
  fileURL: (path) => "/base" + path,
  addEventListener(name, fn) { (listeners[name] ||= []).push(fn); },
  emit(name, detail) { for (const fn of listeners[name] || []) fn(new CustomEvent(name, { detail })); },
};
window.harnessApi = api;
"""

STUB_ELEMENT = """
class StubCompanion extends HTMLElement {
  connectedCallback() {
    this.connections = (this.connections || 0) + 1;
    if (!this.shadowRoot) this.attachShadow({ mode: "open" }).innerHTML = "<p>Civitai app</p>";
  }
  send(detail) {
    const event = new CustomEvent("civitai-companion:send",
      { bubbles: true, composed: true, cancelable: true, detail });
    this.dispatchEvent(event);
    return event.defaultPrevented;
  }
}
customElements.define("civitai-companion", StubCompanion);
window.moduleLoads = (window.moduleLoads || 0) + 1;
"""

PAGE = """<!doctype html><html><body>
<textarea id="prompt" class="comfy-multiline-input">a lighthouse</textarea>
<div id="sidebar" style="width:312px;height:600px"></div>
<canvas id="graph-canvas" width="600" height="400"></canvas>
<script>
  window.LiteGraph = { createNode(type) {
    const widgets = [];
    if (type !== "CivitaiPrompt") widgets.push({ name: "reference", value: "" });
    return { type, title: type, widgets, pos: [0, 0],
             addWidget(kind, name, value, cb, options) { const w = { kind, name, value, options }; widgets.push(w); return w; } };
  } };
</script>
<script type="module">
  import "./scripts/app.js";
  await import("./extensions/civitai-companion/civitai_companion.js");
  window.ready = true;
</script>
</body></html>"""


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    site = tmp_path_factory.mktemp("harness")
    (site / "scripts").mkdir()
    (site / "scripts" / "app.js").write_text(STUB_APP, encoding="utf-8")
    (site / "scripts" / "api.js").write_text(STUB_API, encoding="utf-8")
    (site / "extensions" / "civitai-companion").mkdir(parents=True)
    entry = (ROOT / "web" / "civitai_companion.js").read_text(encoding="utf-8")
    (site / "extensions" / "civitai-companion" / "civitai_companion.js").write_text(entry, encoding="utf-8")
    static = site / "base" / "civitai-companion" / "static"
    static.mkdir(parents=True)
    (static / "companion.js").write_text(STUB_ELEMENT, encoding="utf-8")
    (site / "index.html").write_text(PAGE, encoding="utf-8")
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript"}

    def log_message(self, *args):
        pass


class BrowserThread:
    """Playwright's sync API on a thread of its own: another test module's browser may be running (and
    holding its event loop) on the test thread. ``call(fn)`` runs ``fn`` there and returns its result."""

    def __init__(self) -> None:
        self.jobs: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._serve, name="comfy-sidebar-browser", daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            self.browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            while True:
                job = self.jobs.get()
                if job is None:
                    break
                fn, box, done = job
                try:
                    box["value"] = fn()
                except BaseException as exc:  # noqa: BLE001 - re-raised on the test thread
                    box["error"] = exc
                done.set()
            self.browser.close()

    def call(self, fn):
        box, done = {}, threading.Event()
        self.jobs.put((fn, box, done))
        if not done.wait(120):
            raise TimeoutError("the browser did not answer within 120 s")
        if "error" in box:
            raise box["error"]
        return box.get("value")

    def stop(self) -> None:
        self.jobs.put(None)
        self.thread.join(60)


class PageProxy:
    """A Playwright page whose every method runs on the browser's thread."""

    def __init__(self, browser: BrowserThread, page) -> None:
        self._browser, self._page = browser, page

    def __getattr__(self, name):
        attribute = getattr(self._page, name)
        if not callable(attribute):
            return attribute
        return lambda *args, **kw: self._browser.call(lambda: attribute(*args, **kw))


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is missing: run tests/setup.sh")
        pytest.skip("no /usr/bin/chromium (tests/setup.d/20-browser.sh installs it)")
    if importlib.util.find_spec("playwright") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("playwright is missing: run tests/setup.sh")
        pytest.skip("playwright is not installed (tests/setup.d/20-browser.sh installs it)")
    worker = BrowserThread()
    yield worker
    worker.stop()


@pytest.fixture
def page(browser, harness):
    errors: list[str] = []

    def make():
        real = browser.browser.new_page(viewport={"width": 1280, "height": 720})
        real.on("pageerror", lambda exc: errors.append(str(exc)))
        real.goto(harness)
        real.wait_for_function("window.ready === true")
        return real

    real = browser.call(make)
    yield PageProxy(browser, real)
    browser.call(real.close)
    assert errors == []


def open_tab(page) -> None:
    """What ComfyUI does on every click on the tab icon: a fresh empty container, then render(el)."""
    page.evaluate("""() => {
      const sidebar = document.getElementById("sidebar");
      sidebar.replaceChildren();
      const container = document.createElement("div");
      sidebar.appendChild(container);
      window.harness.tabs[0].render(container);
    }""")
    page.wait_for_function("window.moduleLoads === 1 && customElements.get('civitai-companion') !== undefined")


def send(page, detail) -> bool:
    return page.evaluate("(d) => document.querySelector('civitai-companion').send(d)", detail)


def test_the_civitai_tab_mounts_one_app_element_and_keeps_it_across_renders(page, tmp_path):
    tab = page.evaluate("() => { const t = window.harness.tabs[0]; return {n: window.harness.tabs.length, id: t.id,"
                        " title: t.title, type: t.type, icon: t.icon}; }")
    assert tab == {"n": 1, "id": "civitai-companion", "title": "Civitai", "type": "custom", "icon": "pi pi-compass"}
    open_tab(page)
    page.evaluate("() => { window.first = document.querySelector('civitai-companion'); }")
    open_tab(page)
    state = page.evaluate("""() => { const all = document.querySelectorAll('civitai-companion');
      return {count: all.length, same: all[0] === window.first, host: all[0].getAttribute('host'),
              connections: all[0].connections, loads: window.moduleLoads,
              rendered: all[0].shadowRoot.textContent}; }""")
    assert state == {"count": 1, "same": True, "host": "comfyui", "connections": 2, "loads": 1, "rendered": "Civitai app"}
    page.screenshot(path=str(tmp_path / "sidebar-harness.png"))


def test_the_app_module_is_loaded_from_comfyuis_base_url(page):
    open_tab(page)
    assert page.evaluate("() => window.moduleLoads") == 1
    assert page.evaluate("() => performance.getEntriesByType('resource').map(e => new URL(e.name).pathname)"
                         ".includes('/base/civitai-companion/static/companion.js')")


@pytest.mark.parametrize("model_type, node_type", [("LORA", "CivitaiLoraLoader"), ("LoCon", "CivitaiLoraLoader"),
                                                   ("Checkpoint", "CivitaiCheckpointLoader"),
                                                   ("TextualInversion", "CivitaiDownload")])
def test_sending_a_resource_adds_a_node_with_the_reference_as_an_air(page, model_type, node_type):
    open_tab(page)
    handled = send(page, {"text": "", "kind": "resource",
                          "ref": {"modelId": 12, "versionId": 34, "type": model_type, "fileName": "x.safetensors"}})
    nodes = page.evaluate("() => window.harness.app.graph.nodes.map(n => ({type: n.type, pos: n.pos,"
                          " reference: n.widgets.find(w => w.name === 'reference').value}))")
    assert handled is True
    assert nodes == [{"type": node_type, "pos": [250, 250], "reference": "civitai:12@34"}]  # mid-canvas


def test_a_given_air_is_kept_as_it_is(page):
    open_tab(page)
    send(page, {"kind": "resource", "ref": {"air": "urn:air:sdxl:lora:civitai:12@34", "type": "LORA"}})
    assert page.evaluate("() => window.harness.app.graph.nodes[0].widgets[0].value") == "urn:air:sdxl:lora:civitai:12@34"


def test_sending_words_inserts_them_into_the_text_box_last_used(page):
    open_tab(page)
    page.click("#prompt")
    page.evaluate("() => { const t = document.getElementById('prompt'); t.setSelectionRange(t.value.length, t.value.length);"
                  " window.inputs = 0; t.addEventListener('input', () => window.inputs++); }")
    handled = send(page, {"text": "ppstorybook, soft light", "kind": "prompt", "ref": None})
    assert handled is True
    assert page.evaluate("() => [document.getElementById('prompt').value, window.inputs]") == [
        "a lighthouse, ppstorybook, soft light", 1]


def test_words_with_nowhere_to_go_are_left_to_the_app_to_show(page):
    open_tab(page)
    assert send(page, {"text": "ppstorybook", "kind": "prompt", "ref": None}) is False
    assert page.evaluate("() => window.harness.toasts.map(t => t.severity)") == ["info"]


def test_after_a_civitai_node_runs_its_words_show_and_the_reference_becomes_an_air(page):
    shown = page.evaluate("""() => {
      const ext = window.harness.app.extensions[0];
      function NodeType() {}
      NodeType.prototype.onExecuted = function () { this.before = true; };
      ext.beforeRegisterNodeDef(NodeType, { name: "CivitaiLoraLoader" });
      const node = Object.assign(Object.create(NodeType.prototype), LiteGraph.createNode("CivitaiLoraLoader"));
      node.widgets[0].value = "https://civitai.com/models/12?modelVersionId=34";
      node.onExecuted({ trained_words: ["ppstorybook, soft light"], air: ["urn:air:flux1:lora:civitai:12@34"] });
      node.onExecuted({ trained_words: ["ppstorybook"], air: ["urn:air:flux1:lora:civitai:12@34"] });
      const words = node.widgets.filter(w => w.name === "trained words");
      return { before: node.before, count: words.length, value: words[0].value, saved: words[0].options.serialize,
               reference: node.widgets[0].value };
    }""")
    assert shown == {"before": True, "count": 1, "value": "ppstorybook", "saved": False,
                     "reference": "urn:air:flux1:lora:civitai:12@34"}


def test_a_file_added_by_the_app_refreshes_comfyuis_lists(page):
    page.evaluate("() => window.harnessApi.emit('civitai-companion.file-added', {name: 'x.safetensors'})")
    assert page.evaluate("() => window.harness.app.refreshed") == 1


DROP = """([target, types]) => {
  // ComfyUI's own drop handler (files, URLs) listens on the document: it must not see our drags.
  window.hostDrops = window.hostDrops || 0;
  if (!window.hostListening) { document.addEventListener("drop", () => window.hostDrops++); window.hostListening = true; }
  const data = new DataTransfer();
  for (const [type, value] of Object.entries(types)) data.setData(type, value);
  const el = document.querySelector(target);
  const rect = el.getBoundingClientRect();
  const at = { clientX: rect.left + 100, clientY: rect.top + 40, bubbles: true, cancelable: true, dataTransfer: data };
  const over = new DragEvent("dragover", at);
  el.dispatchEvent(over);
  const drop = new DragEvent("drop", at);
  el.dispatchEvent(drop);
  return { overAccepted: over.defaultPrevented, dropHandled: drop.defaultPrevented, hostDrops: window.hostDrops,
           x: rect.left + 100, y: rect.top + 40 };
}"""
CARD = {"application/x-civitai-companion": '{"modelId": 12, "versionId": 34, "type": "LORA"}',
        "text/plain": "civitai:12@34"}


def test_a_card_dropped_on_the_canvas_becomes_a_loader_node_where_it_fell(page):
    open_tab(page)
    result = page.evaluate(DROP, ["#graph-canvas", CARD])
    nodes = page.evaluate("() => window.harness.app.graph.nodes.map(n => ({type: n.type, pos: n.pos,"
                          " reference: n.widgets.find(w => w.name === 'reference').value}))")
    assert result["overAccepted"] and result["dropHandled"] and result["hostDrops"] == 0
    assert nodes == [{"type": "CivitaiLoraLoader", "reference": "civitai:12@34",
                      "pos": [result["x"] * 2 - 100, result["y"] * 2 + 50]}]


def test_other_drops_are_left_to_comfyui(page):
    open_tab(page)
    elsewhere = page.evaluate(DROP, ["#prompt", CARD])  # our drag, but not onto the graph
    a_file = page.evaluate(DROP, ["#graph-canvas", {"text/uri-list": "https://example.invalid/workflow.png"}])
    assert not elsewhere["dropHandled"] and not a_file["dropHandled"] and a_file["hostDrops"] == 2
    assert page.evaluate("() => window.harness.app.graph.nodes.length") == 0
