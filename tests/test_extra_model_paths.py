"""ComfyUI's extra_model_paths.yaml, read outside ComfyUI: the CLI sees the folders ComfyUI sees."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from civitai_companion.cli import main
from civitai_companion.hosts import LayoutError, get_layout


def write(root, text):
    root.mkdir(parents=True, exist_ok=True)
    (root / "models" / "loras").mkdir(parents=True, exist_ok=True)
    (root / "extra_model_paths.yaml").write_text(text)
    return root


def test_sections_base_path_and_multi_line_lists(tmp_path):
    webui = tmp_path / "webui"
    root = write(tmp_path / "ComfyUI", f"""
a111:
    base_path: {webui}
    checkpoints: models/Stable-diffusion
    loras: |
        models/Lora
        models/LyCORIS
    embeddings: embeddings
comfyui:
    base_path: ../shared
    loras: loras/
other_machine:
    loras: /mnt/big/loras
""")
    layout = get_layout("comfyui", root)
    scan = layout.scan_folders()
    assert scan["lora"] == [root / "models" / "loras", webui / "models" / "Lora", webui / "models" / "LyCORIS",
                            tmp_path / "shared" / "loras", Path("/mnt/big/loras")]
    assert webui / "models" / "Stable-diffusion" in scan["checkpoint"]
    assert scan["embedding"][-1] == webui / "embeddings"
    assert layout.folder_for("LORA") == root / "models" / "loras"  # ComfyUI's own folder stays the target


def test_is_default_makes_a_section_the_download_target(tmp_path):
    root = write(tmp_path / "ComfyUI", """
plain:
    loras: /plain/loras
mine:
    base_path: ~/models-elsewhere
    is_default: true
    loras: |
        loras
        more-loras
""")
    layout = get_layout("comfyui", root)
    home = os.path.expanduser("~/models-elsewhere")
    # each is_default folder is put first in turn, as ComfyUI's folder_paths does
    assert [str(p) for p in layout.scan_folders()["lora"]] == [
        f"{home}/more-loras", f"{home}/loras", str(root / "models" / "loras"), "/plain/loras"]
    assert str(layout.folder_for("LORA")) == f"{home}/more-loras"


def test_a_default_folder_named_again_is_moved_not_repeated(tmp_path):
    root = write(tmp_path / "ComfyUI", "again:\n  is_default: true\n  loras: models/loras\n")
    layout = get_layout("comfyui", root)
    assert layout.scan_folders()["lora"] == [root / "models" / "loras"]


def test_relative_folders_without_base_path_are_taken_from_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SHARED_MODELS", str(tmp_path / "env-models"))
    root = write(tmp_path / "ComfyUI", """
comfyui:
    checkpoints: more/checkpoints
    vae: $SHARED_MODELS/vae
    unet: old-unet
    clip: old-clip
with_base:
    base_path: $SHARED_MODELS
    upscale_models: upscale
""")
    scan = get_layout("comfyui", root).scan_folders()
    assert root / "more" / "checkpoints" in scan["checkpoint"]
    assert root / "$SHARED_MODELS" / "vae" in scan["vae"]  # ComfyUI expands base_path only
    assert tmp_path / "env-models" / "upscale" in scan["upscaler"]
    assert root / "old-unet" in scan["diffusion_model"]  # legacy key names count as ComfyUI counts them
    assert root / "old-clip" in scan["text_encoder"]


def test_the_models_folder_as_root_finds_the_file_beside_it(tmp_path):
    root = write(tmp_path / "ComfyUI", "x:\n  loras: /extra/loras\n")
    layout = get_layout("comfyui", root / "models")
    assert layout.scan_folders()["lora"][-1] == Path("/extra/loras")


@pytest.mark.parametrize("text", ["", "# only a comment\n", "empty_section:\n"])
def test_an_empty_file_adds_nothing(tmp_path, text):
    root = write(tmp_path / "ComfyUI", text)
    assert get_layout("comfyui", root).scan_folders()["lora"] == [root / "models" / "loras"]


def test_values_of_the_wrong_shape_are_skipped_with_a_warning(tmp_path, caplog):
    root = write(tmp_path / "ComfyUI", "a: [1, 2]\nb:\n  loras: 3\n  vae: vae-here\n")
    scan = get_layout("comfyui", root).scan_folders()
    assert scan["vae"][-1] == root / "vae-here"
    assert "section 'a' is not a mapping" in caplog.text and "b.loras" in caplog.text


@pytest.mark.parametrize("text", ["comfyui:\n  loras: [unclosed\n", "- a\n- b\n"])
def test_a_broken_file_is_one_clear_line(tmp_path, capsys, text):
    root = write(tmp_path / "ComfyUI", text)
    with pytest.raises(LayoutError, match="extra_model_paths.yaml"):
        get_layout("comfyui", root)
    assert main(["scan", "--host", "comfyui", "--root", str(root)]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: ") and "extra_model_paths.yaml" in line


def test_a_file_reachable_from_two_layouts_is_one_row(fake_civitai, capsys, tmp_path):
    """An A1111 install whose LoRAs ComfyUI also reads through its a111 section: one row per file."""
    webui = tmp_path / "webui"
    model = fake_civitai.add_model(name="Shared Lora")
    lora = webui / "models" / "Lora" / "shared.safetensors"
    lora.parent.mkdir(parents=True)
    lora.write_bytes(fake_civitai.file_bytes(model["modelVersions"][0]["files"][0]["id"]))
    (webui / "models" / "Stable-diffusion").mkdir()
    root = write(tmp_path / "ComfyUI", f"a111:\n  base_path: {webui}\n  loras: models/Lora\n")

    code, out, err = run(capsys, "scan", "--host", "comfyui", "--root", str(root), "--json", "--no-sidecars")
    assert code == 0, err
    [row] = json.loads(out)
    assert (row["path"], row["modelId"], row["kind"]) == (str(lora), model["id"], "lora")
    fake_civitai.clear_requests()
    code, out, err = run(capsys, "scan", "--host", "a1111", "--root", str(webui), "--json", "--no-sidecars",
                         "--no-updates")
    assert code == 0, err
    assert not fake_civitai.requests  # the index already knew the file
    assert json.loads(run(capsys, "library", "--json")[1]) == [row]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
