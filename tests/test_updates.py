"""Update checks on real Civitai answers: only a later release of the same thing is an update."""

from __future__ import annotations

import copy
from urllib.parse import parse_qs, urlsplit

import pytest

from civitai_companion.api import CivitaiClient, Model, ModelVersion
from civitai_companion.library.updates import base_family, check_updates, find_update, newer_version, version_number
from tests.civitai_fixtures import load_more as load

BASE = "https://civitai.example"
REALISTIC_VISION = "dfanr_CivitaiModelList__GET_models_list-item_4201_2023-07__python-reserialized.json"
ZOVYA = "dfanr_CivitaiModelList__GET_models_list-item_8124_2023-07__python-reserialized.json"
ILLUSTRIOUS_2025 = "si-ryao_civitai-downloader-cli__GET_models_1580878.json"


def shared(name) -> Model:
    return Model.from_api(load(name))


def more(model_id) -> Model:
    return Model.from_api(load(model_id))


def by_name(model: Model, name: str) -> ModelVersion:
    return next(v for v in model.model_versions if v.name == name)


def update_name(model: Model, installed: str):
    found = newer_version(model, by_name(model, installed))
    return found.name if found else None


def test_inpainting_variant_published_later_is_no_update():
    tfm = more(27777)  # "Inpainting" (2023-06-22) is listed before "Genesis" (2023-04-01)
    assert update_name(tfm, "Genesis") is None
    assert update_name(tfm, "Inpainting") is None


def test_no_vae_variant_of_the_same_release_is_no_update():
    afterschool = more(12585)  # "VAE baked" then, a week later, "No VAE"
    assert update_name(afterschool, "VAE baked") is None


def test_hand_ordered_versions_find_the_latest_release_of_the_same_kind():
    rv = shared(REALISTIC_VISION)  # 9 versions, inpainting and noVAE variants interleaved, no index
    assert update_name(rv, "V1.2") == "v3.0 (VAE)"
    assert update_name(rv, "V2.0 (noVAE)") == "v3.0 (noVAE)"  # the installed VAE flavour is kept
    assert update_name(rv, "V1.3-inpainting") == "v3.0-inpainting (VAE)"
    assert update_name(rv, "v3.0 (VAE)") is None  # "v3.0 (noVAE)" a day later is the same release
    assert update_name(rv, "v3.0-inpainting (VAE)") is None


def test_a_later_upload_with_the_same_number_is_the_same_release():
    zovya = shared(ZOVYA)
    assert update_name(zovya, "V3") is None  # "V3+VAE" came ten days later
    assert update_name(zovya, "V2") == "V3+VAE"
    assert update_name(zovya, "V2 Inpaint") == "V3 Inpainting"


def test_an_old_number_uploaded_later_is_no_update():
    quick = more(44056)  # "v1.0" was uploaded 16 minutes after "v2.0"
    assert update_name(quick, "v2.0") is None
    assert update_name(quick, "v1.0") == "v2.0"


def test_another_base_model_is_reported_apart_not_as_newer():
    zovya = shared(ZOVYA)
    update = find_update(zovya, by_name(zovya, "SD 2.1 768 V1"))
    assert update.newer is None
    assert update.other_base_json() == [{"modelVersionId": 87886, "versionName": "V3+VAE", "baseModel": "SD 1.5"}]
    marika = more(44741)  # v1.0 for SD 1.5, v2.0 filed under "Other"
    update = find_update(marika, by_name(marika, "v1.0"))
    assert update.newer is None and [v.id for v in update.other_base] == [105177]


def test_a_training_data_only_version_is_never_an_update():
    succubus = more(33780)  # v2.0's only file is its training data, flagged primary
    assert update_name(succubus, "v2.0") == "v4.0"
    disco = more(16048)
    assert update_name(disco, "v1") is None  # the later "Training Data" version has no model file


def test_index_order_of_2025_answers_with_gaps():
    model = shared(ILLUSTRIOUS_2025)  # index 0 and 3: versions without files are dropped from the list
    assert update_name(model, "V1") == "v1.5"
    assert update_name(model, "v1.5") is None


def test_index_breaks_a_tie_of_dates():
    body = load(ILLUSTRIOUS_2025)
    for v in body["modelVersions"]:
        v["publishedAt"] = v["createdAt"] = "2025-07-02T19:13:58.758Z"
        v["name"] = {"v1.5": "Anime", "V1": "Semi"}[v["name"]]  # no numbers: the dates and index decide
    model = Model.from_api(body)
    assert update_name(model, "Semi") == "Anime"  # index 0 beats index 3
    assert update_name(model, "Anime") is None


