"""Update checks: which installed versions have a newer one, in batched /models?ids= requests."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from civitai_companion.api import CivitaiClient, Model, ModelVersion
from civitai_companion.library.updates import check_updates, newer_version

BASE = "https://civitai.example"


def model(model_id, versions):
    return Model.from_api({"id": model_id, "name": f"m{model_id}", "modelVersions": versions})


def installed(version_id, model_id=1, published=None):
    return ModelVersion.from_api({"id": version_id, "modelId": model_id, "publishedAt": published})


def test_lower_index_is_newer():
    m = model(1, [{"id": 30, "index": 0, "name": "v3"}, {"id": 20, "index": 1}, {"id": 10, "index": 2}])
    assert newer_version(m, installed(20)).id == 30
    assert newer_version(m, installed(30)) is None


def test_newest_is_reported_even_for_another_base_model():
    m = model(1, [{"id": 30, "index": 0, "baseModel": "SDXL 1.0"}, {"id": 20, "index": 1, "baseModel": "SD 1.5"}])
    assert newer_version(m, installed(20)).base_model == "SDXL 1.0"


def test_published_date_decides_when_the_installed_version_is_not_listed():
    m = model(1, [{"id": 30, "index": 0, "publishedAt": "2025-03-01T00:00:00.000Z"}])
    assert newer_version(m, installed(20, published="2025-01-01T00:00:00.000Z")).id == 30
    assert newer_version(m, installed(20, published="2025-06-01T00:00:00.000Z")) is None
    assert newer_version(m, installed(20)) is None  # nothing to compare: no claim


def _models_answer(request, context):
    ids = [int(i) for i in parse_qs(urlsplit(request.url).query)["ids"][0].split(",")]
    items = [{"id": i, "name": f"m{i}", "modelVersions": [{"id": i * 10 + 1, "index": 0}, {"id": i * 10, "index": 1}]}
             for i in ids]
    return {"items": items, "metadata": {}}


def test_check_updates_asks_100_models_per_request(requests_mock):
    requests_mock.get(f"{BASE}/api/v1/models", json=_models_answer)
    versions = [installed(i * 10, model_id=i) for i in range(1, 151)] + [installed(11, model_id=1)]
    newer, models = check_updates(CivitaiClient(base_url=BASE), versions)
    calls = [parse_qs(urlsplit(r.url).query)["ids"][0].split(",") for r in requests_mock.request_history]
    assert [len(c) for c in calls] == [100, 50]
    assert len(models) == 150
    assert newer[10].id == 11 and newer[1500].id == 1501
    assert 11 not in newer  # already the newest


def test_failed_update_request_claims_nothing(requests_mock):
    requests_mock.get(f"{BASE}/api/v1/models", status_code=400, json={"error": "bad"})
    newer, models = check_updates(CivitaiClient(base_url=BASE), [installed(10, model_id=1)])
    assert newer == {} and models == {}
