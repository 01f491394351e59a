"""Test stand-in for A1111's ``modules.shared``: ``cmd_opts`` and ``opts``.

``cmd_opts`` is an ``argparse.Namespace`` with the folder options' real defaults: those the webui's
parser fills in (``embeddings_dir``, ``hypernetwork_dir``, ``esrgan_models_path``, the built-in Lora
extension's ``lora_dir``/``lyco_dir_backcompat``) are paths; the others (``ckpt_dir``, ``vae_dir``,
Forge's ``text_encoder_dir``/``controlnet_dir``) are ``None`` until given on the command line.
``opts.data`` is the settings dict (config.json); ``opts.add_option`` registers a setting with its default.
"""

from __future__ import annotations

import argparse
import json
import os

from modules import paths


class OptionInfo:
    """A setting's default, label and Gradio component, as extensions declare them."""

    def __init__(self, default=None, label="", component=None, component_args=None, onchange=None,
                 section=None, refresh=None, **kwargs):
        self.default = default
        self.label = label
        self.component = component
        self.component_args = component_args
        self.onchange = onchange
        self.section = section
        self.refresh = refresh
        self.extra = kwargs


class Options:
    """Settings: values in ``data``, declarations in ``data_labels``; ``opts.key`` reads a value."""

    def __init__(self):
        object.__setattr__(self, "data", {})
        object.__setattr__(self, "data_labels", {})

    def add_option(self, key: str, info: OptionInfo) -> None:
        self.data_labels[key] = info
        self.data.setdefault(key, info.default)

    def set(self, key, value) -> bool:
        """What the Settings page's "Apply" does per field: store, then run the option's onchange."""
        old = self.data.get(key)
        if old == value:
            return False
        self.data[key] = value
        info = self.data_labels[key]
        if info.onchange is not None:
            info.onchange()
        return True

    def save(self, filename) -> None:
        with open(filename, "w", encoding="utf-8") as fh:
            json.dump(self.data, fh, indent=4)

    def __getattr__(self, key):
        if key in self.data:
            return self.data[key]
        if key in self.data_labels:
            return self.data_labels[key].default
        raise AttributeError(key)

    def __setattr__(self, key, value):
        self.data[key] = value


def default_cmd_opts() -> argparse.Namespace:
    m, d = paths.models_path, paths.data_path
    return argparse.Namespace(
        data_dir=d,
        ckpt_dir=None,
        vae_dir=None,
        text_encoder_dir=None,
        controlnet_dir=None,
        embeddings_dir=os.path.join(d, "embeddings"),
        hypernetwork_dir=os.path.join(m, "hypernetworks"),
        lora_dir=os.path.join(m, "Lora"),
        lyco_dir_backcompat=os.path.join(m, "LyCORIS"),
        esrgan_models_path=os.path.join(m, "ESRGAN"),
        realesrgan_models_path=os.path.join(m, "RealESRGAN"),
        bsrgan_models_path=os.path.join(m, "BSRGAN"),
        dat_models_path=os.path.join(m, "DAT"),
        codeformer_models_path=os.path.join(m, "Codeformer"),
        gfpgan_models_path=os.path.join(m, "GFPGAN"),
        skip_install=False,
        api=False,
        api_auth=None,
        gradio_auth=None,
    )


cmd_opts = default_cmd_opts()
opts = Options()
config_filename = os.path.join(paths.data_path, "config.json")


def reset() -> None:
    """Fresh ``cmd_opts`` (from the current ``modules.paths``) and empty settings."""
    global cmd_opts, opts, config_filename
    cmd_opts = default_cmd_opts()
    opts = Options()
    config_filename = os.path.join(paths.data_path, "config.json")
