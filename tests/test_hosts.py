"""Where each Civitai type lands in A1111/Forge, ComfyUI and standalone, outside and inside the host."""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from civitai_companion.hosts import HOSTS, MODEL_TYPES, LayoutError, get_layout, sanitize_component
from civitai_companion.hosts import base as hosts_base

_spec = importlib.util.spec_from_file_location("civitai_test_shims", Path(__file__).parent / "shims" / "__init__.py")
shims = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(shims)

UNKNOWN = "HoloMesh3000"

# Expected folders, written out by hand from hosts.md (relative to the root given to get_layout).
EXPECTED = {
    "a1111": {
        "Checkpoint": "models/Stable-diffusion",
        "TextualInversion": "embeddings",
        "Hypernetwork": "models/hypernetworks",
        "AestheticGradient": "models/Other",
        "LORA": "models/Lora",
        "LoCon": "models/Lora",
        "DoRA": "models/Lora",
        "Controlnet": "models/ControlNet",
        "Upscaler": "models/ESRGAN",
        "MotionModule": "extensions/sd-webui-animatediff/model",
        "VAE": "models/VAE",
        "TextEncoder": "models/text_encoder",
        "UNet": "models/Stable-diffusion",
        "CLIPVision": "models/Other",
        "Poses": "models/Other",
        "Wildcards": "models/Other",
        "Workflows": "models/Other",
        "ComfyWorkflows": "models/Other",
        "Detection": "models/adetailer",
        "VisionLanguage": "models/Other",
        "CLIP": "models/text_encoder",
        "LLM": "models/Other",
        "Other": "models/Other",
        UNKNOWN: "models/Other",
    },
    "comfyui": {
        "Checkpoint": "models/checkpoints",
        "TextualInversion": "models/embeddings",
        "Hypernetwork": "models/hypernetworks",
        "AestheticGradient": "models/other",
        "LORA": "models/loras",
        "LoCon": "models/loras",
        "DoRA": "models/loras",
        "Controlnet": "models/controlnet",
        "Upscaler": "models/upscale_models",
        "MotionModule": "models/animatediff_models",
        "VAE": "models/vae",
        "TextEncoder": "models/text_encoders",
        "UNet": "models/diffusion_models",
        "CLIPVision": "models/clip_vision",
        "Poses": "models/other",
        "Wildcards": "models/other",
        "Workflows": "models/other",
        "ComfyWorkflows": "models/other",
        "Detection": "models/ultralytics/bbox",
        "VisionLanguage": "models/other",
        "CLIP": "models/text_encoders",
        "LLM": "models/other",
        "Other": "models/other",
        UNKNOWN: "models/other",
    },
}
EXPECTED["standalone"] = {t: p.removeprefix("models/") for t, p in EXPECTED["comfyui"].items()}

HOSTILE_VALUES = [
    "../../etc",
    "..",
    ".",
    "/etc/passwd",
    "C:\\x",
    "C:",
    "\\\\server\\share",
    "CON",
    "nul.txt",
    "com1",
    "a\x00b\x1fc\x7f",
    "\n",
    "   ",
    "",
    "x" * 5000,
    "模型" * 300,
    "name. . .",
    "a/../../b",
    "\u202eevil",
]


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch):
    """Warn-once state is per process; each test starts without it."""
    monkeypatch.setattr(hosts_base, "_warned", set())


def _inside(path: Path, folder: Path) -> bool:
    return os.path.commonpath([os.path.abspath(path), os.path.abspath(folder)]) == os.path.abspath(folder)


def test_every_civitai_type_is_in_the_expected_tables():
    assert {t.name for t in MODEL_TYPES} | {UNKNOWN} == set(EXPECTED["a1111"])


@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize("model_type", list(EXPECTED["a1111"]))
def test_type_goes_to_host_folder_under_root(tmp_path, host, model_type):
    layout = get_layout(host, tmp_path)
    assert layout.folder_for(model_type) == tmp_path / EXPECTED[host][model_type]


@pytest.mark.parametrize("host", HOSTS)
def test_layout_name(tmp_path, host):
    assert get_layout(host, tmp_path).name == host


def test_forge_is_an_alias_of_a1111(tmp_path):
    assert get_layout("Forge", tmp_path).name == "a1111"


