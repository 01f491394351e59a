"""Every read route of the app's JSON API, served by uvicorn, against the fake Civitai."""

from __future__ import annotations

import pytest

from tests.app_harness import app, make_service, start_app  # noqa: F401 - app is a fixture


def models_requests(fake):
    return fake.requests_to("api", path_prefix="/api/v1/models")


# -- search ------------------------------------------------------------------------------------------------------
def test_search_returns_cards_with_sized_thumbnails_and_a_cursor(app):
    r = app.get("search", params={"limit": 5})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    page = r.json()
    assert len(page["items"]) == 5 and page["nextCursor"]
    card = page["items"][0]
    assert {"id", "name", "type", "baseModel", "creator", "stats", "nsfwLevel", "thumbnail", "versions",
            "installed", "update", "blur"} <= set(card)
    assert "/width=450" in card["thumbnail"] and "original=true" not in card["thumbnail"]
    assert card["installed"] == [] and card["versions"][0]["id"]


def test_search_passes_filters_as_repeated_keys(app, fake_civitai):
    r = app.get("search", params=[("types", "LORA"), ("types", "Checkpoint"), ("baseModels", "SD 1.5"),
                                  ("sort", "Newest"), ("limit", "20")])
    assert r.status_code == 200
    assert r.json()["items"] and {c["type"] for c in r.json()["items"]} <= {"LORA", "Checkpoint"}
    sent = models_requests(fake_civitai)[-1].query
    assert sent["types"] == ["LORA", "Checkpoint"] and sent["baseModels"] == ["SD 1.5"]


def test_search_follows_the_cursor_through_empty_pages(app, fake_civitai):
    first = app.get("search", params={"limit": 4}).json()
    fake_civitai.clear_requests()
    second = app.get("search", params={"limit": 4, "cursor": first["nextCursor"]}).json()
    assert second["items"], "the fake answers an empty page here; the service follows its cursor"
    assert len(models_requests(fake_civitai)) > 1
    assert not {c["id"] for c in first["items"]} & {c["id"] for c in second["items"]}


def test_a_repeated_search_is_answered_from_the_cache(app, fake_civitai):
    app.get("search", params={"query": "Amber", "limit": 10})
    before = len(models_requests(fake_civitai))
    again = app.get("search", params={"query": "Amber", "limit": 10})
    assert again.status_code == 200 and again.json()["items"]
    assert len(models_requests(fake_civitai)) == before


def test_search_shows_only_the_browsing_level_and_blurs_above_the_preview_level(app, fake_civitai):
    safe = app.get("search", params={"limit": 100}).json()["items"]
    assert safe and all(c["nsfwLevel"] == 1 for c in safe)
    everything = app.get("search", params={"limit": 100, "nsfw": "31"}).json()["items"]
    nsfw = [c for c in everything if c["nsfwLevel"] and c["nsfwLevel"] > 1]
    assert nsfw, "the fake has NSFW models"
    assert all(c["blur"] for c in nsfw if c["thumbnailNsfwLevel"] and c["thumbnailNsfwLevel"] > 1)
    assert not any(c["blur"] for c in safe)


def test_video_thumbnails_are_stills(app, fake_civitai):
    model = fake_civitai.add_model(name="Moving Picture", video=True)
    card = next(c for c in app.get("search", params={"query": "Moving Picture"}).json()["items"]
                if c["id"] == model["id"])
    assert card["thumbnailType"] == "video" and "anim=false" in card["thumbnail"]


def test_bad_search_parameters_are_one_line_400s(app):
    for params in ({"limit": "0"}, {"limit": "abc"}, {"nsfw": "99"}):
        r = app.get("search", params=params)
        assert r.status_code == 400 and r.json()["code"] == "bad_request" and "\n" not in r.json()["error"]


# -- Civitai failing -------------------------------------------------------------------------------------------
def test_civitai_overloaded_is_a_503_json_line(app, fake_civitai):
    fake_civitai.set_api_fault("/api/v1/models", 503, times=None, retry_after=0)
    r = app.get("search", params={"query": "busy"})
    assert r.status_code == 503 and r.json()["code"] == "civitai_busy"
    assert "overloaded" in r.json()["error"] and "\n" not in r.json()["error"]
    fake_civitai.clear_faults()
    assert app.get("search", params={"query": "busy again"}).status_code == 200  # still usable


def test_rate_limited_is_a_429_json_line(app, fake_civitai):
    fake_civitai.set_api_fault("/api/v1/models", 429, times=None, retry_after=0)
    r = app.get("search", params={"query": "many"})
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"


def test_unreachable_civitai_is_a_502_json_line(app):
    assert app.send("PUT", "settings", {"base_url": "http://127.0.0.1:9"}).status_code == 200
    app.service.client.transport.sleep = lambda seconds: None
    r = app.get("search", params={"query": "anything"})
    assert r.status_code == 502 and r.json()["code"] == "civitai_unreachable"
    assert "refused the connection" in r.json()["error"]


