"""Stand-in for ``comfy.sd``: the two loaders the Civitai nodes call, returning records of what was asked."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Patched:
    """A model or CLIP with a LoRA applied (ComfyUI returns a patched clone of its ModelPatcher)."""

    base: object
    lora_file: str
    strength: float


@dataclass(frozen=True)
class Loaded:
    part: str  # "model", "clip", "vae", "clipvision"
    path: str


def load_lora_for_models(model, clip, lora, strength_model, strength_clip):
    source = lora.get("__file__", "")
    new_model = Patched(model, source, strength_model) if model is not None else None
    new_clip = Patched(clip, source, strength_clip) if clip is not None else None
    return (new_model, new_clip)


def load_checkpoint_guess_config(ckpt_path, output_vae=True, output_clip=True, output_clipvision=False,
                                 embedding_directory=None, output_model=True, model_options={}, te_model_options={}):
    return (Loaded("model", ckpt_path) if output_model else None, Loaded("clip", ckpt_path) if output_clip else None,
            Loaded("vae", ckpt_path) if output_vae else None, None, None)