def test_unknown_host_is_a_clear_error(tmp_path):
    with pytest.raises(LayoutError, match="unknown host 'invokeai'"):
        get_layout("invokeai", tmp_path)


@pytest.mark.parametrize(
    "host, expected",
    [("a1111", "models/VAE"), ("comfyui", "models/vae"), ("standalone", "vae")],
)
def test_vae_file_of_a_checkpoint_goes_to_vae_folder(tmp_path, host, expected):
    assert get_layout(host, tmp_path).folder_for("Checkpoint", "VAE") == tmp_path / expected


@pytest.mark.parametrize("host, prefix", [("comfyui", "models/"), ("standalone", "")])
@pytest.mark.parametrize(
    "file_type, folder",
    [("Diffusion Model", "diffusion_models"), ("UNet", "diffusion_models"), ("Text Encoder", "text_encoders")],
)
def test_comfy_file_types_win_over_checkpoint(tmp_path, host, prefix, file_type, folder):
    assert get_layout(host, tmp_path).folder_for("Checkpoint", file_type) == tmp_path / (prefix + folder)


@pytest.mark.parametrize(
    "file_type, folder",
    [("Diffusion Model", "models/Stable-diffusion"), ("Text Encoder", "models/text_encoder")],
)
def test_a1111_file_types(tmp_path, file_type, folder):
    assert get_layout("a1111", tmp_path).folder_for("Checkpoint", file_type) == tmp_path / folder


@pytest.mark.parametrize("file_type", ["Model", "Pruned Model", "Config", "Negative", "SomethingNew", None])
def test_ordinary_file_types_follow_the_model_type(tmp_path, file_type):
    assert get_layout("comfyui", tmp_path).folder_for("LORA", file_type) == tmp_path / "models/loras"


def test_training_data_goes_to_other(tmp_path):
    assert get_layout("comfyui", tmp_path).folder_for("LORA", "Training Data") == tmp_path / "models/other"


@pytest.mark.parametrize(
    "spelling", ["LORA", "lora", "Lora", " LoRA ", "LOCON", "lycoris", "dora"]
)
def test_lora_spellings_are_case_insensitive(tmp_path, spelling):
    assert get_layout("comfyui", tmp_path).folder_for(spelling) == tmp_path / "models/loras"


@pytest.mark.parametrize("spelling", ["TextualInversion", "textualinversion", "Textual Inversion", "embedding"])
def test_embedding_spellings(tmp_path, spelling):
    assert get_layout("a1111", tmp_path).folder_for(spelling) == tmp_path / "embeddings"


def test_file_type_is_case_insensitive(tmp_path):
    layout = get_layout("comfyui", tmp_path)
    assert layout.folder_for("checkpoint", "text_encoder") == tmp_path / "models/text_encoders"
    assert layout.folder_for("CHECKPOINT", "vae") == tmp_path / "models/vae"


def test_kind_for_uses_the_small_vocabulary(tmp_path):
    layout = get_layout("standalone", tmp_path)
    assert layout.kind_for("LoCon") == "lora"
    assert layout.kind_for("Checkpoint", "VAE") == "vae"
    assert layout.kind_for("Checkpoint", "UNet") == "diffusion_model"
    assert layout.kind_for("MotionModule") == "motion_module"
    assert layout.kind_for("Wildcards") == "other"


def test_unknown_type_warns_once_and_lands_in_other(tmp_path, caplog):
    layout = get_layout("comfyui", tmp_path)
    with caplog.at_level(logging.WARNING, logger="civitai_companion.hosts"):
        first = layout.folder_for("GaussianSplat")
        second = layout.folder_for("gaussiansplat", "Model")
        layout.kind_for("GaussianSplat")
    assert first == second == tmp_path / "models/other"
    warnings = [r for r in caplog.records if "GaussianSplat" in r.getMessage()]
    assert len(warnings) == 1


def test_known_other_types_do_not_warn(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="civitai_companion.hosts"):
        get_layout("comfyui", tmp_path).folder_for("Wildcards")
    assert caplog.records == []


def test_missing_type_goes_to_other(tmp_path):
    assert get_layout("a1111", tmp_path).folder_for(None) == tmp_path / "models/Other"


