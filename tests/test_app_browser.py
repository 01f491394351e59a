"""The Companion app in a real browser (Debian's Chromium driven by Playwright) against the app served on
uvicorn and the fake Civitai: the whole user path, NSFW blur, error states, the model panel's URL hash,
keyboard use and the send event (the hosts' side: test_app_browser_hosts.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser_harness import (APP, StaticLibrary, browser, cards, library_rows, new_page, open_app,  # noqa: F401
                                   serve, shot, tab)

FOLDERS = {"comfyui": Path("models") / "loras", "a1111": Path("models") / "Lora"}


def _expect():
    from playwright.sync_api import expect

    return expect


def _models_requests(fake):
    return fake.requests_to("api", path_prefix="/api/v1/models")


def _matching(fake, query: dict) -> int:
    """How many models the fake holds for the app's own query, counted through every cursor page, so
    recorded models that happen to match (when the shared fixtures are present) are counted too."""
    import requests

    params, total = {k: v for k, v in query.items() if k not in ("cursor", "limit")}, 0
    params["limit"] = 100
    while True:
        body = requests.get(f"{fake.url}/api/v1/models", params=params, timeout=10).json()
        total += len(body["items"])
        cursor = (body.get("metadata") or {}).get("nextCursor")
        if not cursor:
            return total
        params["cursor"] = cursor


@pytest.mark.parametrize("host", ["comfyui", "a1111"])
def test_search_scroll_open_send_download_library_rescan(host, serve, fake_civitai, new_page, tmp_path):
    expect = _expect()
    fake = fake_civitai
    for n in range(45):  # more than one page (40) of one type and base model
        fake.add_model(name=f"Paging Sample {n:02d} LORA", type="LORA", base_model="Illustrious")
    zebra = fake.add_model(name="Zebra Stripes LORA", type="LORA", base_model="Illustrious",
                           trained_words=["zebra_style", "striped"])
    running = serve(host=host)
    page = new_page()
    open_app(page, running)
    expect(cards(page).first).to_be_visible()

    # Filters: a type and a base model, picked from the multi-selects.
    page.locator(f"{APP} details[data-filter='types'] summary").click()
    page.locator(f"{APP} details[data-filter='types'] input[value='LORA']").check()
    page.locator(f"{APP} details[data-filter='baseModels'] summary").click()
    page.locator(f"{APP} details[data-filter='baseModels'] input[value='Illustrious']").check()
    fake.clear_requests()
    page.locator(f"{APP} input[name='query']").press("Enter")
    expect(cards(page)).to_have_count(40)
    sent = _models_requests(fake)[-1].query
    assert sent.get("types") == ["LORA"] and sent.get("baseModels") == ["Illustrious"]
    assert not any("cursor" in r.query for r in _models_requests(fake))
    total = _matching(fake, sent)
    assert total >= 46
    for text in cards(page).locator(".body > div:nth-child(2)").all_inner_texts():
        assert text.startswith("LORA")
    shot(page, f"search-{host}")

    # Scrolling to the end follows the cursor to the next page.
    page.locator(f"{APP} [data-view='search'] .more").scroll_into_view_if_needed()
    expect(cards(page)).to_have_count(total)
    assert any("cursor" in r.query for r in _models_requests(fake))
    expect(page.locator(f"{APP} [data-view='search'] .state")).to_contain_text(f"{total} models")

    # Open the model: its own URL hash.
    page.locator(f"{APP} article.card[data-model-id='{zebra['id']}']").click()
    dialog = page.locator(f"{APP} dialog.model")
    expect(dialog).to_be_visible()
    expect(dialog.locator("h2")).to_have_text("Zebra Stripes LORA")
    assert page.evaluate("location.hash") == f"#civitai-model/{zebra['id']}"

    # A trained word with no host to take it: the copy box shows it.
    dialog.locator(".chip", has_text="zebra_style").click()
    copybox = page.locator(f"{APP} [data-copybox]")
    expect(copybox).to_be_visible()
    expect(copybox.locator("textarea")).to_have_value("zebra_style")
    shot(page, f"model-copybox-{host}")
    copybox.locator("button", has_text="Close").click()
    expect(copybox).to_be_hidden()

    # With a host listening (what the A1111 and ComfyUI glue do), "Send all" goes to it and no box opens.
    page.evaluate("""() => { window.sent = [];
        document.addEventListener('civitai-companion:send', (e) => { e.preventDefault(); window.sent.push(e.detail); }); }""")
    dialog.locator("[data-send-all]").click()
    detail = page.evaluate("window.sent[0]")
    version_id = zebra["modelVersions"][0]["id"]
    assert detail["text"] == "zebra_style, striped" and detail["kind"] == "prompt"
    assert detail["ref"]["modelId"] == zebra["id"] and detail["ref"]["versionId"] == version_id
    expect(copybox).to_be_hidden()

    # Download: the button names the folder the file goes to.
    download = dialog.locator("button[data-file-id]").first
    expect(download).to_have_text(f"Download to {FOLDERS[host].name}")
    download.click()
    expect(download).to_contain_text("Queued")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert page.evaluate("location.hash") == ""

    tab(page, "downloads").click()
    job = page.locator(f"{APP} .job").first
    expect(job).to_have_attribute("data-state", "done")
    saved = Path(job.locator("[data-path]").get_attribute("data-path"))
    expect(job.locator("[data-path]")).to_have_text(str(FOLDERS[host].relative_to("models") / saved.name))
    root = tmp_path / host
    assert saved.is_file() and saved.parent == root / FOLDERS[host]
    assert saved.read_bytes() == fake.file_bytes(zebra["modelVersions"][0]["files"][0]["id"])
    shot(page, f"downloads-{host}")

    tab(page, "library").click()
    row = page.locator(f"{APP} .lib-row[data-path='{saved}']")
    expect(row).to_be_visible()
    expect(row.locator(".chip", has_text="zebra_style")).to_be_visible()
    page.locator(f"{APP} [data-view='library'] button", has_text="Scan").click()
    expect(page.locator(f"{APP} [data-view='library'] button", has_text="Scan")).to_be_enabled()
    expect(row).to_be_visible()
    expect(row.locator(".badge", has_text="on Civitai")).to_be_visible()
    shot(page, f"library-{host}")

    # From the library back to the model: it knows the file is there now, and so does its search card.
    row.locator("button", has_text="Open model").click()
    expect(dialog).to_be_visible()
    expect(dialog.locator(".badge", has_text="installed")).to_be_visible()
    expect(dialog.locator("button[data-file-id]").first).to_have_text("Downloaded")
    page.keyboard.press("Escape")
    tab(page, "search").click()
    page.locator(f"{APP} input[name='query']").fill("Zebra")
    page.locator(f"{APP} input[name='query']").press("Enter")
    expect(page.locator(f"{APP} article.card[data-model-id='{zebra['id']}'] [data-badge='installed']")).to_be_visible()


def test_nsfw_pictures_blurred_until_clicked(serve, fake_civitai, new_page):
    expect = _expect()
    spicy = fake_civitai.add_model(name="Crimson Night LORA", nsfw_level=4)
    tame = fake_civitai.add_model(name="Crimson Day LORA", nsfw_level=1)
    running = serve(settings={"nsfw_level": 31, "preview_nsfw_level": 1})
    page = new_page()
    open_app(page, running)
    page.locator(f"{APP} input[name='query']").fill("Crimson")
    page.locator(f"{APP} input[name='query']").press("Enter")
    hot = page.locator(f"{APP} article.card[data-model-id='{spicy['id']}'] .thumb")
    calm = page.locator(f"{APP} article.card[data-model-id='{tame['id']}'] .thumb")
    expect(hot).to_have_class(re.compile(r"\bblurred\b"))
    expect(calm).not_to_have_class(re.compile(r"\bblurred\b"))
    blur = hot.locator("img").evaluate("img => getComputedStyle(img).filter")
    assert blur.startswith("blur(")
    shot(page, "search-nsfw-blurred")
    hot.locator("button.reveal").click()
    expect(hot).not_to_have_class(re.compile(r"\bblurred\b"))
    assert page.evaluate("location.hash") == ""  # revealing does not open the model


def test_civitai_down_shows_one_line_and_the_app_stays_usable(serve, fake_civitai, new_page):
    expect = _expect()
    running = serve()
    fake_civitai.set_api_fault("/api/v1/models", 503, times=None)
    page = new_page()
    open_app(page, running)
    status = page.locator(f"{APP} [data-view='search'] .state.error")
    expect(status).to_be_visible()
    text = status.locator("[data-state='error']").inner_text()
    assert text and "\n" not in text and "Traceback" not in text
    assert cards(page).count() == 0
    shot(page, "search-error-503")
    tab(page, "settings").click()  # the rest of the app still works
    expect(page.locator(f"{APP} [data-token-state]")).to_contain_text("A key is set")
    tab(page, "search").click()
    fake_civitai.clear_faults()
    status.locator("button", has_text="Retry").click()
    expect(cards(page).first).to_be_visible()


def test_model_panel_back_and_deep_link(serve, fake_civitai, new_page):
    expect = _expect()
    model = fake_civitai.add_model(name="Hashy LORA", versions=2, trained_words=["hashy"])
    running = serve()
    page = new_page()
    open_app(page, running)
    page.locator(f"{APP} input[name='query']").fill("Hashy")
    page.locator(f"{APP} input[name='query']").press("Enter")
    page.locator(f"{APP} article.card[data-model-id='{model['id']}']").click()
    dialog = page.locator(f"{APP} dialog.model")
    expect(dialog).to_be_visible()
    tabs = dialog.locator(".versions button")
    expect(tabs).to_have_count(2)
    tabs.nth(1).click()
    expect(tabs.nth(1)).to_have_attribute("aria-selected", "true")
    page.go_back()
    expect(dialog).to_be_hidden()
    expect(cards(page)).to_have_count(1)  # the search is still there

    second = model["modelVersions"][1]["id"]
    page.goto(f"{running.url}/#civitai-model/{model['id']}/{second}")
    expect(dialog).to_be_visible()
    expect(dialog.locator(f".versions button[data-version-id='{second}']")).to_have_attribute("aria-selected", "true")


def test_keyboard_only(serve, fake_civitai, new_page):
    expect = _expect()
    fake_civitai.add_model(name="Keyboard Cat LORA")
    running = serve()
    page = new_page()
    open_app(page, running)
    query = page.locator(f"{APP} input[name='query']")
    query.focus()
    page.keyboard.type("Keyboard Cat")
    page.keyboard.press("Enter")
    expect(cards(page)).to_have_count(1)
    card = cards(page).first
    card.focus()
    page.keyboard.press("Enter")
    dialog = page.locator(f"{APP} dialog.model")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    tab(page, "search").focus()
    page.keyboard.press("ArrowRight")
    expect(tab(page, "downloads")).to_have_attribute("aria-selected", "true")
    page.keyboard.press("End")
    expect(tab(page, "settings")).to_have_attribute("aria-selected", "true")
    assert page.evaluate(f"document.querySelector('{APP}').shadowRoot.activeElement.dataset.view") == "settings"


def test_library_of_10000_files_is_paged(serve, new_page):
    expect = _expect()
    running = serve(library=StaticLibrary(library_rows(10_000)))
    page = new_page()
    open_app(page, running)
    tab(page, "library").click()
    rows = page.locator(f"{APP} .lib-row")
    expect(page.locator(f"{APP} [data-view='library'] [role='status']").first).to_have_text("10000 files")
    expect(rows).to_have_count(50)
    page.locator(f"{APP} [data-view='library'] .pager button", has_text="Next").click()
    expect(rows.first).to_have_attribute("data-path", "/models/loras/file_00050.safetensors")
    page.locator(f"{APP} [data-view='library'] select[aria-label='Status']").select_option("update")
    expect(page.locator(f"{APP} [data-view='library'] [role='status']").first).to_contain_text("match")
    expect(rows.first.locator(".badge", has_text="update available")).to_be_visible()
    shot(page, "library-10000")


def test_settings_token_is_write_only_and_verified(serve, fake_civitai, new_page, monkeypatch, tmp_path):
    expect = _expect()
    monkeypatch.delenv("CIVITAI_API_TOKEN")
    running = serve()
    page = new_page()
    open_app(page, running)
    tab(page, "settings").click()
    state = page.locator(f"{APP} [data-token-state]")
    expect(state).to_contain_text("No key set")
    token_input = page.locator(f"{APP} input[name='token']")
    token_input.fill(fake_civitai.token)
    page.locator(f"{APP} button", has_text="Save key").click()
    expect(state).to_contain_text("A key is set")
    expect(token_input).to_have_value("")
    page.locator(f"{APP} button[data-verify]").click()
    expect(page.locator(f"{APP} [data-user]")).to_have_attribute("data-user", "fake-tester")
    shot(page, "settings")
    html = page.evaluate(f"document.documentElement.outerHTML + document.querySelector('{APP}').shadowRoot.innerHTML")
    assert fake_civitai.token not in html
    # Other settings round-trip through the server.
    page.locator(f"{APP} select[name='preview_nsfw_level']").select_option("7")
    page.locator(f"{APP} form.settings button[type='submit']").click()
    expect(page.locator(f"{APP} form.settings [role='status']").last).to_have_text("Saved.")
    assert running.get("settings").json()["preview_nsfw_level"] == 7
    # Where each kind goes: the host's folder as the placeholder, an override saved as typed.
    page.locator(f"{APP} form.settings details summary").click()
    lora = page.locator(f"{APP} input[data-folder='lora']")
    assert lora.get_attribute("placeholder") == str(tmp_path / "comfyui" / "models" / "loras")
    lora.fill(str(tmp_path / "my-loras"))
    page.locator(f"{APP} form.settings button[type='submit']").click()
    expect(page.locator(f"{APP} form.settings [role='status']").last).to_have_text("Saved.")
    assert running.get("settings").json()["folders"] == {"lora": str(tmp_path / "my-loras")}


def test_failed_download_shows_its_error_and_retry_finishes_it(serve, fake_civitai, new_page, tmp_path):
    expect = _expect()
    model = fake_civitai.add_model(name="Flaky Download LORA")
    version = model["modelVersions"][0]
    fake_civitai.set_fault(version["id"], "archived", times=None)
    running = serve()
    page = new_page()
    open_app(page, running, fragment=f"#civitai-model/{model['id']}")
    dialog = page.locator(f"{APP} dialog.model")
    dialog.locator("button[data-file-id]").first.click()
    page.keyboard.press("Escape")
    tab(page, "downloads").click()
    job = page.locator(f"{APP} .job").first
    expect(job).to_have_attribute("data-state", "failed")
    error = job.locator("[data-error]").inner_text()
    assert error and "\n" not in error
    expect(tab(page, "downloads").locator(".count")).to_be_hidden()
    shot(page, "downloads-failed")
    fake_civitai.clear_faults()
    job.locator("button", has_text="Retry").click()
    expect(page.locator(f"{APP} .job[data-state='done']")).to_have_count(1)
    saved = Path(page.locator(f"{APP} .job[data-state='done'] [data-path]").get_attribute("data-path"))
    assert saved.read_bytes() == fake_civitai.file_bytes(version["files"][0]["id"])


def test_description_scripts_never_run(serve, fake_civitai, new_page):
    expect = _expect()
    hostile = ('<p>Fine text</p><img src="x" onerror="window.pwned = 1"><script>window.pwned = 2</script>'
               '<a href="javascript:window.pwned = 3">click</a><a href="https://example.org/page">link</a>')
    model = fake_civitai.add_model(name="Hostile Description LORA", description=hostile, early_access=True)
    running = serve()
    page = new_page()
    open_app(page, running, fragment=f"#civitai-model/{model['id']}")
    dialog = page.locator(f"{APP} dialog.model")
    expect(dialog.locator(".description")).to_contain_text("Fine text")
    for link in dialog.locator(".description a").all():
        href = link.get_attribute("href") or ""
        assert not href.lower().startswith("javascript:")
        assert link.get_attribute("rel") and "noopener" in link.get_attribute("rel")
    assert dialog.locator(".description script, .description [onerror]").count() == 0
    assert page.evaluate("window.pwned") is None
    expect(dialog.locator(".badge", has_text="early access")).to_be_visible()


def test_scroll_follows_the_cursor_through_short_and_empty_pages(serve, new_page):
    """Civitai's cursor pages can be short or empty (filtered items): the grid keeps asking while its end is
    in view and stops at the last cursor. The app's search answers are replaced here to shape the pages."""
    import json

    expect = _expect()
    running = serve()
    page = new_page()

    def card(n):
        return {"id": 900 + n, "name": f"Paged {n}", "type": "LORA", "baseModel": "SD 1.5", "creator": "x",
                "stats": {"downloads": n, "likes": n}, "nsfwLevel": 1, "thumbnail": None, "blur": False,
                "versions": [], "installed": [], "update": False}

    pages = {None: ([card(1), card(2), card(3)], "a"), "a": ([], "b"), "b": ([], "c"), "c": ([card(4), card(5)], None)}
    asked = []

    def search(route):
        from urllib.parse import parse_qs, urlsplit

        cursor = parse_qs(urlsplit(route.request.url).query).get("cursor", [None])[0]
        asked.append(cursor)
        items, next_cursor = pages[cursor]
        route.fulfill(body=json.dumps({"items": items, "nextCursor": next_cursor}),
                      headers={"Content-Type": "application/json"})

    page.route(re.compile(r".*/civitai-companion/api/search\?.*"), search)
    open_app(page, running)
    expect(cards(page)).to_have_count(5)
    expect(page.locator(f"{APP} [data-view='search'] .state")).to_have_text("5 models, that is all.")
    assert asked == [None, "a", "b", "c"]
    expect(page.locator(f"{APP} [data-view='search'] .more button")).to_be_hidden()