def test_published_at_else_created_at_decides_for_an_unlisted_version():
    model = shared(ILLUSTRIOUS_2025)
    gone = ModelVersion.from_api({"id": 1, "modelId": model.id, "name": "beta", "baseModel": "Illustrious",
                                  "createdAt": "2025-01-01T00:00:00.000Z"})
    assert newer_version(model, gone).id == 1967584
    late = ModelVersion.from_api({"id": 1, "modelId": model.id, "name": "beta", "baseModel": "Illustrious",
                                  "publishedAt": "2025-09-01T00:00:00.000Z"})
    assert newer_version(model, late) is None


def test_base_families_from_the_real_enum_list():
    enums = load("willmiao_ComfyUI-Lora-Manager__GET_enums.json")["BaseModel"]
    assert {"Illustrious", "SDXL 1.0", "Wan Video 2.2 TI2V-5B", "Wan Video 2.2 I2V-A14B"} <= set(enums)
    assert base_family("Illustrious") != base_family("SDXL 1.0")
    assert base_family("Wan Video 2.2 TI2V-5B") != base_family("Wan Video 2.2 I2V-A14B")
    assert base_family("SDXL Lightning") == base_family("SDXL 1.0") and base_family("SD 1.4") == base_family("SD 1.5")
    assert base_family("Pony") != base_family("Pony V7")
    assert len({base_family(b) for b in enums}) > 20  # most bases stand alone


def test_illustrious_lora_is_not_updated_by_an_sdxl_release():
    body = load(ILLUSTRIOUS_2025)
    sdxl = copy.deepcopy(body["modelVersions"][0])
    sdxl.update(id=2100000, index=0, name="v2.0 SDXL", baseModel="SDXL 1.0", publishedAt="2025-08-01T00:00:00.000Z")
    body["modelVersions"].insert(0, sdxl)
    model = Model.from_api(body)
    update = find_update(model, by_name(model, "V1"))
    assert update.newer.name == "v1.5"
    assert update.other_base_json() == [{"modelVersionId": 2100000, "versionName": "v2.0 SDXL", "baseModel": "SDXL 1.0"}]


@pytest.mark.parametrize("name, number", [("v3.0 (noVAE)", (3,)), ("V3+VAE", (3,)), ("8.0", (8,)), ("v1.5", (1, 5)),
                                          ("Genesis", None), ("SD 2.1 768 V1", (1,)), ("VAE baked", None)])
def test_version_numbers_in_real_names(name, number):
    assert version_number(name) == number


def _models_answer(request, context):
    template = load(ILLUSTRIOUS_2025)
    ids = [int(i) for i in parse_qs(urlsplit(request.url).query)["ids"][0].split(",")]
    items = []
    for i in ids:
        item = copy.deepcopy(template)
        item["id"] = i
        item["modelVersions"][0]["id"], item["modelVersions"][1]["id"] = i * 10 + 1, i * 10
        items.append(item)
    return {"items": items, "metadata": {}}


def test_check_updates_asks_100_models_per_request(requests_mock):
    requests_mock.get(f"{BASE}/api/v1/models", json=_models_answer)
    versions = [ModelVersion.from_api({"id": i * 10, "modelId": i}) for i in range(1, 151)]
    versions.append(ModelVersion.from_api({"id": 11, "modelId": 1}))
    newer, models = check_updates(CivitaiClient(base_url=BASE), versions)
    calls = [parse_qs(urlsplit(r.url).query)["ids"][0].split(",") for r in requests_mock.request_history]
    assert [len(c) for c in calls] == [100, 50]
    assert len(models) == 150
    assert newer[10].id == 11 and newer[1500].id == 1501
    assert 11 not in newer  # already the newest


def test_failed_update_request_claims_nothing(requests_mock):
    requests_mock.get(f"{BASE}/api/v1/models", status_code=400, json={"error": "bad"})
    newer, models = check_updates(CivitaiClient(base_url=BASE), [ModelVersion.from_api({"id": 10, "modelId": 1})])
    assert newer == {} and models == {}