def test_other_dir_relative_is_under_models(tmp_path):
    layout = get_layout("a1111", tmp_path, other_dir="Civitai-other")
    assert layout.folder_for("Poses") == tmp_path / "models/Civitai-other"
    assert layout.folder_for(UNKNOWN + "2") == tmp_path / "models/Civitai-other"


def test_other_dir_absolute(tmp_path):
    layout = get_layout("comfyui", tmp_path, other_dir=tmp_path / "elsewhere")
    assert layout.folder_for("Workflows") == tmp_path / "elsewhere"
    assert layout.scan_folders()["other"][0] == tmp_path / "elsewhere"


def test_subfolders_override_one_type(tmp_path):
    layout = get_layout("a1111", tmp_path, subfolders={"wildcards": "extensions/sd-dynamic-prompts/wildcards"})
    assert layout.folder_for("Wildcards") == tmp_path / "models/extensions/sd-dynamic-prompts/wildcards"
    assert layout.folder_for("Poses") == tmp_path / "models/Other"


def test_subfolders_override_a_kind(tmp_path):
    layout = get_layout("comfyui", tmp_path, subfolders={"lora": str(tmp_path / "my-loras")})
    assert layout.folder_for("DoRA") == tmp_path / "my-loras"
    assert layout.scan_folders()["lora"][0] == tmp_path / "my-loras"


def test_file_type_wins_over_a_type_override(tmp_path):
    layout = get_layout("comfyui", tmp_path, subfolders={"Checkpoint": "ckpts"})
    assert layout.folder_for("Checkpoint") == tmp_path / "models/ckpts"
    assert layout.folder_for("Checkpoint", "VAE") == tmp_path / "models/vae"


def test_template_puts_files_under_the_type_folder(tmp_path):
    layout = get_layout("comfyui", tmp_path, subfolder_template="{baseModel}/{modelName}")
    folder = layout.folder_for("LORA", base_model="SDXL 1.0", model_name="Detail Tweaker")
    assert folder == tmp_path / "models/loras/SDXL 1.0/Detail Tweaker"


def test_template_fields_all_render(tmp_path):
    template = "{modelType}-{modelId}/{versionName}-{versionId}"
    layout = get_layout("standalone", tmp_path, subfolder_template=template)
    folder = layout.folder_for("lora", version_name="v2", model_id=12, version_id=34)
    assert folder == tmp_path / "loras/LORA-12/v2-34"


def test_template_missing_value_is_underscore(tmp_path):
    layout = get_layout("standalone", tmp_path, subfolder_template="{baseModel}/{modelName}")
    assert layout.folder_for("VAE", model_name="x") == tmp_path / "vae/_/x"


@pytest.mark.parametrize("value", HOSTILE_VALUES)
@pytest.mark.parametrize("host", HOSTS)
def test_hostile_template_values_stay_inside_type_folder(tmp_path, host, value):
    layout = get_layout(host, tmp_path, subfolder_template="{baseModel}/{modelName}/{versionName}")
    type_folder = layout.folder_for("LORA", base_model=None, model_name=None, version_name=None).parents[2]
    folder = layout.folder_for("LORA", base_model=value, model_name=value, version_name=value)
    assert folder.parents[2] == type_folder
    for component in folder.relative_to(type_folder).parts:
        assert component not in ("", ".", "..")
        assert not any(c in component for c in '/\\:<>"|?*')
        assert 1 <= len(component) <= 100
        assert component.split(".")[0].strip().upper() not in ("CON", "NUL", "COM1")


@pytest.mark.parametrize("template", ["../../{modelName}", "/etc/{modelName}", "C:\\{modelName}", "..\\.."])
def test_hostile_template_text_stays_inside(tmp_path, template):
    layout = get_layout("comfyui", tmp_path, subfolder_template=template)
    folder = layout.folder_for("LORA", model_name="x")
    assert _inside(folder, tmp_path / "models/loras")
    assert ".." not in folder.relative_to(tmp_path / "models/loras").parts


