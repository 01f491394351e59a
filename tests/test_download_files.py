"""Which file of a version is downloaded, on real version shapes: the model, not its training data, and
exactly the file asked for when two files look alike."""

from __future__ import annotations

import copy

import pytest

from civitai_companion.api import CivitaiClient, Model, ModelVersion
from civitai_companion.download import Downloader, NoMatchingFile, choose_file
from civitai_companion.download.target import download_query
from tests.civitai_fixtures import load_more


def version_of(model_id, version_id) -> ModelVersion:
    model = Model.from_api(load_more(model_id))
    version = next(v for v in model.model_versions if v.id == version_id)
    version.model.type = model.type
    return version


def test_a_version_whose_only_file_is_training_data_is_fetched_only_by_id():
    succubus = version_of(33780, 40071)  # v2.0: VillageSuccubus_v2.zip, type Training Data, primary
    with pytest.raises(NoMatchingFile) as caught:
        choose_file(succubus)
    assert "no model file" in str(caught.value) and "31886" in str(caught.value)
    assert "--file-id" in caught.value.hint
    assert choose_file(succubus, file_id=31886).name == "VillageSuccubus_v2.zip"


def test_training_data_flagged_primary_next_to_the_model_is_not_the_model():
    body = load_more(11963)  # NahidaV1.safetensors (primary) and 100_Nahida.zip (Training Data)
    flagged = copy.deepcopy(body)
    files = flagged["modelVersions"][0]["files"]
    files[0].pop("primary")
    files[1]["primary"] = True  # as 2025 answers flag it (and as 33780's v2.0 above does, alone)
    for shape in (body, flagged):
        version = Model.from_api(shape).model_versions[0]
        version.model.type = "LORA"
        assert choose_file(version).name == "NahidaV1.safetensors"
        assert version.primary_file().name == "NahidaV1.safetensors"
        with pytest.raises(NoMatchingFile):
            choose_file(version, format="Other")  # the zip's format: still not offered without its id


def test_the_best_model_file_when_none_is_primary():
    afterschool = version_of(12585, 14838)  # Pruned SafeTensor is primary; ckpt and full files beside it
    assert choose_file(afterschool).id == 14228
    for f in afterschool.files:
        f.primary = None
    assert choose_file(afterschool).id == 13012  # a full Model before a pruned one, SafeTensor first
    assert choose_file(afterschool, format="PickleTensor").id == 12764
    no_vae = version_of(12585, 16866)  # also carries AfterSchool.vae.pt
    assert choose_file(no_vae).name != "AfterSchool.vae.pt"
    assert all(f.type != "VAE" for f in no_vae.model_files())


def test_two_files_one_query_cannot_tell_apart_get_their_file_id():
    naoto = version_of(38520, 106536)  # naoto-000008 (primary) and naoto-3: both Model, SafeTensor
    primary, other = naoto.files
    assert other.download_query == [("type", "Model"), ("format", "SafeTensor")]  # Civitai's own, ambiguous
    assert download_query(naoto, other) == [("type", "Model"), ("format", "SafeTensor"), ("fileId", "75073")]
    assert ("fileId", "75013") in download_query(naoto, primary)
    afterschool = version_of(12585, 14838)
    assert all(key != "fileId" for key, _ in download_query(afterschool, afterschool.files[0]))


def test_a_download_url_pinned_with_file_id_is_used_as_it_is():
    naoto = version_of(38520, 106536)
    other = naoto.files[1]
    other.download_url = "https://civitai.com/api/download/models/106536?fileId=75073"  # the 2026 form
    assert download_query(naoto, other) == [("fileId", "75073")]


# -- against the fake Civitai ----------------------------------------------------------------------------
@pytest.fixture
def client(fake_civitai):
    return CivitaiClient(base_url=fake_civitai.url, sleep=lambda seconds: None, max_tries=2)


def test_file_id_fetches_exactly_that_file_of_two_look_alikes(fake_civitai, client, tmp_path):
    model = fake_civitai.add_model(name="Look Alikes", file_sizes=(20_000,))
    version = model["modelVersions"][0]
    first = version["files"][0]
    twin = fake_civitai.add_file(version["id"], name="look-alike-3.safetensors", size=30_000,
                                 metadata=dict(first["metadata"]))
    downloader = Downloader(client, host="standalone", root=tmp_path, sidecars=False)
    result = downloader.download(version["id"], file_id=twin["id"])
    assert result.path.name == "look-alike-3.safetensors"
    assert result.path.read_bytes() == fake_civitai.file_bytes(twin["id"])


def test_a_primary_training_zip_is_not_what_a_plain_download_fetches(fake_civitai, client, tmp_path):
    model = fake_civitai.add_model(name="Zipped", file_sizes=(20_000,))
    version = model["modelVersions"][0]
    lora = version["files"][0]
    fake_civitai.add_file(version["id"], name="Zipped_trainingData.zip", data=b"PK\x03\x04" + b"\x00" * 64,
                          type="Training Data", primary=True, metadata={"format": "Other"})
    result = Downloader(client, host="standalone", root=tmp_path, sidecars=False).download(version["id"])
    assert result.path.name == lora["name"]
    assert result.path.read_bytes() == fake_civitai.file_bytes(lora["id"])


def test_a_pose_pack_is_its_archive():
    poses = Model.from_api(load_more(61101)).model_versions[0]  # Poses: as_v10.zip, type Archive
    assert poses.model.type == "Poses"  # list items do not repeat the model: it is filled in
    assert choose_file(poses).name == "as_v10.zip"


def test_an_archive_next_to_a_checkpoints_model_file_is_not_the_model():
    body = load_more(27777)  # Genesis: a SafeTensor (primary) and a ckpt
    files = body["modelVersions"][1]["files"]
    files[0].pop("primary")
    files.append({**copy.deepcopy(files[1]), "id": 1, "name": "tfm_diffusers.zip", "type": "Archive", "primary": True,
                  "metadata": {"format": "Diffusers"}})  # a diffusers archive flagged primary, as 2025 answers do
    genesis = Model.from_api(body).model_versions[1]
    assert choose_file(genesis).name == "tfmNostalgicAnime_genesis.safetensors"
    assert choose_file(genesis, file_id=1).name == "tfm_diffusers.zip"


def test_a_downloads_json_gets_the_models_description_when_the_version_has_none(fake_civitai, client, tmp_path):
    import json

    model = fake_civitai.add_model(name="Described", file_sizes=(20_000,))
    body = load_more(13941)  # epi_noiseoffset: v1 has no description, the model a long one
    model["description"] = body["description"]
    version = model["modelVersions"][0]
    version["description"] = None
    result = Downloader(client, host="a1111", root=tmp_path).download(version["id"])
    user = json.loads(result.path.with_suffix(".json").read_text(encoding="utf-8"))
    assert user["description"].startswith("UPDATE: v2-pynoise released")
    assert "<" not in user["description"]
