"""The Companion app's speed in Debian's Chromium, against the app on uvicorn and the fake Civitai.

    python bench/bench_app.py

Figures (printed, not asserted), each beside a baseline measured in the same run:

* search → first card painted, counted from the moment the fake Civitai sent its answer (100 ms of
  latency added to every /api/v1/models answer); baseline: the same JSON fetched by a bare page that
  paints one line. Target ≤ 150 ms. Then the same search repeated: requests that reached Civitai (target 0);
* a page of 100 cards: image requests before any scroll (target < 30), all sized (``width=``), none
  ``original=true``; as a ratio to the cards on the page;
* Library with 10,000 indexed files: click → rendered (target ≤ 1 s) and requests to Civitai (target 0);
  baseline: the same view with 100 files;
* ``civitai-companion ui``: spawn → first answer (target ≤ 2 s) and idle RSS (target ≤ 120 MB); baseline:
  ``python -m http.server`` started the same way.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
APP = "civitai-companion"
LATENCY = 0.100
REPEAT = 5


def fake_with_latency():
    from tests.fake_civitai import FakeCivitai

    fake = FakeCivitai()
    answered: list[float] = []
    dispatch = fake._dispatch

    def slow_dispatch(role, request):  # the handler is bound at start(), so patch before it
        if role == "api" and request.path.startswith("/api/v1/models"):
            time.sleep(LATENCY)
            response = dispatch(role, request)
            answered.append(time.time())
            return response
        return dispatch(role, request)

    fake._dispatch = slow_dispatch
    for n in range(120):
        fake.add_model(name=f"Bench Card {n:03d} LORA", type="LORA", base_model="SDXL 1.0")
    return fake.start(), answered


def page_time(page, expression: str) -> float:
    """A performance mark as wall-clock seconds (the fake runs on this machine's clock)."""
    return page.evaluate(f"(performance.timeOrigin + ({expression})) / 1000")


def bench_search(browser, running, fake, answered) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(running.url + "/")
    page.wait_for_function(f"document.querySelector('{APP}')?.shadowRoot?.querySelector('article.card')")
    ours, bare, totals = [], [], []
    for i in range(REPEAT):
        query = f"Bench Card {i:03d}"
        page.evaluate("performance.clearMarks()")
        box = page.locator(f"{APP} input[name='query']")
        box.fill(query)
        box.press("Enter")
        page.wait_for_function("performance.getEntriesByName('civitai-companion:first-card').length > 0")
        card = page_time(page, "performance.getEntriesByName('civitai-companion:first-card')[0].startTime")
        start = page_time(page, "performance.getEntriesByName('civitai-companion:search')[0].startTime")
        ours.append(card - answered[-1])
        totals.append(card - start)
        # Baseline: a bare fetch of the same API answer (a new query, so Civitai answers again) painting one line.
        marked = page.evaluate("""async (url) => {
            const r = await fetch(url); const data = await r.json();
            const el = document.createElement('div'); el.textContent = data.items.length ? data.items[0].name : '-';
            document.body.append(el);
            await new Promise((ok) => requestAnimationFrame(() => ok()));
            const t = performance.now(); el.remove(); return t; }""",
            f"{running.url}/civitai-companion/api/search?query=Bench+Card+{i + 50:03d}")
        bare.append(page_time(page, str(marked)) - answered[-1])
    mine, base = statistics.median(ours), statistics.median(bare)
    print(f"search → first card after the fake answered: {mine * 1000:.0f} ms (median of {REPEAT}; "
          f"bare fetch+paint {base * 1000:.0f} ms; ratio {mine / base:.2f}; target ≤ 150 ms) — "
          f"whole search with {LATENCY * 1000:.0f} ms latency: {statistics.median(totals) * 1000:.0f} ms")
    counts = []
    for query in ("Bench Card 077", "Bench Card 078", "Bench Card 077"):
        fake.clear_requests()
        box = page.locator(f"{APP} input[name='query']")
        box.fill(query)
        box.press("Enter")
        page.wait_for_function(f"""[...document.querySelector('{APP}').shadowRoot.querySelectorAll('article.card .name')]
            .map(n => n.textContent).join() === '{query} LORA'""")
        counts.append(len(fake.requests_to("api", path_prefix="/api/v1/models")))
    print(f"the same search again within the cache TTL: {counts[2]} request(s) to Civitai "
          f"(the first time: {counts[0]}; target 0)")
    page.close()


def bench_images(browser, running) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # an empty image cache
    page = context.new_page()
    # The first search of a fresh page asks for 100 cards: the element reads page-size when it searches.
    page.add_init_script(f"""new MutationObserver((_, observer) => {{
        const el = document.querySelector('{APP}');
        if (el) {{ el.setAttribute('page-size', '100'); observer.disconnect(); }}
    }}).observe(document, {{ childList: true, subtree: true }});""")
    images: list[str] = []
    page.on("request", lambda r: images.append(r.url) if r.resource_type in ("image", "media") else None)
    page.goto(running.url + "/")
    page.wait_for_function(f"document.querySelector('{APP}')?.shadowRoot?.querySelectorAll('article.card').length >= 100")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(500)  # let any late lazy load start (this is a bench, not a test)
    count = page.evaluate(f"document.querySelector('{APP}').shadowRoot.querySelectorAll('article.card').length")
    from urllib.parse import parse_qs, urlsplit

    targets = [parse_qs(urlsplit(u).query).get("url", [u])[0] for u in images]
    sized = sum(1 for t in targets if re.search(r"/width=\d+", t))
    original = sum(1 for t in targets if "original=true" in t)
    print(f"a page of {count} cards: {len(images)} image requests before scrolling ({len(images) / count:.2f} per card; "
          f"target < 30), {sized} sized, {original} original=true")
    context.close()


def bench_library(browser, make) -> None:
    from tests.browser_harness import StaticLibrary, library_rows

    results = {}
    for size in (100, 10_000):
        running, service, fake = make(StaticLibrary(library_rows(size)))
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(running.url + "/")
        page.wait_for_function(f"document.querySelector('{APP}')?.shadowRoot?.querySelector('article.card')")
        page.wait_for_load_state("networkidle")
        fake.clear_requests()
        times = []
        for _ in range(REPEAT):
            page.evaluate("performance.clearMarks()")
            page.evaluate(f"""() => {{ const el = document.querySelector('{APP}'); const lib = el.views.library;
                lib.loaded = false; el.show('search'); performance.mark('library-click'); el.show('library'); }}""")
            page.wait_for_function("performance.getEntriesByName('civitai-companion:library-rendered').length > 0")
            times.append(page.evaluate("performance.getEntriesByName('civitai-companion:library-rendered')[0].startTime"
                                       " - performance.getEntriesByName('library-click')[0].startTime") / 1000)
        calls = len(fake.requests_to("api"))
        results[size] = (statistics.median(times), calls)
        page.close()
        running.stop()
        service.close()
    (big, big_calls), (small, _) = results[10_000], results[100]
    print(f"Library with 10,000 files: rendered in {big * 1000:.0f} ms (100 files: {small * 1000:.0f} ms; ratio "
          f"{big / small:.2f}; target ≤ 1000 ms), {big_calls} request(s) to Civitai (target 0)")


def first_answer(command: list[str], url_pattern: str, env: dict) -> tuple[float, int, subprocess.Popen]:
    import requests

    start = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    url = None
    while url is None:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{command[2]} stopped before it printed its address")
        match = re.search(url_pattern, line)
        if match:
            url = match.group(1)
    session = requests.Session()
    session.trust_env = False
    while True:
        try:
            if session.get(url, timeout=2).status_code == 200:
                break
        except requests.ConnectionError:
            time.sleep(0.005)
    took = time.monotonic() - start
    time.sleep(1.0)  # idle
    rss = 0
    with open(f"/proc/{proc.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) // 1024
    return took, rss, proc


def bench_server(home: str) -> None:
    env = {**os.environ, "CIVITAI_COMPANION_HOME": home, "XDG_CONFIG_HOME": home, "NO_PROXY": "127.0.0.1",
           "PYTHONUNBUFFERED": "1"}
    runs = {}
    for name, command, pattern in (
        ("ui", [sys.executable, "-m", "civitai_companion", "ui", "--port", "0"], r"running at (http://\S+/)"),
        ("http.server", [sys.executable, "-m", "http.server", "0", "--bind", "127.0.0.1"], r"\((http://[^)]+/)\)"),
    ):
        took, rss, proc = first_answer(command, pattern, env)
        proc.terminate()
        proc.wait(10)
        runs[name] = (took, rss)
    (ours, ours_rss), (base, base_rss) = runs["ui"], runs["http.server"]
    print(f"civitai-companion ui: first answer {ours * 1000:.0f} ms after start (python -m http.server "
          f"{base * 1000:.0f} ms; ratio {ours / base:.2f}; target ≤ 2000 ms), idle RSS {ours_rss} MB "
          f"(http.server {base_rss} MB; target ≤ 120 MB)")


def main() -> int:
    from playwright.sync_api import sync_playwright

    from tests.app_harness import make_service, start_app

    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    fake, answered = fake_with_latency()
    os.environ["CIVITAI_BASE_URL"] = fake.url
    tmp = Path(tempfile.mkdtemp(prefix="bench-app-"))
    os.environ["CIVITAI_COMPANION_HOME"] = str(tmp / "home")
    made = []

    def make(library=None):
        n = len(made)
        service = make_service(tmp / f"app{n}", **({"library": library} if library else {}))
        running = start_app(service)
        made.append(running)
        return running, service, fake

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            try:
                running, service, _ = make()
                bench_search(browser, running, fake, answered)
                bench_images(browser, running)
                running.stop()
                service.close()
                bench_library(browser, make)
            finally:
                browser.close()
        bench_server(str(tmp / "server-home"))
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
