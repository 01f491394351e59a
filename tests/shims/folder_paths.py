"""Test stand-in for ComfyUI's ``folder_paths``: the same public names and behaviour, no ComfyUI needed.

Mirrors ComfyUI 0.8: ``folder_names_and_paths`` maps a key to ``([folders], {extensions})``; the first
folder of a key is where new files go; ``unet``/``clip`` are legacy names of ``diffusion_models``/
``text_encoders``; unknown keys raise ``KeyError`` in ``get_folder_paths``/``get_filename_list`` and give
``None`` in ``get_full_path``. Call ``reset(base)`` to point it at a temporary ComfyUI folder; nothing
is created on disk, not even on import.
"""

from __future__ import annotations

import os
import tempfile

supported_pt_extensions: set[str] = {".ckpt", ".pt", ".pt2", ".bin", ".pth", ".safetensors", ".pkl", ".sft"}

# key -> default folders under models/ (in ComfyUI's order) and extensions (None = model extensions)
_DEFAULTS: dict[str, tuple[tuple[str, ...], set[str] | None]] = {
    "checkpoints": (("checkpoints",), None),
    "configs": (("configs",), {".yaml"}),
    "loras": (("loras",), None),
    "vae": (("vae",), None),
    "text_encoders": (("text_encoders", "clip"), None),
    "diffusion_models": (("unet", "diffusion_models"), None),
    "clip_vision": (("clip_vision",), None),
    "style_models": (("style_models",), None),
    "embeddings": (("embeddings",), None),
    "diffusers": (("diffusers",), {"folder"}),
    "vae_approx": (("vae_approx",), None),
    "controlnet": (("controlnet", "t2i_adapter"), None),
    "gligen": (("gligen",), None),
    "upscale_models": (("upscale_models",), None),
    "latent_upscale_models": (("latent_upscale_models",), None),
    "hypernetworks": (("hypernetworks",), None),
    "photomaker": (("photomaker",), None),
    "classifiers": (("classifiers",), {""}),
    "model_patches": (("model_patches",), None),
    "audio_encoders": (("audio_encoders",), None),
}

_LEGACY = {"unet": "diffusion_models", "clip": "text_encoders"}

folder_names_and_paths: dict[str, tuple[list[str], set[str]]] = {}
filename_list_cache: dict[str, list[str]] = {}
base_path = ""
models_dir = ""
output_directory = input_directory = temp_directory = user_directory = ""


def reset(base: str | os.PathLike) -> None:
    """Start over as a fresh ComfyUI installed in ``base`` (the dict object itself is kept)."""
    global base_path, models_dir, output_directory, input_directory, temp_directory, user_directory
    base_path = os.path.abspath(os.fspath(base))
    models_dir = os.path.join(base_path, "models")
    folder_names_and_paths.clear()
    for key, (folders, extensions) in _DEFAULTS.items():
        exts = set(supported_pt_extensions if extensions is None else extensions)
        folder_names_and_paths[key] = ([os.path.join(models_dir, f) for f in folders], exts)
    folder_names_and_paths["custom_nodes"] = ([os.path.join(base_path, "custom_nodes")], set())
    output_directory = os.path.join(base_path, "output")
    input_directory = os.path.join(base_path, "input")
    temp_directory = os.path.join(base_path, "temp")
    user_directory = os.path.join(base_path, "user")
    filename_list_cache.clear()


def map_legacy(folder_name: str) -> str:
    return _LEGACY.get(folder_name, folder_name)


def add_model_folder_path(folder_name: str, full_folder_path: str, is_default: bool = False) -> None:
    """What extra_model_paths.yaml and node packs call: append (or, as default, prepend) a folder."""
    folder_name = map_legacy(folder_name)
    if folder_name not in folder_names_and_paths:
        folder_names_and_paths[folder_name] = ([full_folder_path], set())
        return
    folders = folder_names_and_paths[folder_name][0]
    if full_folder_path in folders:
        if is_default:
            folders.remove(full_folder_path)
            folders.insert(0, full_folder_path)
    elif is_default:
        folders.insert(0, full_folder_path)
    else:
        folders.append(full_folder_path)
    filename_list_cache.pop(folder_name, None)


def add_extra_model_paths(base: str | os.PathLike, folders: dict[str, str], *, is_default: bool = False) -> None:
    """What an ``extra_model_paths.yaml`` section does: ``key: relative/path`` under ``base``; with
    ``is_default: true`` its folders are listed first, so new files go there."""
    for key, relative in folders.items():
        for line in str(relative).splitlines():
            if line.strip():
                add_model_folder_path(key, os.path.join(os.fspath(base), line.strip()), is_default)


def get_folder_paths(folder_name: str) -> list[str]:
    return list(folder_names_and_paths[map_legacy(folder_name)][0])


def _walk(folder: str, extensions: set[str]) -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            if not extensions or os.path.splitext(name)[1].lower() in extensions:
                found.append(os.path.relpath(os.path.join(dirpath, name), folder))
    return found


def get_filename_list(folder_name: str) -> list[str]:
    """Names relative to their folder, from every folder of the key, sorted and de-duplicated."""
    folder_name = map_legacy(folder_name)
    folders, extensions = folder_names_and_paths[folder_name]
    names: set[str] = set()
    for folder in folders:
        names.update(_walk(folder, extensions))
    result = sorted(names)
    filename_list_cache[folder_name] = result
    return list(result)


def get_full_path(folder_name: str, filename: str) -> str | None:
    """The first folder of the key holding ``filename``; the name cannot climb out of the folder."""
    folder_name = map_legacy(folder_name)
    if folder_name not in folder_names_and_paths:
        return None
    relative = os.path.relpath(os.path.join(os.sep, filename), os.sep)
    for folder in folder_names_and_paths[folder_name][0]:
        candidate = os.path.join(folder, relative)
        if os.path.isfile(candidate):
            return candidate
    return None


def get_full_path_or_raise(folder_name: str, filename: str) -> str:
    path = get_full_path(folder_name, filename)
    if path is None:
        raise FileNotFoundError(f"Model in folder '{folder_name}' with filename '{filename}' not found.")
    return path


def get_output_directory() -> str:
    return output_directory


def get_input_directory() -> str:
    return input_directory


def get_temp_directory() -> str:
    return temp_directory


def get_user_directory() -> str:
    return user_directory


reset(os.environ.get("COMFYUI_SHIM_BASE") or os.path.join(tempfile.gettempdir(), "comfyui-shim"))