@pytest.mark.parametrize("template", ["{modelName.__class__}", "{nope}", "{modelName!r}", "{modelName:>9}", "{"])
def test_bad_template_is_a_clear_error(tmp_path, template):
    with pytest.raises(LayoutError, match="sub-folder template"):
        get_layout("comfyui", tmp_path, subfolder_template=template)


@pytest.mark.parametrize(
    "value, expected",
    [("CON", "_CON"), ("con.txt", "_con.txt"), ("..", "_"), ("", "_"), ("C:\\x", "C__x"), (" a. ", "a"), ("a\tb", "a_b")],
)
def test_sanitize_component_examples(value, expected):
    assert sanitize_component(value) == expected


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_sanitize_component_never_escapes(value):
    component = sanitize_component(value)
    base = Path("/base/folder")
    assert (base / component).parent == base
    assert component not in (".", "..") and "/" not in component and "\\" not in component
    assert 0 < len(component) <= 100 and len(component.encode()) <= 200


@pytest.mark.parametrize("host", HOSTS)
def test_describe_lists_every_type(tmp_path, host):
    rows = dict(get_layout(host, tmp_path).describe())
    for model_type in MODEL_TYPES:
        assert rows[model_type.name] == tmp_path / EXPECTED[host][model_type.name]
    assert rows["(unknown type)"] == tmp_path / EXPECTED[host][UNKNOWN]


def test_a1111_scan_includes_lycoris_and_upscaler_siblings(tmp_path):
    scan = get_layout("a1111", tmp_path).scan_folders()
    assert scan["lora"] == [tmp_path / "models/Lora", tmp_path / "models/LyCORIS"]
    assert tmp_path / "models/RealESRGAN" in scan["upscaler"]
    assert scan["embedding"] == [tmp_path / "embeddings"]


def test_comfy_scan_includes_legacy_folders(tmp_path):
    scan = get_layout("comfyui", tmp_path).scan_folders()
    assert scan["text_encoder"] == [tmp_path / "models/text_encoders", tmp_path / "models/clip"]
    assert scan["diffusion_model"] == [tmp_path / "models/diffusion_models", tmp_path / "models/unet"]
    assert scan["detection"] == [tmp_path / "models/ultralytics/bbox", tmp_path / "models/ultralytics/segm"]


@pytest.mark.parametrize("host", HOSTS)
def test_scan_lists_no_folder_twice(tmp_path, host):
    scan = get_layout(host, tmp_path, subfolders={"lora": "loras"}).scan_folders()
    every = [p for paths in scan.values() for p in paths]
    assert len(every) == len(set(every))