def test_progress_of_running_download_and_scan_with_cancel(serve, new_page):
    """Progress as GET jobs reports it (shaped here, since real jobs on loopback finish in milliseconds):
    bytes, speed and time left; Cancel sends DELETE for the download and for the scan."""
    import json

    expect = _expect()
    running = serve()
    page = new_page()
    mib = 1024 * 1024
    jobs = {"downloads": [{"id": "d1", "versionId": 1, "fileId": 2, "fileName": "Big_Model.safetensors",
                           "state": "running", "bytes": 50 * mib, "total": 200 * mib, "speed": 10 * mib, "eta": 15,
                           "path": None, "error": None}],
            "scans": [{"id": "s1", "state": "running", "done": 3, "total": 10, "error": None}]}
    page.route(re.compile(r".*/civitai-companion/api/jobs$"), lambda route: route.fulfill(
        body=json.dumps(jobs), headers={"Content-Type": "application/json"}))

    def delete(route):
        if route.request.method != "DELETE":
            return route.continue_()
        route.fulfill(body="{}", headers={"Content-Type": "application/json"})

    page.route(re.compile(r".*/civitai-companion/api/(downloads|library/scan)/\w+$"), delete)
    open_app(page, running)
    tab(page, "downloads").click()
    job = page.locator(f"{APP} .job[data-job-id='d1']")
    expect(job).to_contain_text("50.0 MB of 200 MB · 10.0 MB/s · 15 s left")
    assert job.locator("progress").evaluate("p => p.value / p.max") == 0.25
    expect(tab(page, "downloads").locator(".count")).to_have_text("1")
    shot(page, "downloads-running")
    with page.expect_request(lambda r: r.method == "DELETE" and r.url.endswith("/api/downloads/d1")):
        job.locator("button", has_text="Cancel").click()
    tab(page, "library").click()
    scan = page.locator(f"{APP} [data-view='library'] .scan")
    expect(scan).to_contain_text("Scanning: 3 of 10 files")
    expect(page.locator(f"{APP} [data-view='library'] button", has_text="Scan").first).to_be_disabled()
    with page.expect_request(lambda r: r.method == "DELETE" and r.url.endswith("/api/library/scan/s1")):
        scan.locator("button", has_text="Cancel scan").click()
    expect(scan).to_be_visible()