# -- models ----------------------------------------------------------------------------------------------------
def test_model_page_has_versions_files_folders_and_local_state(app, fake_civitai, tmp_path):
    model = fake_civitai.add_model(name="Page Lora", type="LORA", versions=2, trained_words=["pagewrd"])
    r = app.get(f"models/{model['id']}")
    assert r.status_code == 200
    page = r.json()
    assert page["name"] == "Page Lora" and len(page["versions"]) == 2
    version = page["versions"][0]
    assert "pagewrd" in version["trainedWords"] and version["installed"] == []
    file = version["files"][0]
    assert {"id", "name", "format", "sizeKB", "hashes", "folder", "fp", "size", "type"} <= set(file)
    assert file["folder"] == str(tmp_path / "comfyui" / "models" / "loras")
    assert page["url"].endswith(f"/models/{model['id']}")
    assert all("/width=450" in i["url"] for i in version["images"])


def test_model_description_is_sanitised(app, fake_civitai):
    hostile = ('<p onclick="steal()">Hi<script>alert(1)</script><a href="javascript:alert(2)">x</a>'
               '<img src="x" onerror="alert(3)"></p>')
    model = fake_civitai.add_model(name="Hostile Description", description=hostile)
    text = app.get(f"models/{model['id']}").json()["description"]
    assert "Hi" in text
    for bad in ("<script", "onclick", "onerror", "javascript:"):
        assert bad not in text.lower()


def test_unknown_and_bad_model_ids(app):
    missing = app.get("models/2000000000")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    bad = app.get("models/abc")
    assert bad.status_code == 400 and bad.json()["code"] == "bad_request"


# -- images, media, enums, me ----------------------------------------------------------------------------------
def test_images_have_generation_parameters(app, fake_civitai):
    model = fake_civitai.add_model(name="Gallery Model")
    version_id = model["modelVersions"][0]["id"]
    r = app.get("images", params={"modelVersionId": version_id})
    assert r.status_code == 200
    items = r.json()["items"]
    assert items and all("/width=450" in i["url"] for i in items)
    with_meta = [i for i in items if i["meta"]]
    assert with_meta and with_meta[0]["parameters"].splitlines()[1].startswith("Negative prompt:")
    assert "Steps: " in with_meta[0]["parameters"]


def test_images_need_a_model_or_version(app):
    r = app.get("images")
    assert r.status_code == 400 and r.json()["code"] == "bad_request"


def test_media_serves_a_sized_image_and_caches_it(app, fake_civitai):
    thumb = app.get("search", params={"limit": 1}).json()["items"][0]["thumbnail"]
    fake_civitai.clear_requests()
    first = app.get("media", params={"url": thumb, "width": "320"})
    assert first.status_code == 200 and first.headers["content-type"].startswith("image/")
    fetched = fake_civitai.requests_to("api", path_prefix="/images/")
    assert len(fetched) == 1 and "/width=320," in fetched[0].path
    second = app.get("media", params={"url": thumb, "width": "320"})
    assert second.content == first.content
    assert len(fake_civitai.requests_to("api", path_prefix="/images/")) == 1


def test_the_media_cache_stays_under_its_size_cap(app, fake_civitai):
    cards = app.get("search", params={"limit": 12}).json()["items"]
    thumbs = [c["thumbnail"] for c in cards if c["thumbnail"]]
    cache = app.service.media_cache
    sizes = []
    for thumb in thumbs[:2]:
        sizes.append(len(app.get("media", params={"url": thumb}).content))
    cache.max_bytes = max(sizes) * 3
    for thumb in thumbs:
        assert app.get("media", params={"url": thumb}).status_code == 200
    on_disk = sum(p.stat().st_size for p in cache.folder.glob("*/*"))
    assert 0 < on_disk <= cache.max_bytes and len(thumbs) > 4
    fake_civitai.clear_requests()
    app.get("media", params={"url": thumbs[-1]})  # the newest is still cached
    assert not fake_civitai.requests_to("api", path_prefix="/images/")


@pytest.mark.parametrize("url", [
    "http://example.com/a.png", "https://image.civitai.com.evil.example/a/b/width=4/c.png",
    "https://user@image.civitai.com/a/b/c.png", "file:///etc/passwd", "ftp://image.civitai.com/a/b/c.png",
    "http://image.civitai.com/a/b/c.png", "http://127.0.0.1:1/a/b/c.png",
])
def test_media_refuses_every_other_host(app, fake_civitai, url):
    r = app.get("media", params={"url": url})
    assert r.status_code == 403 and r.json()["code"] == "forbidden_host"
    assert not fake_civitai.requests_to("api", path_prefix="/images/")


def test_media_without_url_is_a_400(app):
    assert app.get("media").status_code == 400


def test_enums_are_fetched_once_a_day(app, fake_civitai, tmp_path):
    first = app.get("enums")
    assert first.status_code == 200 and "BaseModel" in first.json()
    assert app.get("enums").json() == first.json()
    again = make_service(tmp_path)  # a restart within the day: read from disk
    try:
        assert again.enums() == first.json()
    finally:
        again.close()
    assert len(fake_civitai.requests_to("api", path_prefix="/api/v1/enums")) == 1