def test_comfy_root_may_be_the_models_folder(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    assert get_layout("comfyui", tmp_path).folder_for("LORA") == tmp_path / "loras"


def test_a1111_root_may_be_the_models_folder(tmp_path):
    models = tmp_path / "models"
    (models / "Stable-diffusion").mkdir(parents=True)
    layout = get_layout("a1111", models)
    assert layout.folder_for("Checkpoint") == models / "Stable-diffusion"
    assert layout.folder_for("TextualInversion") == tmp_path / "embeddings"


def test_standalone_root_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CIVITAI_COMPANION_MODELS", str(tmp_path / "m"))
    assert get_layout("standalone").folder_for("LORA") == tmp_path / "m/loras"


def test_standalone_root_defaults_to_state_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("CIVITAI_COMPANION_MODELS", raising=False)
    monkeypatch.setenv("CIVITAI_COMPANION_HOME", str(tmp_path / "home"))
    assert get_layout("standalone").folder_for("Checkpoint") == tmp_path / "home/models/checkpoints"


# --- inside the host, through the shims ----------------------------------------------------------


def test_a1111_inside_host_uses_webui_paths(tmp_path, monkeypatch):
    shims.install_a1111(monkeypatch, tmp_path / "webui")
    layout = get_layout("a1111")
    assert layout.folder_for("Checkpoint") == tmp_path / "webui/models/Stable-diffusion"
    assert layout.folder_for("TextualInversion") == tmp_path / "webui/embeddings"


def test_a1111_inside_host_honours_models_dir(tmp_path, monkeypatch):
    shims.install_a1111(monkeypatch, tmp_path / "webui", models_dir=tmp_path / "shared-models")
    layout = get_layout("a1111")
    assert layout.folder_for("VAE") == tmp_path / "shared-models/VAE"
    assert layout.folder_for("Detection") == tmp_path / "shared-models/adetailer"


@pytest.mark.parametrize(
    "option, model_type",
    [
        ("ckpt_dir", "Checkpoint"),
        ("lora_dir", "LoCon"),
        ("vae_dir", "VAE"),
        ("embeddings_dir", "TextualInversion"),
        ("hypernetwork_dir", "Hypernetwork"),
        ("controlnet_dir", "Controlnet"),
        ("esrgan_models_path", "Upscaler"),
        ("text_encoder_dir", "TextEncoder"),
    ],
)
def test_a1111_cmd_opts_override(tmp_path, monkeypatch, option, model_type):
    shared, _ = shims.install_a1111(monkeypatch, tmp_path / "webui")
    setattr(shared.cmd_opts, option, str(tmp_path / "custom"))
    assert get_layout("a1111").folder_for(model_type) == tmp_path / "custom"


def test_a1111_cmd_opts_read_on_every_call(tmp_path, monkeypatch):
    shared, _ = shims.install_a1111(monkeypatch, tmp_path / "webui")
    layout = get_layout("a1111")
    shared.cmd_opts.ckpt_dir = str(tmp_path / "later")
    assert layout.folder_for("Checkpoint") == tmp_path / "later"


def test_a1111_ckpt_dir_scan_keeps_default_folder(tmp_path, monkeypatch):
    shared, _ = shims.install_a1111(monkeypatch, tmp_path / "webui")
    shared.cmd_opts.ckpt_dir = str(tmp_path / "ckpts")
    scan = get_layout("a1111").scan_folders()
    assert scan["checkpoint"] == [tmp_path / "ckpts", tmp_path / "webui/models/Stable-diffusion"]


def test_a1111_scan_follows_lyco_backcompat_option(tmp_path, monkeypatch):
    shared, _ = shims.install_a1111(monkeypatch, tmp_path / "webui")
    shared.cmd_opts.lyco_dir_backcompat = str(tmp_path / "lyco")
    assert get_layout("a1111").scan_folders()["lora"] == [tmp_path / "webui/models/Lora", tmp_path / "lyco"]


def test_a1111_extension_settings(tmp_path, monkeypatch):
    shared, _ = shims.install_a1111(monkeypatch, tmp_path / "webui")
    shared.opts.data["animatediff_model_path"] = str(tmp_path / "motion")
    shared.opts.data["control_net_models_path"] = str(tmp_path / "cn-extra")
    layout = get_layout("a1111")
    assert layout.folder_for("MotionModule") == tmp_path / "motion"
    assert tmp_path / "cn-extra" in layout.scan_folders()["controlnet"]


def test_a1111_outside_host_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "modules", None)
    with pytest.raises(LayoutError, match="not running inside AUTOMATIC1111"):
        get_layout("a1111")


def test_comfy_inside_host_defaults(tmp_path, monkeypatch):
    shims.install_comfyui(monkeypatch, tmp_path / "ComfyUI")
    layout = get_layout("comfyui")
    assert layout.folder_for("LORA") == tmp_path / "ComfyUI/models/loras"
    assert layout.folder_for("Checkpoint", "Text Encoder") == tmp_path / "ComfyUI/models/text_encoders"
    # ComfyUI lists models/unet first for diffusion_models: the first path is the target
    assert layout.folder_for("UNet") == tmp_path / "ComfyUI/models/unet"


def test_comfy_extra_path_first_wins_target_all_scanned(tmp_path, monkeypatch):
    fp = shims.install_comfyui(monkeypatch, tmp_path / "ComfyUI")
    fp.add_model_folder_path("loras", str(tmp_path / "nas/loras"))
    layout = get_layout("comfyui")
    assert layout.folder_for("LORA") == tmp_path / "ComfyUI/models/loras"
    assert layout.scan_folders()["lora"] == [tmp_path / "ComfyUI/models/loras", tmp_path / "nas/loras"]


