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


# -- every error mapping through the client --------------------------------------------------------------------
HTML = {"Content-Type": "text/html; charset=utf-8"}


@pytest.mark.parametrize(
    "status, body, headers, expected, words",
    [
        (400, {"error": "bad sort"}, {}, "BadRequest", "bad request: bad sort"),
        (401, {"error": "Unauthorized"}, {}, "AuthRequired", "login required"),
        (401, {"error": "Unauthorized", "message": "The creator has disabled downloads on this file"}, {}, "DownloadsDisabled", "disabled downloads"),
        (403, {"error": "Early Access", "deadline": "2026-12-01T00:00:00Z", "message": "wait"}, {}, "EarlyAccess", "until 1 Dec 2026"),
        (403, {"error": "nope"}, {}, "Forbidden", "forbidden: nope"),
        (404, {"error": "No model with id 5"}, {}, "NotFound", "no model with id 5 on"),
        (404, "<!DOCTYPE html><html><body>404</body></html>", HTML, "UnknownRoute", "unknown API route /api/v1/models/5"),
        (410, {"error": "archived"}, {}, "Archived", "archived"),
        (429, {"error": "You've requested too many pages, please use cursors instead"}, {}, "PageLimit", "cursors"),
        (429, "<html>slow down</html>", HTML, "RateLimited", "rate limited"),
        (451, {"error": "blocked", "code": "REGION_BLOCKED"}, {}, "RegionBlocked", "blocked in your region"),
        (500, {"message": "An unexpected error occurred", "error": "boom"}, {}, "ServerError", "An unexpected error occurred: boom"),
        (503, {"error": "Search is overloaded"}, {"Retry-After": "2"}, "RateLimited", "retry after 2 s"),
        (418, {"error": "teapot"}, {}, "CivitaiError", "HTTP 418"),
    ],
)
def test_every_status_maps_to_its_error_through_the_client(client, requests_mock, status, body, headers, expected, words):
    from civitai_companion.api import errors

    kw = {"text": body} if isinstance(body, str) else {"json": body}
    requests_mock.get(f"{API}/models/5", status_code=status, headers=headers, **kw)
    with pytest.raises(errors.CivitaiError) as info:
        client.model(5)
    assert type(info.value).__name__ == expected
    assert words in str(info.value) and "\n" not in str(info.value)
    assert info.value.status == status


@pytest.mark.parametrize("status, tries", [(400, 1), (401, 1), (404, 1), (410, 1), (408, 5), (502, 5), (504, 5)])
def test_only_408_429_and_5xx_are_retried(client, requests_mock, sleeps, status, tries):
    requests_mock.get(f"{API}/models/1", status_code=status, json={"error": "x"})
    with pytest.raises(OSError):
        client.model(1)
    assert requests_mock.call_count == tries and len(sleeps) == tries - 1


def test_never_more_than_five_tries(requests_mock, sleeps):
    client = CivitaiClient(base_url=BASE, sleep=sleeps.append, max_tries=50, cache_ttl=0)
    requests_mock.get(f"{API}/models/1", status_code=503, json={"error": "busy"})
    with pytest.raises(RateLimited):
        client.model(1)
    assert requests_mock.call_count == 5


def test_retry_after_as_an_http_date_is_understood(client, requests_mock, sleeps):
    from email.utils import format_datetime
    from datetime import datetime, timedelta, timezone

    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    requests_mock.get(f"{API}/models/1", [{"status_code": 429, "headers": {"Retry-After": when}, "json": {"error": "slow"}}, {"json": {"id": 1}}])
    assert client.model(1).id == 1
    assert len(sleeps) == 1 and 20 <= sleeps[0] <= 31


def test_body_cut_mid_transfer_is_retried(client, requests_mock):
    requests_mock.get(f"{API}/models/1", [{"exc": requests.exceptions.ChunkedEncodingError("cut")}, {"json": {"id": 1}}])
    assert client.model(1).id == 1
    assert requests_mock.call_count == 2


