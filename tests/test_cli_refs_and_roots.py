"""What a download or scan is pointed at: references whose parts must agree, and ``--root`` folders whose
app is recognised (or refused) when ``--host`` is left out."""

from __future__ import annotations

import json

import pytest

from civitai_companion.cli import main
from civitai_companion.hosts import detect_host


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def add_version(fake, name="Ref Lora", type="LORA"):
    model = fake.add_model(name=name, type=type, file_sizes=(20_000,))
    version = model["modelVersions"][0]
    return model["id"], version["id"], version["files"][0]


# -- 1. references whose parts disagree ---------------------------------------------------------------------
@pytest.mark.parametrize("ref", [
    "civitai:{model}@{version}",
    "urn:air:sd1:lora:civitai:{model}@{version}",
    "{url}/models/{model}?modelVersionId={version}",
])
def test_a_version_of_another_model_is_refused_naming_its_real_model(fake_civitai, capsys, tmp_path, ref):
    named_id, _, _ = add_version(fake_civitai, name="The Named One")
    real_id, version_id, _ = add_version(fake_civitai, name="The Real Owner")
    text = ref.format(model=named_id, version=version_id, url=fake_civitai.url)
    code, out, err = run(capsys, "download", text, "--host", "standalone", "--root", str(tmp_path))
    assert code == 1 and out == ""
    assert f"version {version_id} belongs to model {real_id}, The Real Owner" in err and err.count("\n") == 1
    assert not fake_civitai.requests_to("storage") and not any(tmp_path.iterdir())


def test_an_air_naming_another_type_is_refused(fake_civitai, capsys, tmp_path):
    model_id, version_id, _ = add_version(fake_civitai, type="Checkpoint")
    code, _, err = run(capsys, "download", f"urn:air:sdxl:lora:civitai:{model_id}@{version_id}",
                       "--host", "standalone", "--root", str(tmp_path))
    assert code == 1 and "says lora" in err and "of type Checkpoint" in err
    assert not fake_civitai.requests_to("storage")


def test_parts_that_agree_still_download(fake_civitai, capsys, tmp_path):
    model_id, version_id, file = add_version(fake_civitai, type="DoRA")  # a LoRA kind: the AIR's "lora" fits
    code, out, err = run(capsys, "download", f"urn:air:sd1:lora:civitai:{model_id}@{version_id}",
                         "--host", "standalone", "--root", str(tmp_path), "--json")
    assert code == 0, err
    assert json.loads(out)["path"] == str(tmp_path / "loras" / file["name"])


# -- 2. --root without --host ----------------------------------------------------------------------------------
def make_webui(root, *, forge=False):
    (root / "modules").mkdir(parents=True)
    (root / "webui.py").write_text("")
    (root / "launch.py").write_text("")
    (root / "models" / "Stable-diffusion").mkdir(parents=True)
    if forge:
        (root / "modules_forge").mkdir()
    return root


def make_comfyui(root):
    (root / "comfy").mkdir(parents=True)
    (root / "main.py").write_text("")
    (root / "models" / "checkpoints").mkdir(parents=True)
    return root


def test_a_webui_given_as_root_gets_the_a1111_layout_and_says_so(fake_civitai, capsys, tmp_path):
    root = make_webui(tmp_path / "stable-diffusion-webui")
    _, version_id, file = add_version(fake_civitai)
    code, out, err = run(capsys, "download", str(version_id), "--root", str(root), "--json")
    assert code == 0, err
    assert json.loads(out)["path"] == str(root / "models" / "Lora" / file["name"])
    assert "AUTOMATIC1111" in err and "--host a1111" in err
    assert not (root / "loras").exists()


def test_a_forge_folder_is_told_from_a1111(tmp_path):
    assert detect_host(make_webui(tmp_path / "forge", forge=True))[0] == "forge"
    assert detect_host(make_webui(tmp_path / "a1111"))[0] == "a1111"


def test_a_comfyui_folder_or_its_models_folder_gets_the_comfyui_layout(fake_civitai, capsys, tmp_path):
    root = make_comfyui(tmp_path / "ComfyUI")
    assert detect_host(root / "models")[0] == "comfyui"
    _, version_id, file = add_version(fake_civitai)
    code, out, err = run(capsys, "download", str(version_id), "--root", str(root / "models"), "--json")
    assert code == 0, err
    assert json.loads(out)["path"] == str(root / "models" / "loras" / file["name"])
    assert "--host comfyui" in err


def test_scan_of_a_webui_without_host_finds_its_files(fake_civitai, capsys, tmp_path):
    root = make_webui(tmp_path / "webui")
    model = fake_civitai.add_model(name="Scanned Lora", file_sizes=(10_000,))
    file = model["modelVersions"][0]["files"][0]
    (root / "models" / "Lora").mkdir(parents=True)
    (root / "models" / "Lora" / file["name"]).write_bytes(fake_civitai.file_bytes(file["id"]))
    code, out, err = run(capsys, "scan", "--root", str(root), "--json", "--no-sidecars", "--no-updates")
    assert code == 0, err
    assert [row["modelName"] for row in json.loads(out)] == ["Scanned Lora"]


@pytest.mark.parametrize("command", [["download", "1"], ["scan"], ["updates"]])
def test_a_root_that_cannot_be_told_is_refused_naming_host(capsys, tmp_path, command):
    root = tmp_path / "somewhere"
    code, out, err = run(capsys, *command, "--root", str(root))
    assert code == 2 and out == ""
    assert "--host" in err and err.count("\n") == 1
    assert not root.exists()


@pytest.mark.parametrize("command", [["download", "1"], ["scan"], ["updates"]])
def test_an_app_host_without_root_asks_for_root(capsys, command):
    code, out, err = run(capsys, *command, "--host", "comfyui")
    assert code == 2 and "--host comfyui needs --root DIR here: the ComfyUI folder or its models folder" in err


def test_a_folder_laid_out_like_an_app_gets_its_layout(fake_civitai, capsys, tmp_path):
    _, version_id, _ = add_version(fake_civitai)
    assert run(capsys, "download", str(version_id), "--host", "comfyui", "--root", str(tmp_path / "c"))[0] == 0
    assert detect_host(tmp_path / "c")[0] == "comfyui"  # what a download with --host comfyui made
    (tmp_path / "w" / "models" / "Lora").mkdir(parents=True)
    assert detect_host(tmp_path / "w")[0] == "a1111"


def test_a_folder_of_type_folders_is_a_standalone_library(tmp_path):
    (tmp_path / "loras").mkdir()
    assert detect_host(tmp_path)[0] == "standalone"
    assert detect_host(tmp_path / "loras") is None


# -- 3. an empty models folder ----------------------------------------------------------------------------------
@pytest.mark.parametrize("host, folder", [("comfyui", "loras"), ("a1111", "Lora")])
@pytest.mark.parametrize("exists", [True, False])
def test_an_empty_models_folder_is_the_models_folder(fake_civitai, capsys, tmp_path, host, folder, exists):
    models = tmp_path / "App" / "models"
    if exists:
        models.mkdir(parents=True)
    _, version_id, file = add_version(fake_civitai)
    code, out, err = run(capsys, "download", str(version_id), "--host", host, "--root", str(models), "--json")
    assert code == 0, err
    assert json.loads(out)["path"] == str(models / folder / file["name"])
    assert not (models / "models").exists()
