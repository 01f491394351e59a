"""Every real recorded response parses, and mutated shapes never make the parser raise."""

from __future__ import annotations

import copy
import json

import pytest
import requests_mock as rm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from civitai_companion.api import CivitaiClient, CivitaiError, Image, Model, ModelVersion, Page
from civitai_companion.api.types import commercial_use, nsfw_level

from .civitai_fixtures import MODEL_FIXTURES, VERSION_FIXTURES, all_json, load


@pytest.mark.parametrize("name", MODEL_FIXTURES)
def test_every_model_fixture_parses(name):
    raw = load(name)
    model = Model.from_api(raw)
    assert model.id == raw["id"] and model.name == raw["name"]
    assert model.raw is raw
    assert len(model.model_versions) == len(raw["modelVersions"])
    for version, raw_version in zip(model.model_versions, raw["modelVersions"]):
        assert version.id == raw_version["id"] and version.model_id == model.id
        assert len(version.files) == len(raw_version.get("files", []))
        for f in version.files:
            assert f.sha256 is None or len(f.sha256) == 64


@pytest.mark.parametrize("name", VERSION_FIXTURES)
def test_every_version_fixture_parses(name):
    raw = load(name)
    version = ModelVersion.from_api(raw)
    assert version.id == raw["id"] and version.model_id == raw["modelId"]
    assert version.primary_file() is not None
    assert version.trained_words == raw["trainedWords"]


def test_list_fixture_parses_as_page():
    raw = load("doc_examples/civitai-wiki-REST-API-Reference__GET_models_limit3_TextualInversion.json")
    page = Page.from_api(raw, Model)
    assert len(page.items) == len(raw["items"]) and all(m.type == "TextualInversion" for m in page.items)


def test_all_json_fixtures_parse_under_every_type():
    files = all_json()
    if not files:
        pytest.skip("real fixtures not present beside the repository")
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        for cls in (Model, ModelVersion, Image):
            cls.from_api(data)
        Page.from_api(data, Model)


def test_2023_shapes():
    model = Model.from_api(load("dfanr_CivitaiModelList__GET_models_list-item_13941_2023-07__python-reserialized.json"))
    assert isinstance(model.allow_commercial_use, list) and model.allow_commercial_use
    images = [i for v in model.model_versions for i in v.images]
    assert images and all(isinstance(i.nsfw_level, int) for i in images)


def test_checkpoint_with_vae_and_pruned_files():
    model = Model.from_api(load("dfanr_CivitaiModelList__GET_models_list-item_4201_2023-07__python-reserialized.json"))
    types = {f.type for v in model.model_versions for f in v.files}
    assert {"Model", "VAE"} <= types
    assert all(v.primary_file() is not None for v in model.model_versions)


def test_non_primary_file_omits_primary_in_lists():
    model = Model.from_api(load("dfanr_CivitaiModelList__GET_models_list-item_8124_2023-07__python-reserialized.json"))
    files = [f for v in model.model_versions for f in v.files]
    assert any(f.primary is None for f in files) and any(f.primary for f in files)


def test_enums_fixture_shape():
    enums = load("willmiao_ComfyUI-Lora-Manager__GET_enums.json")
    assert "LORA" in enums["ModelType"]


@pytest.mark.parametrize(
    "value, expected",
    [("Rent", ["Rent"]), ("{Image,Rent}", ["Image", "Rent"]), (["Image", "RentCivit"], ["Image", "RentCivit"]), ([], []), (None, []), (5, [])],
)
def test_commercial_use_shapes(value, expected):
    assert commercial_use(value) == expected


@pytest.mark.parametrize("value, expected", [("None", 1), ("Soft", 2), ("Mature", 4), ("X", 8), (16, 16), ("weird", None), (None, None)])
def test_nsfw_levels(value, expected):
    assert nsfw_level(value) == expected