def test_invalid_base_url_is_a_one_line_usage_error(requests_mock):
    client = CivitaiClient(base_url="civitai.com", cache_ttl=0)
    with pytest.raises(BadRequest) as info:
        client.model(1)
    assert "not a valid URL" in str(info.value) and "the base URL must look like" in str(info.value)
    assert requests_mock.call_count == 0


def test_post_endpoints_are_retried_on_503(client, requests_mock, sleeps):
    requests_mock.post(f"{API}/model-versions/by-hash", [{"status_code": 503, "json": {"error": "busy"}}, {"json": [{"id": 9}]}])
    assert [v.id for v in client.versions_by_hashes([SHA])] == [9]
    assert len(sleeps) == 1


# -- paging edge cases -----------------------------------------------------------------------------------------
def test_models_never_follow_a_page_number(client, requests_mock):
    """A 2023-style nextPage (page=2, no cursor) on /models would hit the 1000-item page cap: stop instead."""
    first = {"items": [{"id": 1}], "metadata": {"currentPage": 1, "nextPage": f"{API}/models?limit=1&page=2"}}
    requests_mock.get(f"{API}/models", json=first)
    assert [m.id for m in client.models()] == [1]
    assert requests_mock.call_count == 1


def test_models_next_page_with_cursor_drops_the_page_number(client, requests_mock):
    requests_mock.get(
        f"{API}/models",
        [
            {"json": {"items": [{"id": 1}], "metadata": {"nextPage": f"{API}/models?types=LORA&page=1&cursor=abc"}}},
            {"json": {"items": [{"id": 2}], "metadata": {}}},
        ],
    )
    assert [m.id for m in client.models(types="LORA")] == [1, 2]
    second = qs(requests_mock.last_request)
    assert second["cursor"] == ["abc"] and "page" not in second and second["types"] == ["LORA"]


@pytest.mark.parametrize("cursor", [{"a": 1}, ["x"], True, ""])
def test_a_cursor_that_is_not_a_string_or_number_ends_the_walk(client, requests_mock, cursor):
    requests_mock.get(f"{API}/models", json={"items": [{"id": 1}], "metadata": {"nextCursor": cursor}})
    assert [m.id for m in client.models()] == [1]
    assert requests_mock.call_count == 1


def test_an_unparseable_next_page_ends_the_walk(client, requests_mock):
    requests_mock.get(f"{API}/creators", json={"items": [{"username": "a"}], "metadata": {"nextPage": "http://[broken"}})
    assert [c.username for c in client.creators()] == ["a"]


def test_a_limit_of_zero_sends_nothing(client, requests_mock):
    assert list(client.models(limit=0)) == []
    assert requests_mock.call_count == 0


def test_models_by_ids_rejects_junk_ids_locally(client, requests_mock):
    with pytest.raises(BadRequest):
        client.models_by_ids([1, "abc"])
    assert requests_mock.call_count == 0


def test_images_send_every_filter(client, requests_mock):
    requests_mock.get(f"{API}/images", json={"items": [], "metadata": {}})
    list(client.images(model_id=1, model_version_id=2, post_id=3, username="u", nsfw="Mature", sort="Newest", period="Week", with_meta=True, limit=7))
    assert qs(requests_mock.last_request) == {
        "limit": ["7"], "modelId": ["1"], "modelVersionId": ["2"], "postId": ["3"], "username": ["u"],
        "nsfw": ["Mature"], "sort": ["Newest"], "period": ["Week"], "withMeta": ["true"],
    }


def test_deeply_nested_json_is_a_bad_response(client, requests_mock):
    requests_mock.get(f"{API}/enums", text="[" * 100_000 + "]" * 100_000)
    with pytest.raises(OSError, match="invalid JSON"):
        client.enums()


# -- the token -------------------------------------------------------------------------------------------------
def test_hidden_filter_sends_the_token(client, requests_mock, monkeypatch):
    monkeypatch.setenv("CIVITAI_API_TOKEN", "sekrit")
    requests_mock.get(f"{API}/models", json=page([]))
    list(client.models(hidden=True))
    assert qs(requests_mock.last_request)["hidden"] == ["true"]
    assert requests_mock.last_request.headers["Authorization"] == "Bearer sekrit"


