"""ComfyUI: where each kind of model lives.

Inside ComfyUI every answer comes from ``folder_paths`` (imported on each call, never at import), so
``extra_model_paths.yaml``, ``--base-directory`` and folders other node packs register are honoured:
the first path of a key is the download target, all of its paths are scanned. Outside ComfyUI (``root``
given) the default ``models/<key>`` folders under that root are used, with the folders the root's
``extra_model_paths.yaml`` adds (:mod:`.extra_paths`).
"""

from __future__ import annotations

import os
from pathlib import Path

from . import extra_paths
from .base import Layout, LayoutError, looks_like_models_dir, warn_once

# kind -> folder_paths key
KEY_FOR_KIND = {
    "checkpoint": "checkpoints",
    "diffusion_model": "diffusion_models",
    "lora": "loras",
    "embedding": "embeddings",
    "hypernetwork": "hypernetworks",
    "vae": "vae",
    "text_encoder": "text_encoders",
    "clip_vision": "clip_vision",
    "controlnet": "controlnet",
    "upscaler": "upscale_models",
    # Detection models are YOLO files for Impact Pack's UltralyticsDetectorProvider, which lists
    # "bbox/<file>" from ultralytics_bbox (models/ultralytics/bbox) and "segm/<file>" from ultralytics_segm.
    "detection": "ultralytics_bbox",
    # AnimateDiff-Evolved's key; not registered unless that node pack is installed.
    "motion_module": "animatediff_models",
}

# Keys scanned for a kind beyond its target key.
_EXTRA_SCAN_KEYS = {"detection": ("ultralytics_segm",)}

# Older ComfyUI releases only know the legacy names.
_LEGACY_KEYS = {"text_encoders": ("clip",), "diffusion_models": ("unet",)}

# key -> default folders under the models folder; the first is the download target outside ComfyUI.
DEFAULT_FOLDERS: dict[str, tuple[str, ...]] = {
    "checkpoints": ("checkpoints",),
    "diffusion_models": ("diffusion_models", "unet"),
    "loras": ("loras",),
    "embeddings": ("embeddings",),
    "hypernetworks": ("hypernetworks",),
    "vae": ("vae",),
    "text_encoders": ("text_encoders", "clip"),
    "clip_vision": ("clip_vision",),
    "controlnet": ("controlnet", "t2i_adapter"),
    "upscale_models": ("upscale_models",),
    "ultralytics_bbox": ("ultralytics/bbox",),
    "ultralytics_segm": ("ultralytics/segm",),
    "animatediff_models": ("animatediff_models",),
}

OTHER_FOLDER = "other"


MODELS_DIR_MARKERS = ("checkpoints", "loras")  # sub-folders that tell the models folder from the app folder


class ComfyUILayout(Layout):
    """ComfyUI's layout; with ``root`` it is the default table under ``root/models``."""

    name = "comfyui"

    def __init__(self, root: str | os.PathLike | None = None, **options):
        super().__init__(**options)
        self._models: Path | None = None
        self._extra = extra_paths.ExtraPaths()
        if root is not None:
            self._models = self._models_for_root(Path(root).expanduser())
            self._extra = extra_paths.for_root(Path(root).expanduser(), self._models)
        else:
            self._folder_paths()  # fail now, with a clear message

    @staticmethod
    def _models_for_root(root: Path) -> Path:
        return root if looks_like_models_dir(root, MODELS_DIR_MARKERS) else root / "models"

    @staticmethod
    def _folder_paths():
        try:
            import folder_paths
        except ImportError:
            raise LayoutError(
                "not running inside ComfyUI (cannot import folder_paths): give the ComfyUI folder as root"
            ) from None
        return folder_paths

    def models_dir(self) -> Path:
        if self._models is not None:
            return self._models
        fp = self._folder_paths()
        models = getattr(fp, "models_dir", None)
        if models:
            return Path(models)
        return Path(getattr(fp, "base_path", ".")) / "models"

    def _default_other(self) -> Path:
        return self.models_dir() / OTHER_FOLDER

    def _key_paths(self, key: str) -> list[Path]:
        """All folders of a key: folder_paths' answer inside ComfyUI, else the defaults."""
        defaults = [self.models_dir() / rel for rel in DEFAULT_FOLDERS.get(key, (key,))]
        if self._models is not None:
            return self._extra.around(key, defaults)
        fp = self._folder_paths()
        for name in (key, *_LEGACY_KEYS.get(key, ())):
            try:
                paths = [Path(p) for p in fp.get_folder_paths(name) if p]
            except Exception:  # KeyError for unknown keys; a broken node pack must not break us
                continue
            if paths:
                return paths
        warn_once(
            "comfyui-key:" + key,
            "ComfyUI has no %r model folder registered (is the node pack that uses it installed?); using %s",
            key,
            defaults[0],
        )
        return defaults

    def _kind_folder(self, kind: str) -> Path:
        key = KEY_FOR_KIND.get(kind)
        return self._key_paths(key)[0] if key else self.other_folder()

    def _kind_scan(self) -> dict[str, list[Path]]:
        scan: dict[str, list[Path]] = {}
        for kind, key in KEY_FOR_KIND.items():
            for name in (key, *_EXTRA_SCAN_KEYS.get(kind, ())):
                scan.setdefault(kind, []).extend(self._key_paths(name))
        return scan