def test_scan_of_a_library_of_hand_ordered_models_reports_only_real_updates(requests_mock, tmp_path):
    """Three installed files of two recorded models; Civitai answers with those recorded bodies."""
    import hashlib
    import json

    from civitai_companion.library.hash_cache import HashCache
    from civitai_companion.library.resolve import UnknownCache
    from civitai_companion.library.scanner import entries_for_paths, scan

    catalog = {4201: load(REALISTIC_VISION), 8124: load(ZOVYA)}
    installed = {"rv_v30_vae.safetensors": (4201, "v3.0 (VAE)"), "rv_v12.safetensors": (4201, "V1.2"),
                 "zovya_sd21_v1.safetensors": (8124, "SD 2.1 768 V1")}
    answers = {}
    for name, (model_id, version_name) in installed.items():
        data = name.encode() * 100
        (tmp_path / name).write_bytes(data)
        sha = hashlib.sha256(data).hexdigest().upper()
        body = catalog[model_id]
        listed = next(v for v in body["modelVersions"] if v["name"] == version_name)
        listed["files"][0]["hashes"]["SHA256"] = sha  # the local file is that version's file
        answers[sha] = {**copy.deepcopy(listed), "modelId": model_id,
                        "model": {"name": body["name"], "type": body["type"]}}
    requests_mock.post(f"{BASE}/api/v1/model-versions/by-hash",
                       json=lambda request, context: [answers[h] for h in json.loads(request.body) if h in answers])
    requests_mock.get(f"{BASE}/api/v1/models", json={"items": list(catalog.values()), "metadata": {}})
    with HashCache(tmp_path / "hashes.sqlite") as cache:
        report = scan(entries_for_paths(sorted(tmp_path.glob("*.safetensors"))), client=CivitaiClient(base_url=BASE),
                      cache=cache, index=False, sidecars=False,
                      unknown_cache=UnknownCache(tmp_path / "unknown.sqlite"))
    rows = {e.path.name: e.to_json() for e in report.entries}
    assert all(r["status"] == "resolved" for r in rows.values())
    assert "newerVersionId" not in rows["rv_v30_vae.safetensors"]  # noVAE and inpainting came later: variants
    assert rows["rv_v12.safetensors"]["newerVersionId"] == 105674  # v3.0 (VAE)
    assert "newerVersionId" not in rows["zovya_sd21_v1.safetensors"]
    assert rows["zovya_sd21_v1.safetensors"]["otherBaseVersions"] == [
        {"modelVersionId": 87886, "versionName": "V3+VAE", "baseModel": "SD 1.5"}]


def test_a_diffusers_upload_is_no_update_of_the_single_file_model():
    body = load(27777)
    genesis = body["modelVersions"][1]
    later = copy.deepcopy(genesis)
    later.update(id=1, name="Diffusers", createdAt="2023-07-01T00:00:00.000Z")
    for f in later["files"]:
        f["metadata"]["format"] = "Diffusers"
    body["modelVersions"].insert(0, later)  # how creators add a diffusers-format upload after the release
    model = Model.from_api(body)
    assert update_name(model, "Genesis") is None


def test_cli_updates_and_scan_report_another_base_apart(fake_civitai, capsys, tmp_path):
    import json

    from civitai_companion.cli import main

    model = fake_civitai.add_model(name="Illustrious Lora", versions=2, base_model="Illustrious")
    newer, old = model["modelVersions"]
    newer["baseModel"] = "SDXL 1.0"  # the creator's later release is for another base model
    (tmp_path / "lora.safetensors").write_bytes(fake_civitai.file_bytes(old["files"][0]["id"]))

    assert main(["updates", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["updates", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("no updates") and f"also for SDXL 1.0: {newer['name']} ({newer['id']})" in out
    assert main(["scan", str(tmp_path), "--json", "--no-sidecars"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert "newerVersionId" not in row
    assert row["otherBaseVersions"] == [{"modelVersionId": newer["id"], "versionName": newer["name"],
                                         "baseModel": "SDXL 1.0"}]
    assert main(["library", "--json"]) == 0  # the library index keeps both, answered without Civitai
    [stored] = json.loads(capsys.readouterr().out)
    assert "newerVersionId" not in stored and stored["otherBaseVersions"] == row["otherBaseVersions"]
    assert main(["scan", str(tmp_path), "--json", "--no-sidecars", "--no-updates"]) == 0
    [again] = json.loads(capsys.readouterr().out)  # no check this time: what the last one found is carried
    assert again["otherBaseVersions"] == row["otherBaseVersions"]
