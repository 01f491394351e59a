"""The fake Civitai server behaves like the real one (reference: shared/reference/civitai-api.md)."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from tests.fake_civitai import FakeCivitai, civitai_hashes, hash_file, make_safetensors
from tests.fake_civitai import fixtures as fx
from tests.fake_civitai.hashing import hash_chunks

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
VECTORS = SHARED / "reference" / "hash-vectors.json"
DERIVED = SHARED / "fixtures" / "civitai" / "errors" / "zod_error_bodies_derived.json"
T = 10  # seconds; every request carries a timeout


@pytest.fixture(scope="module")
def fake():
    with FakeCivitai() as server:
        yield server


@pytest.fixture(autouse=True)
def _reset(request):
    if "fake" in request.fixturenames:
        server = request.getfixturevalue("fake")
        server.clear_faults()
        server.clear_requests()
        server.token = "test-token"
    yield


def get(fake, path, **kwargs):
    kwargs.setdefault("timeout", T)
    return requests.get(fake.url + path, **kwargs)


def needs_recorded_fixtures():
    if not DERIVED.parent.parent.exists():
        pytest.skip("shared fixtures not present")


def derived(key):
    if not DERIVED.exists():
        pytest.skip("shared fixtures not present")
    return json.loads(DERIVED.read_text(encoding="utf-8"))[key]["body"]


def primary_file(model):
    return next(f for f in model["modelVersions"][0]["files"] if f.get("primary"))


# ---- hashes -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("key,n", [("synthetic_safetensors_2.5MiB", 655360), ("synthetic_safetensors_small", 1024)])
def test_make_safetensors_matches_hash_vectors(key, n):
    if not VECTORS.exists():
        pytest.skip("hash vectors not present")
    vector = json.loads(VECTORS.read_text())[key]
    data = make_safetensors(n)
    hashes = civitai_hashes(data)
    assert len(data) == vector["size_bytes"]
    for kind in ("AutoV2", "SHA256", "CRC32", "BLAKE3", "AutoV3"):
        assert hashes[kind] == vector[kind]
    assert hashes.get("AutoV1") == vector["AutoV1"]


def test_hello_world_vector_and_little_endian_crc32():
    hashes = civitai_hashes(b"hello world")
    assert hashes["CRC32"] == "85114A0D" and "AutoV1" not in hashes and "AutoV3" not in hashes
    if VECTORS.exists():
        vector = json.loads(VECTORS.read_text())["hello_world_txt"]
        assert {k: hashes[k] for k in ("AutoV2", "SHA256", "CRC32", "BLAKE3")} == {
            k: vector[k] for k in ("AutoV2", "SHA256", "CRC32", "BLAKE3")}
        assert hash_chunks([b"hello world"], 11).autov3_full()[:12] == vector["AutoV3"]


def test_hash_file_streams_to_the_same_hashes(tmp_path):
    data = make_safetensors(700_000, seed=3)
    path = tmp_path / "x.safetensors"
    path.write_bytes(data)
    assert hash_file(path) == (len(data), civitai_hashes(data))


def test_generated_files_carry_their_true_hashes(fake):
    for model in fake.generated_models():
        for version in model["modelVersions"]:
            for file in version["files"]:
                assert file["hashes"] == civitai_hashes(fake.file_bytes(file["id"]))


def test_big_lora_has_autov1_and_kohya_lora_names_its_autov3(fake):
    assert "AutoV1" in primary_file(fake.models[fake.special["big_lora"]])["hashes"]
    file = primary_file(fake.models[fake.special["kohya"]])
    data = fake.file_bytes(file["id"])
    (n,) = struct.unpack("<Q", data[:8])
    meta = json.loads(data[8:8 + n])["__metadata__"]
    assert meta["sshs_model_hash"][:12].upper() == file["hashes"]["AutoV3"]


# ---- /models ------------------------------------------------------------------------------------------

def collect(fake, params):
    seen, pages, url = [], [], fake.url + "/api/v1/models"
    while url:
        body = requests.get(url, params=params, timeout=T).json()
        params = None
        pages.append(len(body["items"]))
        seen.extend(item["id"] for item in body["items"])
        url = body["metadata"].get("nextPage")
        assert ("nextCursor" in body["metadata"]) == bool(url)
    return seen, pages


def test_cursor_paging_through_short_and_empty_pages_yields_each_model_once(fake):
    seen, pages = collect(fake, {"limit": 4, "nsfw": "true"})
    assert sorted(seen) == sorted(fake.models)
    assert 0 in pages and 3 in pages


def test_default_listing_is_pg_only(fake):
    seen, _ = collect(fake, {"limit": 100})
    expected = {i for i, m in fake.models.items() if m.get("nsfwLevel", 28 if m.get("nsfw") else 1) & 1}
    assert set(seen) == expected


def test_repeated_types_filter(fake):
    body = get(fake, "/api/v1/models", params=[("types", "LORA"), ("types", "Checkpoint"), ("nsfw", "true")]).json()
    assert {m["type"] for m in body["items"]} == {"LORA", "Checkpoint"}


def test_comma_list_of_types_is_400_zod(fake):
    response = get(fake, "/api/v1/models", params={"types": "LORA,Checkpoint"})
    assert response.status_code == 400
    assert response.json() == fx.types_error(None)


@pytest.mark.parametrize("query,key", [("types=Foo", "models?types=Foo"), ("sort=Bad", "models?sort=Bad"),
                                       ("limit=500", "models?limit=500"), ("nsfw=maybe", "models?nsfw=maybe")])
def test_validation_errors_match_recorded_zod_bodies(fake, query, key):
    response = get(fake, "/api/v1/models?" + query)
    assert (response.status_code, response.json()) == (400, derived(key))


def test_page_cap_is_429_and_page_is_echoed(fake):
    capped = get(fake, "/api/v1/models", params={"page": 11, "limit": 100})
    assert (capped.status_code, capped.json()) == (429, fx.PAGE_CAP_BODY)
    echoed = get(fake, "/api/v1/models", params={"page": 2, "limit": 5}).json()
    assert echoed["metadata"]["currentPage"] == 2 and len(echoed["items"]) == 5


def test_query_with_page_is_400_and_query_filters_names(fake):
    assert get(fake, "/api/v1/models", params={"query": "fox", "page": 1}).status_code == 400
    body = get(fake, "/api/v1/models", params={"query": "FOX", "nsfw": "true"}).json()
    assert body["items"] and all("fox" in m["name"].lower() for m in body["items"])


def test_unknown_username_is_404_and_private_lists_need_auth(fake):
    assert get(fake, "/api/v1/models", params={"username": "nobody-here"}).json() == {"message": "User not found"}
    assert get(fake, "/api/v1/models", params={"favorites": "true"}).status_code == 401
    body = get(fake, "/api/v1/models", params={"favorites": "true"},
               headers={"Authorization": f"Bearer {fake.token}"}).json()
    assert {m["id"] for m in body["items"]} == fake.favorite_ids


def test_list_items_drop_empty_versions_and_non_primary_flags(fake):
    body = get(fake, "/api/v1/models", params={"ids": f"{fake.special['archived']},{fake.special['checkpoint_with_vae']}",
                                               "nsfw": "true"}).json()
    items = {m["id"]: m for m in body["items"]}
    assert items[fake.special["archived"]]["modelVersions"] == []
    files = items[fake.special["checkpoint_with_vae"]]["modelVersions"][0]["files"]
    assert [f.get("primary") for f in files] == [True, None, None] and "primary" not in files[1]


# ---- single items and hashes ----------------------------------------------------------------------------

def test_model_errors(fake):
    assert get(fake, "/api/v1/models/abc").json() == {"error": "✖ Invalid input: expected number, received NaN\n  → at id"}
    assert get(fake, "/api/v1/models/999999999").json() == {"error": "No model with id 999999999"}
    assert get(fake, "/api/v1/model-versions/999999999").json() == {"error": "Model not found"}


def test_unrated_version_is_404_but_listed_on_its_model(fake):
    needs_recorded_fixtures()
    assert get(fake, "/api/v1/model-versions/3198110").status_code == 404
    assert get(fake, "/api/v1/models/2833924").json()["modelVersions"][0]["id"] == 3198110


def test_recorded_version_is_served_verbatim_without_client_key(fake):
    needs_recorded_fixtures()
    body = get(fake, "/api/v1/model-versions/1255556").json()
    assert body["air"] == "urn:air:flux1:lora:civitai:1117241@1255556" and "creator" not in body
    assert body["files"][0]["downloadUrl"] == f"{fake.url}/api/download/models/1255556"


def test_version_body_shape(fake):
    model = fake.models[fake.special["checkpoint_with_vae"]]
    body = get(fake, f"/api/v1/model-versions/{model['modelVersions'][0]['id']}").json()
    assert body["modelId"] == model["id"] and body["model"]["type"] == "Checkpoint"
    assert body["air"].startswith("urn:air:sd1:checkpoint:civitai:")
    assert [f["primary"] for f in body["files"]] == [True, False, False]
    assert body["images"][0]["meta"]["prompt"]


@pytest.mark.parametrize("kind", ["AutoV1", "AutoV2", "SHA256", "CRC32", "BLAKE3", "AutoV3"])
def test_by_hash_finds_every_kind_case_insensitively(fake, kind):
    model = fake.models[fake.special["big_lora"]]
    value = primary_file(model)["hashes"][kind]
    body = get(fake, f"/api/v1/model-versions/by-hash/{value.lower()}").json()
    assert body["id"] == model["modelVersions"][0]["id"]


def test_recorded_hashes_resolve_even_for_unrated_versions(fake):
    needs_recorded_fixtures()
    sha = "9753338AB693CA82BF89ED77A5D1912879E40051463EC6E330FB9866CE798668"
    assert get(fake, f"/api/v1/model-versions/by-hash/{sha}").json()["id"] == 1387174
    assert get(fake, "/api/v1/model-versions/by-hash/7FF63543").json()["id"] == 3198110  # nsfwLevel 0


def test_post_by_hash_batch_and_ids(fake):
    shas = [primary_file(fake.models[fake.special[k]])["hashes"]["SHA256"] for k in ("big_lora", "kohya")]
    batch = requests.post(fake.url + "/api/v1/model-versions/by-hash", json=shas + ["0" * 64], timeout=T).json()
    assert [b["files"][0]["hashes"]["SHA256"] for b in batch] == shas
    ids = requests.post(fake.url + "/api/v1/model-versions/by-hash/ids", json=shas, timeout=T).json()
    assert [i["modelId"] for i in ids] == [fake.special["big_lora"], fake.special["kohya"]]


def test_post_by_hash_rejects_bad_bodies(fake):
    url = fake.url + "/api/v1/model-versions/by-hash"
    too_many = requests.post(url, json=["A" * 64] * 101, timeout=T)
    assert too_many.status_code == 400 and too_many.json()["error"].startswith("Request must include an array")
    assert requests.post(url, json=["abc"], timeout=T).json() == derived("POST by-hash shortHash")
    assert requests.post(url, json={"a": 1}, timeout=T).json() == derived("POST by-hash notArray")
    assert requests.post(url, timeout=T).json() == derived("POST by-hash undefinedBody")


# ---- downloads --------------------------------------------------------------------------------------------

def version_of(fake, case):
    return fake.models[fake.special[case]]["modelVersions"][0]


def test_download_redirects_to_storage_without_the_token(fake):
    version = version_of(fake, "big_lora")
    file = primary_file(fake.models[fake.special["big_lora"]])
    response = get(fake, f"/api/download/models/{version['id']}", headers={"Authorization": f"Bearer {fake.token}"})
    assert response.history[0].status_code == 307
    assert response.history[0].headers["Location"].startswith(fake.storage_url + "/storage/")
    assert response.headers["Content-Disposition"] == f'attachment; filename="{file["name"]}"'
    assert response.content == fake.file_bytes(file["id"])
    storage = [r for r in fake.requests if r.server == "storage"]
    assert storage and all("Authorization" not in r.headers for r in storage)


def test_storage_refuses_an_authorization_header(fake):
    location = get(fake, f"/api/download/models/{version_of(fake, 'kohya')['id']}",
                   allow_redirects=False).headers["Location"]
    assert requests.get(location, headers={"Authorization": "Bearer x"}, timeout=T).status_code == 400


def test_non_ascii_names_get_filename_star(fake):
    version = version_of(fake, "non_ascii")
    name = version["files"][0]["name"]
    response = get(fake, f"/api/download/models/{version['id']}")
    assert name.startswith("Café_Noir") and response.content == fake.file_bytes(version["files"][0]["id"])
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="{name.replace("é", "_")}"; filename*=UTF-8\'\'{quote(name)}')


@pytest.mark.parametrize("params,expected_type", [({"type": "VAE"}, "VAE"), ({"type": "Pruned Model", "fp": "fp16"},
                                                  "Pruned Model"), ({}, "Model")])
def test_download_selects_files_by_query(fake, params, expected_type):
    version = version_of(fake, "checkpoint_with_vae")
    response = get(fake, f"/api/download/models/{version['id']}", params=params)
    file = next(f for f in version["files"] if f["type"] == expected_type)
    assert response.content == fake.file_bytes(file["id"])


def test_download_of_missing_variant_is_404(fake):
    response = get(fake, f"/api/download/models/{version_of(fake, 'kohya')['id']}", params={"format": "PickleTensor"})
    assert (response.status_code, response.json()) == (404, {"error": "File not found"})


def test_range_206_and_416(fake):
    version = version_of(fake, "big_lora")
    data = fake.file_bytes(primary_file(fake.models[fake.special["big_lora"]])["id"])
    location = get(fake, f"/api/download/models/{version['id']}", allow_redirects=False).headers["Location"]
    part = requests.get(location, headers={"Range": "bytes=100-"}, timeout=T)
    assert part.status_code == 206 and part.content == data[100:]
    assert part.headers["Content-Range"] == f"bytes 100-{len(data) - 1}/{len(data)}"
    past = requests.get(location, headers={"Range": f"bytes={len(data)}-"}, timeout=T)
    assert past.status_code == 416 and past.headers["Content-Range"] == f"bytes */{len(data)}"
    assert [r.headers.get("Range") for r in fake.requests if r.server == "storage"] == ["bytes=100-",
                                                                                     f"bytes={len(data)}-"]


def test_archived_and_early_access_versions(fake):
    assert get(fake, f"/api/download/models/{version_of(fake, 'archived')['id']}").status_code == 410
    early = get(fake, f"/api/download/models/{version_of(fake, 'early_access')['id']}")
    assert early.status_code == 403 and early.json()["error"] == "Early Access"


DOWNLOAD_FAULTS = [
    ("login_required", 401, fx.LOGIN_REQUIRED_BODY),
    ("downloads_disabled", 401, {"error": "Unauthorized",
                                 "message": "The creator of this asset has disabled downloads on this file"}),
    ("archived", 410, None), ("not_found", 404, {"error": "File not found"}), ("rate_limited", 429, None),
    ("unavailable", 503, None), ("early_access", 403, None),
]


@pytest.mark.parametrize("mode,status,body", DOWNLOAD_FAULTS)
def test_download_fault_modes_apply_once(fake, mode, status, body):
    version = version_of(fake, "kohya")
    fake.set_fault(version["id"], mode, times=1)
    failed = get(fake, f"/api/download/models/{version['id']}", allow_redirects=False)
    assert failed.status_code == status and (body is None or failed.json() == body)
    if mode in ("rate_limited", "unavailable"):
        assert failed.headers["Retry-After"] == "1"
    assert get(fake, f"/api/download/models/{version['id']}", allow_redirects=False).status_code == 307


def test_login_required_passes_with_token_and_redirects_browsers(fake):
    version = version_of(fake, "kohya")
    fake.set_fault(version["id"], "login_required")
    path = f"/api/download/models/{version['id']}"
    assert get(fake, path, params={"token": fake.token}, allow_redirects=False).status_code == 307
    browser = get(fake, path, headers={"User-Agent": "Mozilla/5.0"}, allow_redirects=False)
    assert browser.headers["Location"].startswith(fake.url + "/login?returnUrl=")


def test_html_login_fault_ends_on_an_html_page(fake):
    version = version_of(fake, "kohya")
    fake.set_fault(version["id"], "html_login")
    response = get(fake, f"/api/download/models/{version['id']}")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")


def storage_fault(fake, mode, **opts):
    version = version_of(fake, "big_lora")
    data = fake.file_bytes(primary_file(fake.models[fake.special["big_lora"]])["id"])
    fake.set_fault(version["id"], mode, times=1, **opts)
    return get(fake, f"/api/download/models/{version['id']}", allow_redirects=False).headers["Location"], data


def test_drop_fault_cuts_the_body(fake):
    location, _ = storage_fault(fake, "drop", after_bytes=1000)
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(location, timeout=T).content


def test_wrong_bytes_fault_keeps_length(fake):
    location, data = storage_fault(fake, "wrong_bytes")
    body = requests.get(location, timeout=T).content
    assert len(body) == len(data) and body != data


def test_ignore_range_fault_sends_the_whole_file(fake):
    location, data = storage_fault(fake, "ignore_range")
    response = requests.get(location, headers={"Range": "bytes=10-"}, timeout=T)
    assert response.status_code == 200 and response.content == data


def test_slow_fault_still_delivers_the_file(fake):
    location, data = storage_fault(fake, "slow", delay=0.001)
    assert requests.get(location, timeout=T).content == data


def test_expire_urls_fault_forces_a_fresh_resolve(fake):
    location, data = storage_fault(fake, "expire_urls")
    assert requests.get(location, timeout=T).status_code == 403
    assert requests.get(location, timeout=T).content == data


def test_unknown_fault_mode_is_refused(fake):
    with pytest.raises(ValueError):
        fake.set_fault(1, "explode")


def test_api_faults_then_success(fake):
    fake.set_api_fault("/api/v1/models", 503, times=1, retry_after=2)
    first = get(fake, "/api/v1/models?limit=1")
    assert first.status_code == 503 and first.headers["Retry-After"] == "2"
    assert get(fake, "/api/v1/models?limit=1").status_code == 200
    fake.set_api_fault("/api/v1/model-versions", 500)
    assert get(fake, "/api/v1/model-versions/1255556").json()["message"] == "An unexpected error occurred"


# ---- other endpoints ---------------------------------------------------------------------------------------

def test_unknown_route_is_html_404(fake):
    response = get(fake, "/api/v1/models-versions/by-hash/ABC")
    assert response.status_code == 404 and response.headers["Content-Type"].startswith("text/html")


def test_images_paging_filters_and_bytes(fake):
    model = fake.models[fake.special["video"]]
    version = model["modelVersions"][0]
    body = get(fake, "/api/v1/images", params={"modelVersionId": version["id"], "nsfw": "X"}).json()
    assert sorted(i["type"] for i in body["items"]) == ["image", "video"]
    for item in body["items"]:
        media = requests.get(item["url"], timeout=T)
        assert media.status_code == 200 and media.headers["Content-Type"] in ("video/mp4", "image/jpeg", "image/png")
    assert get(fake, "/api/v1/images", params={"limit": 201}).status_code == 400
    seen, url = [], fake.url + "/api/v1/images?limit=7&nsfw=X"
    while url:
        page = requests.get(url, timeout=T).json()
        seen += [i["id"] for i in page["items"]]
        url = page["metadata"].get("nextPage")
    assert len(seen) == len(set(seen)) and len(seen) > 7


def test_jpeg_previews_are_real_jpegs(fake):
    version = version_of(fake, "kohya")
    image = requests.get(version["images"][-1]["url"], timeout=T).content
    assert image[:2] == b"\xff\xd8" or image[:8] == b"\x89PNG\r\n\x1a\n"


def test_creators_tags_enums_me(fake):
    creators = get(fake, "/api/v1/creators", params={"limit": 2}).json()
    assert len(creators["items"]) == 2 and creators["metadata"]["nextPage"].endswith("page=2")
    tags = get(fake, "/api/v1/tags", params={"limit": 3}).json()
    assert len(tags["items"]) == 3 and "nextPage" not in tags["metadata"]
    assert get(fake, "/api/v1/tags", params={"limit": 500}).json() == derived("tags?limit=500 (via tRPC)")
    assert "LORA" in get(fake, "/api/v1/enums").json()["ModelType"]
    assert get(fake, "/api/v1/me").json() == {"error": "Unauthorized"}
    assert get(fake, "/api/v1/me", headers={"Authorization": "Bearer " + fake.token}).json()["username"]


def test_disk_backed_file_downloads_and_hashes(fake, tmp_path):
    path = tmp_path / "big.safetensors"
    path.write_bytes(make_safetensors(600_000, seed=9))
    model = fake.add_model(name="Disk Backed", file_sizes=(1024,))
    version_id = model["modelVersions"][0]["id"]
    file = fake.add_file(version_id, name="disk.safetensors", path=path, primary=True)
    assert file["hashes"] == civitai_hashes(path.read_bytes()) and fake.file_path(file["id"]) == path
    assert get(fake, f"/api/download/models/{version_id}").content == path.read_bytes()


def test_works_without_shared_fixtures(monkeypatch, tmp_path):
    monkeypatch.setenv("FAKE_CIVITAI_FIXTURES", str(tmp_path))
    with FakeCivitai(generated=20) as alone:
        assert len(alone.models) == 20
        assert get(alone, "/api/v1/enums").json()["ModelType"] == fx.MODEL_TYPES
        assert get(alone, "/api/v1/models/2833924").status_code == 404


def test_no_served_url_leaves_the_fake(fake):
    text = get(fake, "/api/v1/models", params={"nsfw": "true"}).text + get(fake, "/api/v1/creators?limit=100").text
    loaded = re.findall(r'(?:"(?:url|image|downloadUrl)":"|src=\\")([^"\\]+)', text)
    assert loaded and all(url.startswith(fake.url + "/") for url in loaded)


def test_next_page_repeats_the_query_and_adds_the_cursor(fake):
    params = [("limit", 2), ("types", "LORA"), ("types", "Checkpoint"), ("sort", "Most Downloaded"), ("nsfw", "true")]
    meta = get(fake, "/api/v1/models", params=params).json()["metadata"]
    assert meta["nextPage"] == (f"{fake.url}/api/v1/models?limit=2&types=LORA&types=Checkpoint"
                                f"&sort=Most%20Downloaded&nsfw=true&cursor={quote(meta['nextCursor'], safe='')}")


def test_storage_head_reports_the_size(fake):
    version = version_of(fake, "big_lora")
    location = get(fake, f"/api/download/models/{version['id']}", allow_redirects=False).headers["Location"]
    head = requests.head(location, timeout=T)
    size = len(fake.file_bytes(version["files"][0]["id"]))
    assert head.status_code == 200 and head.headers["Content-Length"] == str(size) and head.content == b""
