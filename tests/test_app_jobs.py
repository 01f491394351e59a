"""Downloads, scans, the library and settings through the app's routes: progress, retry, resume, folders."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path


from tests.app_harness import app, make_service, start_app, wait  # noqa: F401 - app is a fixture

def download_state(app, job_id):
    return next(d for d in app.get("downloads").json() if d["id"] == job_id)


def wait_for_download(app, job_id, states=("done", "failed", "cancelled")):
    return wait(lambda: download_state(app, job_id), lambda d: d["state"] in states)


def wait_for_scan(app, scan_id):
    def fetch():
        return next(s for s in app.get("jobs").json()["scans"] if s["id"] == scan_id)

    return wait(fetch, lambda s: s["state"] in ("done", "failed", "cancelled"))


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest().upper()


def add_lora(fake, name, size=200_000, **kw):
    model = fake.add_model(name=name, type="LORA", file_sizes=(size,), **kw)
    version = model["modelVersions"][0]
    return model, version, version["files"][0]


# -- downloads ---------------------------------------------------------------------------------------------------
def test_a_download_is_queued_and_lands_in_comfyuis_lora_folder(app, fake_civitai, tmp_path):
    _model, version, file = add_lora(fake_civitai, "Queued Lora", trained_words=["qwords"])
    r = app.send("POST", "downloads", {"versionId": version["id"]})
    assert r.status_code == 202 and r.json()["id"]
    done = wait_for_download(app, r.json()["id"])
    assert done["state"] == "done" and done["versionId"] == version["id"] and done["error"] is None
    assert Path(done["path"]).parent == tmp_path / "comfyui" / "models" / "loras"
    assert sha256(done["path"]) == file["hashes"]["SHA256"] and done["bytes"] == done["total"]
    assert {"id", "versionId", "fileName", "state", "bytes", "total", "speed", "path", "error"} <= set(done)


def test_a_chosen_file_goes_to_a1111s_folder(fake_civitai, monkeypatch, tmp_path):
    monkeypatch.setenv("CIVITAI_API_TOKEN", fake_civitai.token)
    model = fake_civitai.add_model(name="Two Files", type="Checkpoint", file_sizes=(150_000,))
    version = model["modelVersions"][0]
    extra = fake_civitai.add_file(version["id"], name="two_files_vae.safetensors", type="VAE", size=90_000)
    added = []
    service = make_service(tmp_path, host="a1111", on_file_added=lambda path, kind: added.append((path, kind)))
    running = start_app(service)
    try:
        job = running.send("POST", "downloads", {"versionId": version["id"], "fileId": extra["id"]}).json()["id"]
        done = wait_for_download(running, job)
        assert done["state"] == "done", done
        assert Path(done["path"]) == tmp_path / "a1111" / "models" / "VAE" / "two_files_vae.safetensors"
        assert added == [(Path(done["path"]), "vae")]
        page = running.get(f"models/{model['id']}").json()
        assert page["versions"][0]["installed"] == [done["path"]]
        assert running.get("search", params={"query": "Two Files"}).json()["items"][0]["installed"] == [version["id"]]
    finally:
        running.stop()
        service.close()


def test_download_requests_are_checked(app):
    for body in ({}, {"versionId": "abc"}, {"versionId": 0}, {"versionId": True}, {"versionId": 1, "fileId": -3}):
        r = app.send("POST", "downloads", body)
        assert r.status_code == 400 and r.json()["code"] == "bad_request", body


def test_a_download_civitai_refuses_fails_with_one_line(app, fake_civitai):
    _model, version, _file = add_lora(fake_civitai, "Early Lora")
    fake_civitai.set_fault(version["id"], "early_access", times=None)
    done = wait_for_download(app, app.send("POST", "downloads", {"versionId": version["id"]}).json()["id"])
    assert done["state"] == "failed" and "early access" in done["error"].lower() and "\n" not in done["error"]


def test_a_download_failing_midway_resumes_on_retry(app, fake_civitai):
    app.service.client.transport.sleep = lambda seconds: None
    _model, version, file = add_lora(fake_civitai, "Dropping Lora", size=1_000_000)
    fake_civitai.set_fault(version["id"], "drop", times=4, after_bytes=100_000)  # the first try and its 3 resumes
    job = app.send("POST", "downloads", {"versionId": version["id"]}).json()["id"]
    failed = wait_for_download(app, job)
    assert failed["state"] == "failed" and failed["error"] and failed["path"] is None
    kept = failed["bytes"]
    assert 0 < kept < file["sizeKB"] * 1024
    fake_civitai.clear_requests()
    r = app.send("POST", f"downloads/{job}/retry")
    assert r.status_code == 202
    done = wait_for_download(app, job)
    assert done["state"] == "done" and done["resumed"] and sha256(done["path"]) == file["hashes"]["SHA256"]
    ranges = [r.headers.get("Range") for r in fake_civitai.requests_to("storage")]
    assert any(value and value.startswith("bytes=") and not value.startswith("bytes=0-") for value in ranges)


def test_cancel_retry_and_clear(app, fake_civitai):
    _model, version, _file = add_lora(fake_civitai, "Slow Lora", size=2_000_000)
    fake_civitai.set_fault(version["id"], "slow", delay=0.02)
    job = app.send("POST", "downloads", {"versionId": version["id"]}).json()["id"]
    wait_for_download(app, job, states=("running",))
    assert app.send("DELETE", f"downloads/{job}").json() == {"id": job, "cancelled": True}
    assert wait_for_download(app, job)["state"] == "cancelled"
    again = app.send("DELETE", f"downloads/{job}")
    assert again.status_code == 409 and again.json()["code"] == "not_active"
    assert app.send("DELETE", "downloads/nosuchjob").status_code == 404
    assert app.send("POST", "downloads/nosuchjob/retry").status_code == 404
    fake_civitai.clear_faults()
    assert app.send("POST", f"downloads/{job}/retry").status_code == 202
    assert wait_for_download(app, job)["state"] == "done"
    assert app.send("POST", f"downloads/{job}/retry").status_code == 409
    assert app.send("DELETE", "downloads").json() == {"cleared": 1}
    assert app.get("downloads").json() == []


def test_the_queue_outlives_the_service(fake_civitai, monkeypatch, tmp_path):
    """A service stopped mid-download (Ctrl-C) leaves the job queued; the next one finishes it from its .part."""
    monkeypatch.setenv("CIVITAI_API_TOKEN", fake_civitai.token)
    _model, version, file = add_lora(fake_civitai, "Restart Lora", size=2_000_000)
    fake_civitai.set_fault(version["id"], "slow", delay=0.02)
    first = make_service(tmp_path)
    running = start_app(first)
    job = running.send("POST", "downloads", {"versionId": version["id"]}).json()["id"]
    wait(lambda: download_state(running, job), lambda d: d["state"] == "running" and d["bytes"] > 100_000)
    running.stop()
    first.close()
    saved = json.loads((tmp_path / "state" / "downloads.json").read_text())
    assert [j["status"] for j in saved["jobs"]] == ["pending"]
    fake_civitai.clear_faults()
    second = make_service(tmp_path)
    running = start_app(second)
    try:
        done = wait_for_download(running, job)
        assert done["state"] == "done" and done["resumed"] and sha256(done["path"]) == file["hashes"]["SHA256"]
    finally:
        running.stop()
        second.close()


# -- scans and the library -----------------------------------------------------------------------------------------
def test_scan_fills_the_library_with_trained_words(app, fake_civitai, tmp_path):
    _model, version, file = add_lora(fake_civitai, "Library Lora", trained_words=["libword"])
    folder = tmp_path / "comfyui" / "models" / "loras"
    folder.mkdir(parents=True)
    (folder / "library_lora.safetensors").write_bytes(fake_civitai.file_bytes(file["id"]))
    (folder / "stranger.safetensors").write_bytes(b"not on civitai" * 100)
    r = app.send("POST", "library/scan", {})
    assert r.status_code == 202
    scan = wait_for_scan(app, r.json()["id"])
    assert scan["state"] == "done" and scan["resolved"] == 1 and scan["unknown"] == 1 and scan["files"] == 2
    rows = app.get("library").json()
    assert rows["total"] == 2
    mine = next(row for row in rows["items"] if row["path"].endswith("library_lora.safetensors"))
    assert mine["status"] == "resolved" and mine["modelVersionId"] == version["id"]
    assert "libword" in mine["trainedWords"] and mine["previewUrl"] == f"library/preview/{mine['sha256']}"
    unknown = app.get("library", params={"status": "unknown"}).json()
    assert [row["path"].rsplit("/", 1)[-1] for row in unknown["items"]] == ["stranger.safetensors"]
    assert app.get("library", params={"query": "libword"}).json()["total"] == 1
    assert app.get("library", params={"status": "bogus"}).status_code == 400
    assert app.get("library", params={"limit": "1"}).json()["items"].__len__() == 1


def test_scan_routes_cancel_and_refuse_what_is_not_running(app, monkeypatch):
    import civitai_companion.library.scanner as scanner

    entered = threading.Event()

    def blocking_scan(entries, *, cancel, **_kw):
        entered.set()
        cancel.wait(30)
        return scanner.ScanReport(entries=entries, cancelled=cancel.is_set())

    monkeypatch.setattr(scanner, "scan", blocking_scan)
    scan_id = app.send("POST", "library/scan", {}).json()["id"]
    entered.wait(30)
    assert app.send("POST", "library/scan", {}).json()["id"] == scan_id  # one scan at a time
    assert app.send("DELETE", f"library/scan/{scan_id}").json() == {"id": scan_id, "cancelled": True}
    assert wait_for_scan(app, scan_id)["state"] == "cancelled"
    assert app.send("DELETE", f"library/scan/{scan_id}").status_code == 409
    assert app.send("DELETE", "library/scan/nosuchscan").status_code == 404
    assert app.send("POST", "library/scan", {"refresh": "yes"}).status_code == 400


def test_scan_hooks_run_around_the_scan_and_their_failure_is_not_the_scans(fake_civitai, tmp_path):
    """A host seeds our hash cache before a scan and takes the hashes back after it (the WebUI does)."""
    folder = tmp_path / "comfyui" / "models" / "loras"
    folder.mkdir(parents=True)
    (folder / "mine.safetensors").write_bytes(b"local file" * 100)
    seen = []

    def before(entries):
        seen.append(("before", [e.path.name for e in entries], [e.sha256 for e in entries]))
        raise OSError("host cache is locked")

    def after(entries):
        seen.append(("after", [e.path.name for e in entries], [e.sha256 for e in entries]))

    service = make_service(tmp_path, before_scan=before, after_scan=after)
    running = start_app(service)
    try:
        scan = wait_for_scan(running, running.send("POST", "library/scan", {}).json()["id"])
    finally:
        running.stop()
        service.close()
    assert scan["state"] == "done" and scan["files"] == 1
    sha = sha256(folder / "mine.safetensors")
    assert seen == [("before", ["mine.safetensors"], [None]), ("after", ["mine.safetensors"], [sha])]


def test_jobs_lists_downloads_and_scans(app):
    jobs = app.get("jobs").json()
    assert jobs == {"downloads": [], "scans": []}


# -- settings ----------------------------------------------------------------------------------------------------
def test_settings_are_validated_and_the_token_is_write_only(app, fake_civitai):
    settings = app.get("settings").json()
    assert settings["token"] == {"set": True, "source": "env"} and settings["nsfw_level"] == 1
    for bad in ({"nsfw_level": 0}, {"nsfw_level": 32}, {"download_workers": 99}, {"write_sidecars": "yes"},
                {"base_url": "ftp://x"}, {"subfolder_template": "{nope}"}, {"folders": ["x"]}, {"folders": {"lorra": "x"}}, {"unknown": 1},
                {"token": "has space"}):
        r = app.send("PUT", "settings", bad)
        assert r.status_code == 400 and r.json()["code"] == "bad_setting", bad
    changed = app.send("PUT", "settings", {"token": "abc-123", "preview_nsfw_level": 3}).json()
    assert changed["token"] == {"set": True, "source": "settings"} and changed["preview_nsfw_level"] == 3
    assert "abc-123" not in json.dumps(changed)
    cleared = app.send("PUT", "settings", {"token": ""}).json()
    assert cleared["token"] == {"set": True, "source": "env"}


def test_the_sub_folder_template_and_folder_overrides_decide_where_downloads_go(app, fake_civitai, tmp_path):
    own = tmp_path / "my-loras"
    assert app.get("settings").json()["kind_folders"]["lora"] == str(tmp_path / "comfyui" / "models" / "loras")
    changed = app.send("PUT", "settings", {"subfolder_template": "{baseModel}", "folders": {"lora": str(own)}})
    assert changed.json()["kind_folders"]["lora"] == str(own)
    _model, version, _file = add_lora(fake_civitai, "Templated Lora", base_model="SDXL 1.0")
    done = wait_for_download(app, app.send("POST", "downloads", {"versionId": version["id"]}).json()["id"])
    assert done["state"] == "done" and Path(done["path"]).parent == own / "SDXL 1.0"


def test_settings_file_is_private_and_survives_a_restart(fake_civitai, tmp_path):
    from civitai_companion.app.settings import JsonSettingsStore

    store = JsonSettingsStore(tmp_path / "cfg" / "settings.json")
    service = make_service(tmp_path, store=store)
    try:
        service.put_settings({"token": "secret-key-1", "download_workers": 3})
    finally:
        service.close()
    assert (store.path.stat().st_mode & 0o777) == 0o600
    again = make_service(tmp_path, store=JsonSettingsStore(store.path))
    try:
        assert again.get_settings()["download_workers"] == 3 and again.setting("token") == "secret-key-1"
    finally:
        again.close()


def test_a_damaged_settings_file_falls_back_to_defaults(tmp_path):
    from civitai_companion.app.settings import JsonSettingsStore, clean

    path = tmp_path / "settings.json"
    path.write_text('{"nsfw_level": "lots", "download_workers": 2, "junk": 1')
    assert clean(JsonSettingsStore(path).load())["nsfw_level"] == 1
    path.write_text('{"nsfw_level": "lots", "download_workers": 4}')
    assert clean(JsonSettingsStore(path).load()) | {} == {**clean({}), "download_workers": 4}


def test_cards_and_model_pages_show_what_is_installed_and_updates(app, fake_civitai):
    model = fake_civitai.add_model(name="Updated Lora", versions=2, file_sizes=(120_000,))
    newest, older = model["modelVersions"][0], model["modelVersions"][1]
    done = wait_for_download(app, app.send("POST", "downloads", {"versionId": older["id"]}).json()["id"])
    assert done["state"] == "done", done
    assert wait_for_scan(app, app.send("POST", "library/scan", {}).json()["id"])["state"] == "done"
    card = next(c for c in app.get("search", params={"query": "Updated Lora"}).json()["items"] if c["id"] == model["id"])
    assert card["installed"] == [older["id"]] and card["update"] is True
    page = app.get(f"models/{model['id']}").json()
    by_id = {v["id"]: v for v in page["versions"]}
    assert by_id[older["id"]]["installed"] == [done["path"]] and by_id[older["id"]]["update"] is True
    assert by_id[newest["id"]]["installed"] == []
    assert by_id[older["id"]]["files"][0]["installed"] == done["path"]
    updates = app.get("library", params={"status": "update"}).json()["items"]
    assert [row["newerVersionId"] for row in updates] == [newest["id"]]
    Path(done["path"]).unlink()  # deleted by hand: its row stays until the next scan, but it is not installed
    card = next(c for c in app.get("search", params={"query": "Updated Lora"}).json()["items"] if c["id"] == model["id"])
    assert card["installed"] == [] and card["update"] is False
    by_id = {v["id"]: v for v in app.get(f"models/{model['id']}").json()["versions"]}
    assert by_id[older["id"]]["installed"] == [] and by_id[older["id"]]["files"][0]["installed"] is None


def test_the_library_shows_a_download_at_once(app, fake_civitai):
    assert app.get("library").json()["total"] == 0  # this answer is cached while the index is unchanged
    _model, version, _file = add_lora(fake_civitai, "Fresh Lora")
    done = wait_for_download(app, app.send("POST", "downloads", {"versionId": version["id"]}).json()["id"])
    rows = app.get("library").json()["items"]
    assert [row["path"] for row in rows] == [done["path"]] and rows[0]["modelVersionId"] == version["id"]