def test_token_echoed_by_the_server_is_scrubbed_from_errors(client, requests_mock, monkeypatch, caplog):
    monkeypatch.setenv("CIVITAI_API_TOKEN", "sekrit-123")
    requests_mock.get(f"{API}/me", [{"status_code": 503, "json": {"error": "busy for sekrit-123"}}, {"status_code": 401, "json": {"error": "bad key sekrit-123"}}])
    with caplog.at_level("DEBUG"), pytest.raises(AuthRequired) as info:
        client.me()
    assert "sekrit" not in str(info.value) and "sekrit" not in (info.value.server_message or "")
    assert "sekrit" not in repr(info.value.args) and "sekrit" not in caplog.text
    assert "bad key ***" in str(info.value)


@pytest.mark.parametrize("token", ["tok\u2019en", "two words", "line\nbreak"])
def test_a_token_that_cannot_be_sent_is_a_clear_error_without_the_token(client, requests_mock, monkeypatch, token):
    monkeypatch.setenv("CIVITAI_API_TOKEN", token)
    with pytest.raises(AuthRequired) as info:
        client.me()
    assert token.strip() not in str(info.value) and "CIVITAI_API_TOKEN" in str(info.value)
    assert requests_mock.call_count == 0


def test_redirect_to_another_host_drops_the_token(client, requests_mock, monkeypatch):
    monkeypatch.setenv("CIVITAI_API_TOKEN", "sekrit")
    requests_mock.get(f"{API}/me", status_code=302, headers={"Location": "https://elsewhere.test/me"})
    requests_mock.get("https://elsewhere.test/me", json={"username": "x"})
    client.me()
    assert requests_mock.request_history[0].headers["Authorization"] == "Bearer sekrit"
    assert "Authorization" not in requests_mock.last_request.headers


def test_token_goes_nowhere_when_base_url_is_another_host(requests_mock, monkeypatch):
    monkeypatch.setenv("CIVITAI_API_TOKEN", "sekrit")
    client = CivitaiClient(base_url=BASE, cache_ttl=0)
    assert client.auth_headers("https://civitai.test.evil.example/api/v1/me") == {}
    assert client.auth_headers("https://civitai.test:8443/api/v1/me") == {}


# -- the response cache ------------------------------------------------------------------------------------------
def test_cache_is_per_token_and_never_keyed_on_the_token_text(requests_mock, monkeypatch):
    client = CivitaiClient(base_url=BASE)
    requests_mock.get(f"{API}/models", json=page([{"id": 1}]))
    monkeypatch.setenv("CIVITAI_API_TOKEN", "alice-token")
    list(client.models(favorites=True))
    list(client.models(favorites=True))
    assert requests_mock.call_count == 1
    monkeypatch.setenv("CIVITAI_API_TOKEN", "bob-token")
    list(client.models(favorites=True))
    assert requests_mock.call_count == 2
    assert "alice-token" not in repr(list(client.cache._data)) and "bob-token" not in repr(list(client.cache._data))


def test_cache_keys_on_the_query(requests_mock):
    client = CivitaiClient(base_url=BASE)
    requests_mock.get(f"{API}/models", json=page([]))
    list(client.models(types="LORA"))
    list(client.models(types="Checkpoint"))
    list(client.models(types="LORA"))
    assert requests_mock.call_count == 2


def test_cache_skips_posts_me_and_errors(requests_mock, monkeypatch):
    monkeypatch.setenv("CIVITAI_API_TOKEN", "sekrit")
    client = CivitaiClient(base_url=BASE, sleep=lambda s: None)
    requests_mock.post(f"{API}/model-versions/by-hash", json=[])
    requests_mock.get(f"{API}/me", json={"username": "me"})
    requests_mock.get(f"{API}/models/1", [{"status_code": 404, "json": {"error": "No model"}}, {"json": {"id": 1}}])
    for _ in range(2):
        client.versions_by_hashes([SHA])
        client.me()
    with pytest.raises(OSError):
        client.model(1)
    assert client.model(1).id == 1
    assert requests_mock.call_count == 6


def test_cache_default_ttl_is_civitais_300_seconds():
    assert CivitaiClient().cache.ttl == 300