def test_comfy_default_extra_path_becomes_target(tmp_path, monkeypatch):
    fp = shims.install_comfyui(monkeypatch, tmp_path / "ComfyUI")
    fp.add_model_folder_path("checkpoints", str(tmp_path / "nas/ckpt"), is_default=True)
    layout = get_layout("comfyui")
    assert layout.folder_for("Checkpoint") == tmp_path / "nas/ckpt"
    assert tmp_path / "ComfyUI/models/checkpoints" in layout.scan_folders()["checkpoint"]


def test_comfy_unregistered_key_falls_back_and_warns_once(tmp_path, monkeypatch, caplog):
    shims.install_comfyui(monkeypatch, tmp_path / "ComfyUI")
    layout = get_layout("comfyui")
    with caplog.at_level(logging.WARNING, logger="civitai_companion.hosts"):
        first = layout.folder_for("MotionModule")
        second = layout.folder_for("MotionModule")
    assert first == second == tmp_path / "ComfyUI/models/animatediff_models"
    assert len([r for r in caplog.records if "animatediff_models" in r.getMessage()]) == 1


def test_comfy_node_pack_key_is_used_when_registered(tmp_path, monkeypatch):
    fp = shims.install_comfyui(monkeypatch, tmp_path / "ComfyUI")
    fp.add_model_folder_path("animatediff_models", str(tmp_path / "ade/models"))
    fp.add_model_folder_path("ultralytics_bbox", str(tmp_path / "impact/bbox"))
    layout = get_layout("comfyui")
    assert layout.folder_for("MotionModule") == tmp_path / "ade/models"
    assert layout.folder_for("Detection") == tmp_path / "impact/bbox"


def test_comfy_old_release_with_legacy_keys(tmp_path, monkeypatch):
    fp = shims.install_comfyui(monkeypatch, tmp_path / "ComfyUI")
    del fp.folder_names_and_paths["text_encoders"]
    fp.folder_names_and_paths["clip"] = ([str(tmp_path / "old/clip")], set())
    monkeypatch.setattr(fp, "map_legacy", lambda name: name)
    assert get_layout("comfyui").folder_for("TextEncoder") == tmp_path / "old/clip"


def test_comfy_outside_host_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "folder_paths", None)
    with pytest.raises(LayoutError, match="not running inside ComfyUI"):
        get_layout("comfyui")


def test_root_given_needs_no_host_modules(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "folder_paths", None)
    monkeypatch.setitem(sys.modules, "modules", None)
    assert get_layout("comfyui", tmp_path).folder_for("VAE") == tmp_path / "models/vae"
    assert get_layout("a1111", tmp_path).folder_for("VAE") == tmp_path / "models/VAE"


def test_importing_hosts_imports_no_host_module():
    code = (
        "import sys, civitai_companion.hosts as h\n"
        "bad = [m for m in ('folder_paths', 'modules', 'civitai_companion.hosts.a1111',"
        " 'civitai_companion.hosts.comfyui') if m in sys.modules]\n"
        "print(','.join(bad) or 'clean')\n"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "clean", out.stderr


def test_unknown_type_warning_names_the_folder_and_how_to_pick_another(tmp_path, caplog):
    layout = get_layout("standalone", tmp_path)
    with caplog.at_level(logging.WARNING, logger="civitai_companion.hosts"):
        folder = layout.folder_for("HoloMesh")
    (message,) = [r.getMessage() for r in caplog.records]
    assert str(folder) in message and "--folder DIR" in message and "settings" not in message
    assert "\n" not in message


def test_unknown_type_with_its_own_folder_does_not_warn(tmp_path, caplog):
    layout = get_layout("standalone", tmp_path, subfolders={"HoloMesh": "holo"})
    with caplog.at_level(logging.WARNING, logger="civitai_companion.hosts"):
        assert layout.folder_for("HoloMesh") == tmp_path / "holo"
    assert caplog.records == []


def test_folder_layout_puts_every_type_under_the_folder_with_the_template(tmp_path, caplog):
    from civitai_companion.hosts.base import FolderLayout

    layout = FolderLayout(tmp_path, subfolder_template="{modelType}")
    with caplog.at_level(logging.WARNING, logger="civitai_companion.hosts"):
        assert layout.folder_for("LORA") == tmp_path / "LORA"
        assert layout.folder_for("HoloMesh") == tmp_path / "HoloMesh"
    assert caplog.records == []
