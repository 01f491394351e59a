"""Standalone (no host app): ComfyUI's folder names directly under one models folder.

The root is ``CIVITAI_COMPANION_MODELS`` when set, else ``<state dir>/models``; ComfyUI's names were chosen
so that the folder can later be handed to ComfyUI (``extra_model_paths.yaml``) as it is.
"""

from __future__ import annotations

import os
from pathlib import Path

from .comfyui import ComfyUILayout

MODELS_ENV = "CIVITAI_COMPANION_MODELS"


def default_root() -> Path:
    """The standalone models folder, read from the environment each time."""
    env = os.environ.get(MODELS_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    from .. import config

    return config.home_dir() / "models"


class StandaloneLayout(ComfyUILayout):
    """``<root>/checkpoints``, ``<root>/loras``, ... with no host to ask."""

    name = "standalone"

    def __init__(self, root: str | os.PathLike | None = None, **options):
        super().__init__(default_root() if root is None else root, **options)

    @staticmethod
    def _models_for_root(root: Path) -> Path:
        return root
