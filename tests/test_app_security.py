"""The rules every route keeps: no cross-site writes, JSON bodies only, no token anywhere, local files only
from the model folders, HTML from Civitai sanitised."""

from __future__ import annotations

import logging
import os

import pytest

from civitai_companion.app.media import allowed_host, sanitize_html, sized_url
from civitai_companion.app.routes import ApiRequest, build_routes, handle
from tests.app_harness import app  # noqa: F401 - the fixture
from tests.test_app_jobs import wait_for_download, wait_for_scan

WRITES = [("POST", "downloads", {"versionId": 1}), ("PUT", "settings", {"nsfw_level": 3}),
          ("DELETE", "downloads/abc", None), ("POST", "library/scan", {}), ("DELETE", "library/scan/abc", None)]


@pytest.mark.parametrize("method,path,body", WRITES)
def test_a_foreign_origin_cannot_change_anything(app, method, path, body):
    r = app.send(method, path, body, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and r.json()["code"] == "cross_origin"


def test_a_foreign_referer_or_fetch_site_is_refused_too(app):
    r = app.request("POST", "library/scan", json={}, headers={"Referer": "http://evil.example/page"})
    assert r.status_code == 403
    r = app.request("POST", "library/scan", json={}, headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403
    r = app.request("POST", "library/scan", json={}, headers={"Origin": "null"})
    assert r.status_code == 403


def test_a_same_origin_write_passes(app):
    assert app.send("PUT", "settings", {"nsfw_level": 3}).json()["nsfw_level"] == 3
    other_port = app.url.rsplit(":", 1)[0] + ":1"
    r = app.send("PUT", "settings", {"nsfw_level": 1}, headers={"Origin": other_port})
    assert r.status_code == 403  # another port of the same machine is another site


@pytest.mark.parametrize("content_type,data", [
    ("application/x-www-form-urlencoded", "versionId=1"), ("text/plain", '{"versionId": 1}'),
    ("multipart/form-data; boundary=x", "--x--"),
])
def test_a_body_that_is_not_json_is_a_415(app, content_type, data):
    r = app.request("POST", "downloads", data=data, headers={"Content-Type": content_type, "Origin": app.url})
    assert r.status_code == 415 and r.json()["code"] == "unsupported_media_type"


def test_broken_json_is_a_400(app):
    r = app.request("PUT", "settings", data="{nope", headers={"Content-Type": "application/json", "Origin": app.url})
    assert r.status_code == 400 and r.json()["code"] == "bad_json"
    r = app.send("PUT", "settings", [1, 2])
    assert r.status_code == 400


def test_no_answer_header_or_log_line_holds_the_token(app, fake_civitai, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    token = fake_civitai.token
    model = fake_civitai.add_model(name="Token Probe", file_sizes=(300_000,))
    version_id = model["modelVersions"][0]["id"]
    answers = []
    answers.append(app.get("search", params={"query": "Token"}))
    answers.append(app.get(f"models/{model['id']}"))
    answers.append(app.get("me"))
    answers.append(app.get("settings"))
    answers.append(app.get("images", params={"modelVersionId": version_id}))
    answers.append(app.send("POST", "downloads", {"versionId": version_id}))
    wait_for_download(app, answers[-1].json()["id"])
    answers.append(app.get("downloads"))
    answers.append(app.send("POST", "library/scan", {}))
    wait_for_scan(app, answers[-1].json()["id"])
    answers.append(app.get("library"))
    answers.append(app.get("jobs"))
    fake_civitai.set_fault(version_id, "login_required")
    answers.append(app.get("models/2000000000"))  # an error answer too
    new_token = "settings-token-" + "x" * 20
    answers.append(app.send("PUT", "settings", {"token": new_token}))
    answers.append(app.get("me"))  # the fake rejects it: the error must not echo it
    for answer in answers:
        text = answer.text + repr(dict(answer.headers))
        assert token not in text and new_token not in text, answer.url
    assert token not in caplog.text and new_token not in caplog.text
    assert answers[-2].json()["token"] == {"set": True, "source": "settings"}


def test_the_token_is_scrubbed_even_if_something_echoes_it(tmp_path, monkeypatch):
    monkeypatch.setenv("CIVITAI_API_TOKEN", "echoed-secret-123")

    class Echo:
        def secrets(self):
            return ["echoed-secret-123"]

        def jobs_status(self):
            raise ValueError("boom echoed-secret-123")

    table = build_routes(Echo())
    answer = handle(table, ApiRequest("GET", "jobs"))
    assert answer.status == 400 and "echoed-secret-123" not in answer.payload().decode()


# -- local files -------------------------------------------------------------------------------------------------
@pytest.fixture
def scanned(app, fake_civitai, tmp_path):
    """One downloaded LoRA with its preview, scanned into the library."""
    model = fake_civitai.add_model(name="Preview Lora", file_sizes=(200_000,))
    version = model["modelVersions"][0]
    job = app.send("POST", "downloads", {"versionId": version["id"]}).json()["id"]
    done = wait_for_download(app, job)
    assert done["state"] == "done", done
    wait_for_scan(app, app.send("POST", "library/scan", {}).json()["id"])
    return version["files"][0]["hashes"]["SHA256"], done["path"]


def test_the_preview_of_a_library_file_is_served(app, scanned):
    sha, path = scanned
    r = app.get(f"library/preview/{sha}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/")


@pytest.mark.parametrize("bad", ["..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "abc", "g" * 64])
def test_the_preview_route_takes_only_a_sha256(app, bad):
    r = app.get(f"library/preview/{bad}")
    assert r.status_code in (400, 404) and r.json()["code"] in ("bad_request", "not_found")
    assert "root:" not in r.text


def test_a_preview_symlink_leaving_the_model_folders_is_refused(app, scanned, tmp_path):
    sha, path = scanned
    from civitai_companion.library.sidecars import existing_previews

    previews = existing_previews(path)
    assert previews
    secret = tmp_path / "outside" / "secret.png"
    secret.parent.mkdir()
    secret.write_bytes(b"\x89PNG\r\n\x1a\n" + b"private")
    for preview in previews:
        preview.unlink()
    os.symlink(secret, previews[0])
    r = app.get(f"library/preview/{sha}")
    assert r.status_code == 403 and r.json()["code"] == "outside_model_folders"
    assert b"private" not in r.content


def test_an_unknown_sha256_has_no_preview(app):
    r = app.get("library/preview/" + "A" * 64)
    assert r.status_code == 404 and r.json()["code"] == "not_found"


# -- units -------------------------------------------------------------------------------------------------------
def test_media_hosts_are_civitai_and_the_configured_site_only():
    assert allowed_host("https://image.civitai.com/a/b/width=450/c.jpeg", "https://civitai.com")
    assert allowed_host("http://127.0.0.1:5000/images/a/b/c.png", "http://127.0.0.1:5000")
    assert not allowed_host("http://127.0.0.1:5001/images/a/b/c.png", "http://127.0.0.1:5000")
    assert not allowed_host("https://civitai.com.evil.example/x.png", "https://civitai.com")
    assert not allowed_host("https://image.civitai.com:8443/a/b/c.png", "https://civitai.com")


def test_sized_urls_replace_the_options_segment_and_still_videos():
    url = "https://image.civitai.com/acct/0000-uuid/original=true/123.jpeg"
    assert sized_url(url, 320) == "https://image.civitai.com/acct/0000-uuid/width=320,optimized=true/123.jpeg"
    video = "https://image.civitai.com/acct/0000-uuid/width=450/9.mp4"
    assert sized_url(video, 320) == "https://image.civitai.com/acct/0000-uuid/width=320,anim=false,optimized=true/9.mp4"
    bare = "https://image.civitai.com/acct/0000-uuid/5.png"
    assert sized_url(bare, 200) == "https://image.civitai.com/acct/0000-uuid/width=200,optimized=true/5.png"
    assert sized_url("javascript:alert(1)") is None


def test_sanitised_html_keeps_text_and_links_but_no_script():
    out = sanitize_html('<p>ok <a href="https://civitai.com/x" onmouseover="x()">link</a>'
                        '<a href="JaVaScRiPt:alert(1)">bad</a><script>evil()</script><style>*{}</style></p>')
    assert "ok" in out and 'href="https://civitai.com/x"' in out
    assert "onmouseover" not in out and "javascript" not in out.lower() and "evil" not in out