def test_the_gallery_pages_through_all_pictures(serve, fake_civitai, new_page):
    """The version lists a few pictures; "More pictures" follows the images endpoint's cursor to the end."""
    import json
    from urllib.parse import parse_qs, urlsplit

    expect = _expect()
    model = fake_civitai.add_model(name="Gallery Lora")
    other = fake_civitai.add_model(name="Other Gallery Lora")
    running = serve()
    page = new_page()
    asked = []

    def images(route):  # the real first page, then a second one (another model's pictures) behind a cursor
        query = parse_qs(urlsplit(route.request.url).query)
        asked.append(query.get("cursor", [None])[0])
        url = route.request.url
        if asked[-1]:
            url = url.replace(str(model["modelVersions"][0]["id"]), str(other["modelVersions"][0]["id"]))
            url = url.split("&cursor=")[0]
        body = route.fetch(url=url).json()
        body["nextCursor"] = None if asked[-1] else "page-2"
        route.fulfill(body=json.dumps(body), headers={"Content-Type": "application/json"})

    page.route(re.compile(r".*/civitai-companion/api/images\?.*"), images)
    open_app(page, running, fragment=f"#civitai-model/{model['id']}")
    dialog = page.locator(f"{APP} dialog[open]")
    shots = dialog.locator(".gallery figure.shot")
    more = dialog.locator("button[data-more-images]")
    expect(more).to_be_visible()
    first = shots.count()
    assert first >= 1 and asked == [None]
    more.scroll_into_view_if_needed()
    shot(page, "model-gallery-more")
    more.click()
    expect(more).to_be_hidden()
    assert asked == [None, "page-2"]
    expect(shots).to_have_count(first + len(other["modelVersions"][0]["images"]))
