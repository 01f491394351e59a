"""The API client against requests-mock: every endpoint, paging, retries, token handling, caching."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from civitai_companion.api import (
    AuthRequired,
    BadRequest,
    CivitaiClient,
    NetworkError,
    PageLimit,
    RateLimited,
    ServerError,
    UnknownRoute,
)
from civitai_companion.api.http import ResponseCache

from .civitai_fixtures import load

BASE = "https://civitai.test"
API = BASE + "/api/v1"
SHA = "5B4CD3D7DB3E13E2E8BD8418921EFD8E11C1F5559B43DC0BE78522FEE3F5FC5B"


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def client(sleeps):
    return CivitaiClient(base_url=BASE, sleep=sleeps.append, cache_ttl=0)


def qs(request) -> dict:
    return parse_qs(urlsplit(request.url).query, keep_blank_values=True)


def page(items, cursor=None):
    meta = {"currentPage": 1, "pageSize": len(items)}
    if cursor is not None:
        meta["nextCursor"] = cursor
        meta["nextPage"] = f"{API}/models?cursor={cursor}"
    return {"items": items, "metadata": meta}


def test_search_sends_repeated_array_keys_and_all_filters(client, requests_mock):
    requests_mock.get(f"{API}/models", json=page([]))
    list(
        client.models(
            query="detail",
            types=["LORA", "Checkpoint"],
            base_models=["SDXL 1.0", "Pony"],
            sort="Most Downloaded",
            period="Week",
            tag="style",
            username="someone",
            nsfw=True,
            primary_file_only=True,
            ids=[1, 2],
            allow_commercial_use=["Image", "Rent"],
            allow_derivatives=True,
            allow_no_credit=False,
            allow_different_license=True,
            limit=5,
        )
    )
    q = qs(requests_mock.last_request)
    assert q["types"] == ["LORA", "Checkpoint"]
    assert q["baseModels"] == ["SDXL 1.0", "Pony"]
    assert q["allowCommercialUse"] == ["Image", "Rent"]
    assert q["ids"] == ["1,2"]
    assert q["limit"] == ["5"]
    assert q["nsfw"] == ["true"] and q["primaryFileOnly"] == ["true"]
    assert q["allowNoCredit"] == ["false"] and q["allowDerivatives"] == ["true"]
    assert q["sort"] == ["Most Downloaded"] and q["period"] == ["Week"]
    assert q["query"] == ["detail"] and q["tag"] == ["style"] and q["username"] == ["someone"]
    assert "cursor" not in q and "page" not in q


def test_paging_goes_through_short_and_empty_pages(client, requests_mock):
    item = load("Little-God1983_DiffusionNexus__GET_models_2833924.json")
    pages = {
        None: page([dict(item, id=1), dict(item, id=2)], "c1"),
        "c1": page([], "c2"),
        "c2": page([dict(item, id=3)], "c3"),
        "c3": page([dict(item, id=4), dict(item, id=5)]),
    }

    def answer(request, context):
        cursor = qs(request).get("cursor", [None])[0]
        return pages[cursor]

    requests_mock.get(f"{API}/models", json=answer)
    assert [m.id for m in client.models(types="LORA")] == [1, 2, 3, 4, 5]
    assert requests_mock.call_count == 4
    assert all(qs(r)["types"] == ["LORA"] for r in requests_mock.request_history)


def test_paging_stops_at_limit(client, requests_mock):
    item = load("Little-God1983_DiffusionNexus__GET_models_2833924.json")
    requests_mock.get(f"{API}/models", json=page([dict(item, id=i) for i in range(3)], "next"))
    assert len(list(client.models(limit=2))) == 2
    assert requests_mock.call_count == 1
    assert qs(requests_mock.last_request)["limit"] == ["2"]


def test_paging_stops_on_repeated_cursor(client, requests_mock):
    requests_mock.get(f"{API}/models", json=page([], "same"))
    assert list(client.models()) == []
    assert requests_mock.call_count == 2


def test_numeric_cursor_from_2023_images(client, requests_mock):
    body = load("doc_examples/civitai-wiki-REST-API-Reference__GET_images_limit1.json")
    first = dict(body)
    last = {"items": body["items"], "metadata": {}}
    requests_mock.get(f"{API}/images", [{"json": first}, {"json": last}])
    images = list(client.images(model_id=7))
    assert len(images) == 2
    assert qs(requests_mock.last_request)["cursor"] == ["101"]
    assert images[0].nsfw_level == 1 and images[0].meta["seed"] == 234871805


def test_model_and_version_endpoints(client, requests_mock):
    requests_mock.get(f"{API}/models/2833924", json=load("Little-God1983_DiffusionNexus__GET_models_2833924.json"))
    version = load("willmiao_ComfyUI-Lora-Manager__GET_model-versions_1255556__client-augmented-creator.json")
    requests_mock.get(f"{API}/model-versions/1255556", json=version)
    model = client.model(2833924)
    assert model.name == "Mihaila Krea" and model.latest_version.id == 3198110
    v = client.model_version("1255556")
    assert v.trained_words == ["in the style of ppWhimsy"] and v.model.type == "LORA"
    assert v.primary_file().sha256 == "3202778C3EBE5CF7EBE5FC51561DEAE8611F4362036EB7C02EFA033C705E6240"


def test_version_by_hash_any_kind_upper_cased(client, requests_mock):
    requests_mock.get(f"{API}/model-versions/by-hash/C26973DE6B79", json={"id": 5})
    assert client.version_by_hash("c26973de6b79").id == 5


@pytest.mark.parametrize("bad", ["xyz", "12345", "", "G" * 64])
def test_version_by_hash_rejects_non_hashes_without_a_request(client, requests_mock, bad):
    with pytest.raises(BadRequest):
        client.version_by_hash(bad)
    assert requests_mock.call_count == 0


def test_bad_ids_rejected_locally(client, requests_mock):
    for bad in ("abc", "0", "-3", "99999999999"):
        with pytest.raises(BadRequest):
            client.model(bad)
    assert requests_mock.call_count == 0


def test_by_hash_batches_of_100_and_deduplicates(client, requests_mock):
    hashes = [f"{i:064X}" for i in range(250)] + [f"{0:064x}"]
    seen = []

    def answer(request, context):
        body = request.json()
        seen.append(len(body))
        return [{"id": int(h, 16), "files": [{"hashes": {"SHA256": h}}]} for h in body[:2]]

    requests_mock.post(f"{API}/model-versions/by-hash", json=answer)
    versions = client.versions_by_hashes(hashes)
    assert seen == [100, 100, 50]
    assert len(versions) == 6
    assert versions[0].file_by_sha256(f"{0:064X}") is not None


def test_by_hash_ids_batches_of_10000(client, requests_mock):
    seen = []

    def answer(request, context):
        seen.append(len(request.json()))
        return [{"modelVersionId": 1, "modelId": 2, "hash": request.json()[0].lower()}]

    requests_mock.post(f"{API}/model-versions/by-hash/ids", json=answer)
    matches = client.version_ids_by_hashes(f"{i:064X}" for i in range(10_001))
    assert seen == [10_000, 1]
    assert matches[0].model_version_id == 1 and matches[0].hash == f"{0:064X}"


def test_batch_lookup_needs_full_sha256(client, requests_mock):
    with pytest.raises(BadRequest, match="full SHA-256"):
        client.versions_by_hashes(["C26973DE6B79"])
    assert requests_mock.call_count == 0


def test_models_by_ids_batches_by_100(client, requests_mock):
    def answer(request, context):
        ids = qs(request)["ids"][0].split(",")
        return page([{"id": int(i), "name": f"m{i}"} for i in ids])

    requests_mock.get(f"{API}/models", json=answer)
    models = client.models_by_ids(range(1, 151))
    assert len(models) == 150 and requests_mock.call_count == 2
    assert qs(requests_mock.request_history[0])["nsfw"] == ["true"]


def test_creators_tags_enums(client, requests_mock):
    requests_mock.get(f"{API}/creators", json=load("doc_examples/civitai-wiki-REST-API-Reference__GET_creators_limit3.json"))
    requests_mock.get(f"{API}/tags", json=load("doc_examples/civitai-wiki-REST-API-Reference__GET_tags_limit3.json"))
    requests_mock.get(f"{API}/enums", json=load("willmiao_ComfyUI-Lora-Manager__GET_enums.json"))
    creators = list(client.creators(limit=3))
    assert [c.username for c in creators] == ["Civitai", "JustMaier", "maxhulker"]
    assert creators[0].model_count == 848
    tags = list(client.tags(query="comic", limit=2))
    assert [t.name for t in tags] == ["Pepe Larraz", "comic book"]
    assert qs(requests_mock.last_request) == {"query": ["comic"], "limit": ["2"]}
    assert "LORA" in client.enums()["ModelType"]


def test_creators_follow_next_page_when_there_is_no_cursor(client, requests_mock):
    body = load("doc_examples/civitai-wiki-REST-API-Reference__GET_creators_limit3.json")
    last = {"items": body["items"][:1], "metadata": {"currentPage": 2}}
    requests_mock.get(f"{API}/creators", [{"json": body}, {"json": last}])
    assert len(list(client.creators())) == 4
    assert qs(requests_mock.last_request)["page"] == ["2"]


def test_token_only_where_it_matters_and_only_to_civitai(client, requests_mock, monkeypatch):
    monkeypatch.setenv("CIVITAI_API_TOKEN", "sekrit")
    requests_mock.get(f"{API}/models", json=page([]))
    requests_mock.get(f"{API}/me", json={"username": "me"})
    list(client.models(query="x"))
    assert "Authorization" not in requests_mock.last_request.headers
    list(client.models(favorites=True))
    assert requests_mock.last_request.headers["Authorization"] == "Bearer sekrit"
    assert client.me()["username"] == "me"
    assert requests_mock.last_request.headers["Authorization"] == "Bearer sekrit"
    assert client.auth_headers("https://storage.example/file") == {}
    assert client.auth_headers(f"{BASE}/api/download/models/1") == {"Authorization": "Bearer sekrit"}


def test_token_never_in_error_text(client, requests_mock, monkeypatch):
    monkeypatch.setenv("CIVITAI_API_TOKEN", "sekrit")
    requests_mock.get(f"{API}/me", status_code=401, json={"error": "Unauthorized"})
    with pytest.raises(AuthRequired) as info:
        client.me()
    assert "sekrit" not in str(info.value) and "sekrit" not in repr(info.value.args)
    assert "CIVITAI_API_TOKEN" in str(info.value)


def test_user_agent_names_the_project(client, requests_mock):
    requests_mock.get(f"{API}/enums", json={})
    client.enums()
    agent = requests_mock.last_request.headers["User-Agent"]
    assert agent.startswith("civitai-companion/") and "Mozilla" not in agent


def test_retry_after_503_is_honoured(client, requests_mock, sleeps):
    requests_mock.get(
        f"{API}/models/1",
        [
            {"status_code": 503, "headers": {"Retry-After": "2"}, "json": {"error": "busy"}},
            {"json": {"id": 1, "name": "ok"}},
        ],
    )
    assert client.model(1).name == "ok"
    assert sleeps == [2.0]


def test_page_cap_429_is_never_retried(client, requests_mock, sleeps):
    requests_mock.get(f"{API}/images", status_code=429, json=load("errors/dreamfast_go-civitai-downloader_issue1__GET_images_page_cap__429.json"))
    with pytest.raises(PageLimit) as info:
        list(client.images())
    assert requests_mock.call_count == 1 and sleeps == []
    assert isinstance(info.value, ValueError) and "cursors" in str(info.value)


def test_real_429_is_retried_then_reported(client, requests_mock, sleeps):
    requests_mock.get(f"{API}/models/1", status_code=429, headers={"Retry-After": "1"}, text="<html>slow down</html>")
    with pytest.raises(RateLimited) as info:
        client.model(1)
    assert requests_mock.call_count == 5 and sleeps == [1.0] * 4
    assert info.value.retry_after == 1.0


def test_retry_after_beyond_cap_fails_fast(sleeps, requests_mock):
    client = CivitaiClient(base_url=BASE, sleep=sleeps.append, retry_after_cap=10)
    requests_mock.get(f"{API}/models/1", status_code=429, headers={"Retry-After": "3600"}, json={"error": "slow"})
    with pytest.raises(RateLimited, match="retry after 3600"):
        client.model(1)
    assert requests_mock.call_count == 1 and sleeps == []


def test_500_retried_with_backoff_then_server_error(client, requests_mock, sleeps):
    requests_mock.get(f"{API}/models", status_code=500, json=load("errors/civitai_civitai_issue926__GET_models__500.json"))
    with pytest.raises(ServerError) as info:
        list(client.models())
    assert requests_mock.call_count == 5 and len(sleeps) == 4
    assert sleeps == sorted(sleeps) and all(0 < s <= 8 for s in sleeps)
    assert "Cannot read properties of undefined" in str(info.value) and "after 5 tries" in str(info.value)


def test_connection_errors_retried_then_network_error(client, requests_mock, sleeps):
    requests_mock.get(f"{API}/models/1", exc=requests.ConnectionError("boom"))
    with pytest.raises(NetworkError) as info:
        client.model(1)
    assert requests_mock.call_count == 5
    assert isinstance(info.value, OSError)


def test_timeout_then_success(client, requests_mock):
    requests_mock.get(f"{API}/models/1", [{"exc": requests.ReadTimeout("slow")}, {"json": {"id": 1}}])
    assert client.model(1).id == 1


def test_400_is_not_retried(client, requests_mock):
    body = load("errors/zod_error_bodies_derived.json")["models?limit=500"]["body"]
    requests_mock.get(f"{API}/models", status_code=400, json=body)
    with pytest.raises(BadRequest, match=r"limit: Too big: expected number to be <=100"):
        list(client.models(page_size=500))
    assert requests_mock.call_count == 1


def test_html_404_is_an_unknown_route(client, requests_mock):
    requests_mock.get(f"{API}/models/5", status_code=404, headers={"Content-Type": "text/html"}, text="<!DOCTYPE html><html>404</html>")
    with pytest.raises(UnknownRoute, match="unknown API route /api/v1/models/5"):
        client.model(5)


def test_html_200_is_a_bad_response_not_a_traceback(client, requests_mock):
    requests_mock.get(f"{API}/enums", headers={"Content-Type": "text/html"}, text="<html>login</html>")
    with pytest.raises(OSError, match="got an HTML page"):
        client.enums()


def test_wrong_json_shape_is_a_civitai_error(client, requests_mock):
    requests_mock.get(f"{API}/models/1", json=["not", "an", "object"])
    requests_mock.get(f"{API}/models", json={"items": "nope"})
    requests_mock.get(f"{API}/model-versions/1", text="{not json")
    for call in (lambda: client.model(1), lambda: list(client.models()), lambda: client.model_version(1)):
        with pytest.raises(OSError):
            call()


def test_not_found_message_names_the_site(client, requests_mock):
    requests_mock.get(f"{API}/models/999999", status_code=404, json={"error": "No model with id 999999"})
    with pytest.raises(OSError) as info:
        client.model(999999)
    assert str(info.value) == f"no model with id 999999 on {BASE}"


def test_get_cache_avoids_repeat_requests(requests_mock):
    now = [0.0]
    client = CivitaiClient(base_url=BASE)
    client.cache = ResponseCache(ttl=300, clock=lambda: now[0])
    requests_mock.get(f"{API}/models/1", json={"id": 1})
    client.model(1)
    client.model(1)
    assert requests_mock.call_count == 1
    now[0] = 301
    client.model(1)
    assert requests_mock.call_count == 2


def test_base_url_read_when_used(requests_mock, monkeypatch):
    client = CivitaiClient(cache_ttl=0)
    monkeypatch.setenv("CIVITAI_BASE_URL", "https://mirror.test")
    requests_mock.get("https://mirror.test/api/v1/models/1", json={"id": 1})
    assert client.model(1).id == 1


def test_every_request_has_a_timeout(client, requests_mock):
    requests_mock.get(f"{API}/models/1", json={"id": 1})
    client.model(1)
    assert requests_mock.last_request.timeout is not None


def test_post_body_is_a_json_array(client, requests_mock):
    requests_mock.post(f"{API}/model-versions/by-hash", json=[])
    client.versions_by_hashes([SHA.lower()])
    assert json.loads(requests_mock.last_request.body) == [SHA]
