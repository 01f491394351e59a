"""Where model files live in each app: ``get_layout("a1111" | "comfyui" | "standalone", root)``.

Importing this package imports no host module; host configuration is read when a layout is asked.
"""

from __future__ import annotations

import os
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
    "get_layout",
    "kind_for",
    "sanitize_component",
]