def test_unknown_enums_and_nulls_are_kept():
    raw = {
        "id": 1,
        "type": "Sculpture",
        "stats": {"downloadCount": None, "thumbsUpCount": None},
        "modelVersions": [{"id": 2, "baseModel": "Flux.9 Z", "files": [{"id": 3, "hashes": {}}], "images": None}],
    }
    model = Model.from_api(raw)
    assert model.type == "Sculpture" and model.creator is None
    assert model.stats.download_count is None
    assert model.model_versions[0].base_model == "Flux.9 Z"
    assert model.model_versions[0].files[0].sha256 is None


def test_video_images_are_recognised():
    assert Image.from_api({"type": "video", "url": "https://x/a.mp4"}).is_video
    assert Image.from_api({"url": "https://x/a.webm?x=1"}).is_video
    assert not Image.from_api({"type": "image", "url": "https://x/a.jpeg"}).is_video


def test_early_access_detected():
    v = ModelVersion.from_api({"id": 1, "paidAccess": {"permanent": False, "endsAt": "2026-12-01T00:00:00Z"}})
    assert v.is_early_access and v.early_access_ends_at == "2026-12-01T00:00:00Z"


# -- mutations ------------------------------------------------------------------------------------------------
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8))
json_any = st.recursive(json_leaf, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)), max_leaves=8)


def _paths(node, prefix=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node[:3]):
            yield prefix + (i,)
            yield from _paths(v, prefix + (i,))


BASES = {name: load(name) for name in MODEL_FIXTURES[:3] + VERSION_FIXTURES[:1]} if all_json() else {}
ALL_PATHS = {name: list(_paths(doc)) for name, doc in BASES.items()}


@st.composite
def mutated(draw):
    if not BASES:
        pytest.skip("real fixtures not present")
    name = draw(st.sampled_from(sorted(BASES)))
    doc = copy.deepcopy(BASES[name])
    for _ in range(draw(st.integers(1, 6))):
        path = draw(st.sampled_from(ALL_PATHS[name]))
        parent = doc
        try:
            for key in path[:-1]:
                parent = parent[key]
            action = draw(st.sampled_from(["delete", "null", "replace"]))
            if action == "delete":
                del parent[path[-1]]
            else:
                parent[path[-1]] = None if action == "null" else draw(json_any)
        except (KeyError, IndexError, TypeError):
            continue
    return doc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_shapes_never_raise(doc):
    Model.from_api(doc)
    ModelVersion.from_api(doc)
    Page.from_api({"items": [doc], "metadata": doc.get("stats")}, Model)


pages = st.fixed_dictionaries(
    {"items": st.lists(st.one_of(mutated(), json_any), max_size=2)},
    optional={"metadata": st.fixed_dictionaries({}, optional={"nextCursor": json_any, "nextPage": st.one_of(json_any, st.text(max_size=30))})},
)
SECRET = "s3cr3t-T0KEN-value-42"  # longer than any generated string, so only a leak can put it in a message


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(json_any, mutated(), st.builds(lambda doc: {"items": [doc], "metadata": doc}, mutated()), pages),
    status=st.sampled_from([200, 200, 200, 400, 401, 403, 404, 408, 410, 429, 451, 500, 503]),
    html=st.booleans(),
)
def test_client_raises_only_its_own_errors(body, status, html):
    client = CivitaiClient(base_url="https://civitai.test", token=SECRET, sleep=lambda s: None, cache_ttl=0, max_tries=1)
    answer = {"text": "<!DOCTYPE html><html>" + json.dumps(body) + "</html>", "headers": {"Content-Type": "text/html"}} if html else {"json": body}
    with rm.Mocker() as m:
        m.register_uri(rm.ANY, rm.ANY, status_code=status, **answer)
        calls = [
            lambda: client.model(1),
            lambda: client.model_version(1),
            lambda: client.version_by_hash("A" * 12),
            lambda: list(client.models(limit=3, favorites=True)),
            lambda: list(client.images(limit=3)),
            lambda: list(client.creators(limit=3)),
            lambda: list(client.tags(limit=3)),
            lambda: client.enums(),
            lambda: client.me(),
            lambda: client.versions_by_hashes(["A" * 64]),
            lambda: client.version_ids_by_hashes(["A" * 64]),
        ]
        for call in calls:
            try:
                call()
            except CivitaiError as exc:
                assert "\n" not in str(exc) and SECRET not in str(exc)
