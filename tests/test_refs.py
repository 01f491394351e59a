"""What users type to name a version: ids, AIRs and Civitai URLs."""

from __future__ import annotations

import pytest

from civitai_companion.api import BadRequest, CivitaiClient
from civitai_companion.refs import Ref, parse_ref, resolve_version


@pytest.mark.parametrize("text, version_id, model_id", [
    ("456", 456, None),
    ("  456 ", 456, None),
    ("urn:air:sdxl:lora:civitai:123@456", 456, 123),
    ("urn:air:flux1:checkpoint:civitai:123@456.safetensors", 456, 123),
    ("URN:AIR:SDXL:LORA:CIVITAI:123@456", 456, 123),
    ("civitai:123@456", 456, 123),
    ("urn:air:sdxl:lora:civitai:123", None, 123),
    ("https://civitai.com/models/123?modelVersionId=456", 456, 123),
    ("https://civitai.com/models/123/some-slug?modelVersionId=456", 456, 123),
    ("https://www.civitai.com/models/123/some-slug", None, 123),
    ("https://civitai.com/models/123", None, 123),
    ("civitai.com/models/123?modelVersionId=456", 456, 123),
    ("https://civitai.red/models/123?modelVersionId=456", 456, 123),
    ("https://civitai.com/api/download/models/456", 456, None),
    ("https://civitai.com/api/download/models/456?type=Model&format=SafeTensor", 456, None),
    ("https://civitai.com/api/v1/model-versions/456", 456, None),
    ("https://civitai.com/api/v1/models/123", None, 123),
    ("https://civitai.com/model-versions/456", 456, None),
])
def test_parse_ref(text, version_id, model_id):
    ref = parse_ref(text)
    assert (ref.version_id, ref.model_id) == (version_id, model_id)


def test_configured_base_url_host_is_accepted(monkeypatch):
    monkeypatch.setenv("CIVITAI_BASE_URL", "https://mirror.example.org")
    assert parse_ref("https://mirror.example.org/models/7?modelVersionId=8").version_id == 8


@pytest.mark.parametrize("text, words", [
    ("", "empty"),
    ("abc", "cannot read"),
    ("0", "not a Civitai id"),
    ("99999999999", "not a Civitai id"),
    ("https://example.com/models/123", "not a Civitai URL"),
    ("https://civitai.com/images/123", "does not point"),
    ("https://civitai.com/models/abc", "not a Civitai id"),
    ("urn:air:sdxl:lora:huggingface:123@456", "not Civitai"),
    ("https://civitai.com.evil.example/models/1", "not a Civitai URL"),
])
def test_bad_refs_say_what_is_wrong(text, words):
    with pytest.raises(BadRequest) as info:
        parse_ref(text)
    assert words in str(info.value)


def test_ref_describes_itself():
    assert str(Ref(version_id=5)) == "version 5"
    assert str(Ref(model_id=7)) == "model 7 (latest version)"


def test_model_url_resolves_to_the_latest_version(fake_civitai):
    model = fake_civitai.add_model(name="Versions", type="LORA", versions=3)
    client = CivitaiClient(base_url=fake_civitai.url, sleep=lambda s: None)
    version = resolve_version(client, f"{fake_civitai.url}/models/{model['id']}/versions")
    assert version.id == model["modelVersions"][0]["id"]
    assert version.model.name == "Versions"


def test_version_ref_resolves_with_one_request(fake_civitai):
    model = fake_civitai.add_model(name="One", type="LORA")
    version_id = model["modelVersions"][0]["id"]
    client = CivitaiClient(base_url=fake_civitai.url, sleep=lambda s: None)
    fake_civitai.clear_requests()
    version = resolve_version(client, f"urn:air:sd1:lora:civitai:{model['id']}@{version_id}")
    assert version.id == version_id and version.model_id == model["id"]
    assert [r.path for r in fake_civitai.requests_to("api")] == [f"/api/v1/model-versions/{version_id}"]
