"""AUTOMATIC1111 / Forge: where each kind of model lives.

Defaults are under the webui folder (``models_path`` = ``<webui>/models``, ``data_path`` = ``<webui>``);
every folder has a command-line override in ``shared.cmd_opts``, which wins when it is set. Inside the
host, ``modules.paths`` and ``modules.shared`` are read on every call (never at import), so the layout
follows the running webui, including ``--data-dir`` / Forge's ``--models-dir``.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path

from .base import Layout, LayoutError, first_set, looks_like_models_dir, path_list

# kind -> (cmd_opts attribute, default folder under models_path)
_FOLDERS: dict[str, tuple[str | None, str]] = {
    "checkpoint": ("ckpt_dir", "Stable-diffusion"),
    "diffusion_model": ("ckpt_dir", "Stable-diffusion"),  # Forge loads diffusion-only files from here
    "lora": ("lora_dir", "Lora"),
    "hypernetwork": ("hypernetwork_dir", "hypernetworks"),
    "vae": ("vae_dir", "VAE"),
    "text_encoder": ("text_encoder_dir", "text_encoder"),  # Forge
    "controlnet": ("controlnet_dir", "ControlNet"),
    "upscaler": ("esrgan_models_path", "ESRGAN"),
    "detection": (None, "adetailer"),
}

# Upscaler families A1111 loads, each from its own sibling folder.
_UPSCALER_FOLDERS = (
    ("esrgan_models_path", "ESRGAN"),
    ("realesrgan_models_path", "RealESRGAN"),
    ("swinir_models_path", "SwinIR"),
    ("dat_models_path", "DAT"),
    ("bsrgan_models_path", "BSRGAN"),
)

ANIMATEDIFF_MODEL_DIR = ("sd-webui-animatediff", "model")
CONTROLNET_EXTENSION_MODEL_DIR = ("sd-webui-controlnet", "models")


@dataclass
class _State:
    """One reading of the host's configuration."""

    models: Path
    data: Path
    extensions: Path
    cmd_opts: argparse.Namespace = field(default_factory=argparse.Namespace)
    opts_data: dict = field(default_factory=dict)

    def opt(self, name: str | None) -> Path | None:
        return first_set(getattr(self.cmd_opts, name, None)) if name else None

    def opt_list(self, name: str) -> list[Path]:
        return path_list(getattr(self.cmd_opts, name, None))


MODELS_DIR_MARKERS = ("Stable-diffusion", "Lora")  # sub-folders that tell the models folder from the app folder


class A1111Layout(Layout):
    """AUTOMATIC1111 and Forge share this layout (Forge adds text encoders and built-in ControlNet)."""

    name = "a1111"

    def __init__(self, root: str | os.PathLike | None = None, **options):
        super().__init__(**options)
        self._root = None if root is None else Path(root).expanduser()
        if self._root is None:
            self._host_modules()  # fail now, with a clear message, rather than at the first download

    @staticmethod
    def _host_modules():
        try:
            from modules import paths, shared
        except ImportError:
            raise LayoutError(
                "not running inside AUTOMATIC1111/Forge (cannot import modules.shared): give the webui folder as root"
            ) from None
        return paths, shared

    def _state(self) -> _State:
        if self._root is not None:
            if looks_like_models_dir(self._root, MODELS_DIR_MARKERS):
                models, data = self._root, self._root.parent
            else:
                models, data = self._root / "models", self._root
            return _State(models=models, data=data, extensions=data / "extensions")
        paths, shared = self._host_modules()
        models = first_set(getattr(paths, "models_path", None))
        data = first_set(getattr(paths, "data_path", None))
        if data is None:
            data = models.parent if models else Path.cwd()
        models = models or data / "models"
        extensions = first_set(getattr(paths, "extensions_dir", None)) or data / "extensions"
        opts = getattr(shared, "opts", None)
        opts_data = getattr(opts, "data", None)
        return _State(
            models=models,
            data=data,
            extensions=extensions,
            cmd_opts=getattr(shared, "cmd_opts", None) or argparse.Namespace(),
            opts_data=opts_data if isinstance(opts_data, dict) else {},
        )

    def models_dir(self) -> Path:
        return self._state().models

    def _default_other(self) -> Path:
        return self._state().models / "Other"

    def _motion_folder(self, state: _State) -> Path:
        return first_set(state.opts_data.get("animatediff_model_path")) or state.extensions.joinpath(
            *ANIMATEDIFF_MODEL_DIR
        )

    def _folder(self, state: _State, kind: str) -> Path:
        if kind == "embedding":
            return state.opt("embeddings_dir") or state.data / "embeddings"
        if kind == "motion_module":
            return self._motion_folder(state)
        if kind in _FOLDERS:
            option, default = _FOLDERS[kind]
            return state.opt(option) or state.models / default
        return self.other_folder()  # e.g. CLIP vision: A1111 has no folder for it

    def _kind_folder(self, kind: str) -> Path:
        return self._folder(self._state(), kind)

    def _kind_scan(self) -> dict[str, list[Path]]:
        state = self._state()
        m = state.models
        scan = {
            "checkpoint": [self._folder(state, "checkpoint"), m / "Stable-diffusion", *state.opt_list("ckpt_dirs")],
            "lora": [
                self._folder(state, "lora"),
                state.opt("lyco_dir_backcompat") or m / "LyCORIS",
                *state.opt_list("lora_dirs"),
            ],
            "embedding": [self._folder(state, "embedding")],
            "hypernetwork": [self._folder(state, "hypernetwork")],
            "vae": [self._folder(state, "vae"), m / "VAE", *state.opt_list("vae_dirs")],
            "text_encoder": [
                self._folder(state, "text_encoder"),
                m / "text_encoder",
                *state.opt_list("text_encoder_dirs"),
            ],
            "controlnet": [
                self._folder(state, "controlnet"),
                m / "ControlNet",
                *path_list(state.opts_data.get("control_net_models_path")),
                state.extensions.joinpath(*CONTROLNET_EXTENSION_MODEL_DIR),
            ],
            "upscaler": [state.opt(opt) or m / name for opt, name in _UPSCALER_FOLDERS],
            "detection": [self._folder(state, "detection")],
            "motion_module": [self._motion_folder(state), state.extensions.joinpath(*ANIMATEDIFF_MODEL_DIR)],
        }
        return scan
