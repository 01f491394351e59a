"""Where model files live in each app: ``get_layout("a1111" | "comfyui" | "standalone", root)``.

Importing this package imports no host module; host configuration is read when a layout is asked.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from .base import (
    KINDS,
    MODEL_TYPES,
    TEMPLATE_FIELDS,
    Layout,
    LayoutError,
    TemplateError,
    canonical_type,
    kind_for,
    sanitize_component,
)

HOSTS = ("a1111", "comfyui", "standalone")

_HOST_ALIASES = {
    "a1111": "a1111",
    "automatic1111": "a1111",
    "forge": "a1111",
    "sdwebui": "a1111",
    "webui": "a1111",
    "comfyui": "comfyui",
    "comfy": "comfyui",
    "standalone": "standalone",
}


def _is_a1111_app(folder: Path) -> bool:
    return (folder / "webui.py").is_file() or (folder / "webui-user.sh").is_file() \
        or (folder / "webui-user.bat").is_file() or ((folder / "launch.py").is_file() and (folder / "modules").is_dir())


def _is_comfyui_app(folder: Path) -> bool:
    return (folder / "comfy").is_dir() and ((folder / "main.py").is_file() or (folder / "folder_paths.py").is_file())


def detect_host(root: str | os.PathLike) -> tuple[str, str] | None:
    """Which app a folder given as ``root`` belongs to, from its tell-tale files: ``(host, in words)``,
    or None when it cannot be told (an empty or new folder, a file, anything else).

    The app folder and its ``models`` folder are both recognised; a folder holding ComfyUI's type folders
    (``loras``, ``checkpoints``, ...) outside any ComfyUI is a standalone library, which uses those names."""
    folder = Path(root).expanduser()
    if not folder.is_dir():
        return None
    from .a1111 import MODELS_DIR_MARKERS as A1111_MARKERS
    from .comfyui import DEFAULT_FOLDERS

    for app, models in ((folder, False), (folder.parent, True)):
        if models and folder.name.lower() != "models":
            break
        where = "the models folder of " if models else ""
        if _is_a1111_app(app):
            if (app / "modules_forge").is_dir():
                return "forge", f"{where}a Forge folder"
            return "a1111", f"{where}an AUTOMATIC1111 folder"
        if _is_comfyui_app(app):
            return "comfyui", f"{where}a ComfyUI folder"
    comfy_names = {rel.split("/")[0] for rels in DEFAULT_FOLDERS.values() for rel in rels}
    if any((folder / name).is_dir() for name in A1111_MARKERS):
        return "a1111", "an AUTOMATIC1111/Forge models folder"
    if any((folder / "models" / name).is_dir() for name in A1111_MARKERS):
        return "a1111", "AUTOMATIC1111's layout (models/Stable-diffusion, models/Lora)"
    if any((folder / "models" / name).is_dir() for name in comfy_names):
        return "comfyui", "ComfyUI's layout (models/checkpoints, models/loras)"
    if any((folder / name).is_dir() for name in comfy_names):
        return "standalone", "a standalone models folder"
    return None


def get_layout(
    host: str,
    root: str | os.PathLike | None = None,
    *,
    other_dir: str | os.PathLike | None = None,
    subfolder_template: str | None = None,
    subfolders: Mapping[str, str | os.PathLike] | None = None,
) -> Layout:
    """The layout of one app.

    ``root=None`` reads the running host's configuration (A1111/Forge, ComfyUI) or, standalone,
    ``CIVITAI_COMPANION_MODELS`` / ``<state dir>/models``. A given ``root`` (the app's folder, or its
    ``models`` folder) uses the app's default table under it and needs no host import.
    Raises ``LayoutError`` (a ``ValueError``) for an unknown host, a bad template, or a missing host.
    """
    name = _HOST_ALIASES.get(str(host or "").strip().lower().replace("-", "").replace("_", ""))
    if name is None:
        raise LayoutError(f"unknown host {host!r}: use one of {', '.join(HOSTS)}")
    options = {"other_dir": other_dir, "subfolder_template": subfolder_template, "subfolders": subfolders}
    if name == "a1111":
        from .a1111 import A1111Layout

        return A1111Layout(root, **options)
    if name == "comfyui":
        from .comfyui import ComfyUILayout

        return ComfyUILayout(root, **options)
    from .standalone import StandaloneLayout

    return StandaloneLayout(root, **options)


__all__ = [
    "HOSTS",
    "KINDS",
    "MODEL_TYPES",
    "TEMPLATE_FIELDS",
    "Layout",
    "LayoutError",
    "TemplateError",
    "canonical_type",
    "detect_host",
    "get_layout",
    "kind_for",
    "sanitize_component",
]