def test_me_names_the_account_and_not_the_token(app, fake_civitai):
    r = app.get("me")
    assert r.status_code == 200 and r.json()["username"] == fake_civitai.me["username"]
    assert fake_civitai.token not in r.text


def test_me_without_a_token_is_a_401(app, monkeypatch):
    monkeypatch.delenv("CIVITAI_API_TOKEN")
    r = app.get("me")
    assert r.status_code == 401 and r.json()["code"] == "auth_required"


# -- the table itself ----------------------------------------------------------------------------------------------
def test_unknown_route_and_wrong_method_are_json(app):
    r = app.get("no/such/route")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = app.send("POST", "search")
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed" and "GET" in r.headers["allow"]


def test_the_api_answers_under_the_prefix_and_the_page_at_the_root(app):
    page = app.session.get(app.url + "/", timeout=10)
    assert page.status_code == 200 and "<civitai-companion" in page.text
    assert 'src="civitai-companion/static/companion.js?v=' in page.text
    assert app.session.get(app.url + "/civitai-companion/api/jobs", timeout=10).status_code == 200


def test_auth_callback_guards_every_api_route(fake_civitai, tmp_path):
    service = make_service(tmp_path)
    running = start_app(service, auth=lambda request: request.headers.get("x-test-login") == "yes")
    try:
        r = running.get("jobs")
        assert r.status_code == 401 and r.json()["code"] == "auth_required"
        assert running.get("jobs", headers={"X-Test-Login": "yes"}).status_code == 200
    finally:
        running.stop()
        service.close()


def test_the_app_works_mounted_at_its_prefix_as_a1111_mounts_it(fake_civitai, tmp_path):
    """A1111/Forge call ``app.mount("/civitai-companion", create_app(service))`` on their own server."""
    import threading

    import requests
    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from civitai_companion.app.asgi import create_app
    from civitai_companion.app.routes import PREFIX
    from civitai_companion.app.server import bind_socket

    service = make_service(tmp_path, host="a1111")
    host_app = Starlette(routes=[Mount(PREFIX, app=create_app(service))])
    sock = bind_socket("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(host_app, log_level="warning", lifespan="off"))
    server.install_signal_handlers = lambda: None
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    pause = threading.Event()
    while thread.is_alive() and not server.started:
        pause.wait(0.01)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}{PREFIX}"
    try:
        session = requests.Session()
        session.trust_env = False
        assert session.get(base + "/api/search", params={"limit": 2}, timeout=30).json()["items"]
        module = session.get(base + "/static/companion.js", timeout=30)
        assert module.status_code == 200 and "javascript" in module.headers["content-type"]
        r = session.put(base + "/api/settings", json={"nsfw_level": 3}, headers={"Origin": base.split(PREFIX)[0]},
                        timeout=30)
        assert r.status_code == 200 and r.json()["nsfw_level"] == 3
    finally:
        server.should_exit = True
        thread.join(15)
        service.close()


# -- the error table -----------------------------------------------------------------------------------------------
def _core_errors():
    from civitai_companion.api import errors as e

    return [
        (e.NotFound("no model"), 404, "not_found"), (e.UnknownRoute("html 404"), 502, "civitai_unknown_route"),
        (e.Archived("gone"), 410, "archived"), (e.AuthRequired("login"), 401, "auth_required"),
        (e.DownloadsDisabled("off"), 403, "downloads_disabled"), (e.EarlyAccess("soon"), 403, "early_access"),
        (e.Forbidden("no"), 403, "forbidden"), (e.RateLimited("slow down", status=429), 429, "rate_limited"),
        (e.RateLimited("busy", status=503), 503, "civitai_busy"), (e.BadRequest("bad"), 400, "bad_request"),
        (e.PageLimit("pages"), 400, "bad_request"), (e.RegionBlocked("region"), 451, "region_blocked"),
        (e.NetworkError("down"), 502, "civitai_unreachable"), (e.ServerError("500"), 502, "civitai_error"),
        (e.BadResponse("html"), 502, "civitai_bad_response"), (e.CivitaiError("odd"), 502, "civitai_error"),
        (OSError("disk"), 500, "os_error"), (RuntimeError("bug"), 500, "internal"),
    ]


@pytest.mark.parametrize("exc,status,code", _core_errors(), ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v))
def test_every_core_error_has_its_status_and_code(exc, status, code):
    from civitai_companion.app.routes import ApiRequest, Route, RouteTable, handle

    def fail(_request):
        raise exc

    answer = handle(RouteTable([Route("GET", "boom", fail)]), ApiRequest("GET", "/civitai-companion/api/boom"))
    assert (answer.status, answer.body["code"]) == (status, code)
    assert answer.body["error"] and "\n" not in answer.body["error"]


def test_retry_after_is_passed_on():
    from civitai_companion.api.errors import RateLimited
    from civitai_companion.app.routes import ApiRequest, Route, RouteTable, handle

    def fail(_request):
        raise RateLimited("slow", retry_after=2.5, status=429)

    answer = handle(RouteTable([Route("GET", "x", fail)]), ApiRequest("GET", "x"))
    assert answer.status == 429 and answer.headers["Retry-After"] == "3"
