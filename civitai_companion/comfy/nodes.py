"""The Civitai nodes: plain ComfyUI (V1) classes, as in ComfyUI's own ``nodes.py``.

A reference (version id, AIR or Civitai URL) is a STRING widget; the file it names is found locally
without a request or downloaded on the server into ComfyUI's first folder for its kind. No node has a
token input: widgets are saved into workflows and PNGs, the token never is. ComfyUI modules are
imported inside methods, so this file imports (cheaply) outside ComfyUI.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..library.prompts import split_words, word_key
from . import images, runtime

CATEGORY = "Civitai"
NONE = "(none)"
MODEL_TYPES = ("any", "Checkpoint", "LORA", "LoCon", "DoRA", "TextualInversion", "Hypernetwork", "VAE",
               "Controlnet", "Upscaler", "MotionModule", "TextEncoder", "UNet", "Detection")
SORTS = ("Highest Rated", "Most Downloaded", "Most Liked", "Most Discussed", "Most Collected", "Most Images",
         "Newest", "Oldest")
PERIODS = ("AllTime", "Year", "Month", "Week", "Day")
INFO_KEYS = ("loras", "checkpoints", "embeddings", "vae", "hypernetworks", "controlnet", "upscale_models",
             "diffusion_models", "text_encoders", "clip_vision")
REFERENCE_TIP = "A Civitai version id, AIR (urn:air:sdxl:lora:civitai:123@456) or URL; downloaded when missing."


def _files(key: str) -> list[str]:
    import folder_paths

    try:
        return list(folder_paths.get_filename_list(key))
    except KeyError:
        return []


def _words(words: list[str]) -> str:
    return ", ".join(split_words(words))


def _check_choice(key: str, name: str | None, reference: str | None) -> bool | str:
    """A reference must parse (no request); without one the local file must exist. A linked input
    (None: ComfyUI validates before its source has run) is checked when the node runs."""
    if reference is None or (name is None and not (reference or "").strip()):
        return True
    if (reference or "").strip():
        try:
            runtime.read_reference(reference)
        except ValueError as exc:
            return str(exc)
        return True
    if name in _files(key):
        return True
    return f"choose a file from models/{key} or give a Civitai reference (version id, AIR or URL)"


def _change_key(name: str | None, reference: str | None) -> str:
    """What decides whether a loader runs again: the reference's version, else the local file's name."""
    return runtime.reference_key(reference) if (reference or "").strip() else f"file:{name}"


def _local_model(key: str, name: str, reference: str) -> runtime.LocalModel:
    """The file a loader loads: the reference's (downloaded when missing) or the chosen local file."""
    kind = {"loras": "lora", "checkpoints": "checkpoint"}[key]
    if (reference or "").strip():
        return runtime.ensure_model(reference, kinds=(kind,))
    import folder_paths

    path = folder_paths.get_full_path(key, name)
    if path is None:
        raise ValueError(f"{name!r} is not in models/{key}: choose another file or give a Civitai reference")
    return runtime.local_info(Path(path)) or runtime.LocalModel(path=Path(path), name=Path(path).stem)


def _loader_ui(found: runtime.LocalModel) -> dict:
    data = images.read_local_preview(found.path)
    return {"images": images.save_for_ui(data), "trained_words": [_words(found.trained_words)],
            "air": [found.air] if found.air else []}


class CivitaiSearch:
    """Search Civitai from a graph: the n-th result's ids, AIR, name, trained words and preview."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "query": ("STRING", {"default": "", "tooltip": "Words in the model's name."}),
            "type": (list(MODEL_TYPES), {"default": "LORA"}),
            "base_model": ("STRING", {"default": "", "tooltip": "e.g. SDXL 1.0, Pony, Illustrious (empty: any)."}),
            "sort": (list(SORTS), {"default": "Highest Rated"}),
            "period": (list(PERIODS), {"default": "AllTime"}),
            "nsfw": ("BOOLEAN", {"default": False}),
            "index": ("INT", {"default": 0, "min": 0, "max": 99, "tooltip": "Which result: 0 is the first."}),
        }}

    RETURN_TYPES = ("INT", "INT", "STRING", "STRING", "STRING", "IMAGE")
    RETURN_NAMES = ("model_id", "version_id", "air", "name", "trained_words", "preview")
    FUNCTION = "search"
    CATEGORY = CATEGORY
    DESCRIPTION = "Searches Civitai and gives one result's latest version."

    def search(self, query, type, base_model, sort, period, nsfw, index):  # noqa: A002 - the widget's name
        client = runtime.make_client()
        filters = {"query": query.strip() or None, "types": None if type == "any" else [type],
                   "base_models": [base_model.strip()] if base_model.strip() else None, "sort": sort,
                   "period": period, "nsfw": bool(nsfw)}
        found = list(client.models(limit=index + 1, **filters))
        if len(found) <= index:
            raise ValueError(f"the search found {len(found)} models; index {index} is past the end")
        model = found[index]
        version = model.latest_version
        if version is None or version.id is None:
            raise ValueError(f"model {model.id} ({model.name}) has no published version")
        data = images.fetch_preview(client, version, max_nsfw_level=31 if nsfw else 1)
        air = runtime.make_air(model.id, version.id, version.air)
        words = _words(version.trained_words)
        result = (model.id, version.id, air, model.name or "", words, images.to_image(data))
        return {"ui": {"images": images.save_for_ui(data), "trained_words": [words]}, "result": result}


class CivitaiModelInfo:
    """What Civitai knows about a local file, by its hash; the library index answers first (no request)."""

    @classmethod
    def INPUT_TYPES(cls):
        names = sorted({name for key in INFO_KEYS for name in _files(key)})
        return {"required": {"kind": (list(INFO_KEYS),), "file": (names or [NONE],)}}

    RETURN_TYPES = ("STRING", "STRING", "STRING", "STRING", "IMAGE")
    RETURN_NAMES = ("trained_words", "model_name", "version_id", "url", "preview")
    FUNCTION = "info"
    CATEGORY = CATEGORY
    DESCRIPTION = "Identifies a local model file on Civitai by its SHA-256 and gives its trained words."

    @classmethod
    def VALIDATE_INPUTS(cls, kind=None, file=None):  # noqa: A002
        import folder_paths

        if kind is None or file is None:
            return True  # linked: checked when the node runs
        if kind in folder_paths.folder_names_and_paths and folder_paths.get_full_path(kind, file):
            return True
        return f"{file!r} is not in models/{kind}"

    @classmethod
    def IS_CHANGED(cls, kind=None, file=None, **_):  # noqa: A002
        import folder_paths

        path = folder_paths.get_full_path(kind, file)
        try:
            stat = os.stat(path) if path else None
        except OSError:
            stat = None
        return f"{path}:{stat.st_size}:{stat.st_mtime_ns}" if stat else f"missing:{kind}/{file}"

    def info(self, kind, file):  # noqa: A002
        import folder_paths

        path = folder_paths.get_full_path(kind, file)
        if path is None:
            raise ValueError(f"{file!r} is not in models/{kind}")
        found = runtime.local_info(Path(path))
        client = None
        if found is None:
            client = runtime.make_client()
            found = _identify(Path(path), client)
        data = images.read_local_preview(found.path)
        version = str(found.version_id or "")
        url = ""
        if found.model_id and found.version_id:
            base = (client or runtime.make_client()).base_url
            url = f"{base}/models/{found.model_id}?modelVersionId={found.version_id}"
        words = _words(found.trained_words)
        result = (words, found.name, version, url, images.to_image(data))
        return {"ui": {"images": images.save_for_ui(data), "trained_words": [words]}, "result": result}


def _identify(path: Path, client) -> runtime.LocalModel:
    """Hash the file (the hash cache spares a re-read), ask Civitai, write the sidecars."""
    from ..library.scanner import entries_for_paths, scan

    report = scan(entries_for_paths([path]), client=client, host="comfyui", updates=False)
    entry = report.entries[0]
    if entry.status == "error":
        raise ValueError(f"{path.name}: {entry.error}")
    if entry.status != "resolved" or entry.version is None:
        raise ValueError(f"{path.name} is not on Civitai (no version has a file with SHA-256 {entry.sha256})")
    return runtime.local_info(path) or runtime.LocalModel(
        path=path, version_id=entry.version.id, model_id=entry.version.model_id,
        name=entry.version.model.name or path.stem, model_type=entry.version.model.type,
        air=runtime.make_air(entry.version.model_id, entry.version.id, entry.version.air),
        trained_words=list(entry.version.trained_words))


class CivitaiLoraLoader:
    """ComfyUI's LoRA loader that also takes a Civitai reference and downloads the LoRA when missing."""

    def __init__(self):
        self.loaded = None  # (path, state dict): the same file is not read twice in a row

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "model": ("MODEL",),
            "clip": ("CLIP",),
            "lora_name": ([NONE, *_files("loras")], {"tooltip": "A local LoRA (ignored when a reference is given)."}),
            "reference": ("STRING", {"default": "", "tooltip": REFERENCE_TIP}),
            "strength_model": ("FLOAT", {"default": 1.0, "min": -100.0, "max": 100.0, "step": 0.01}),
            "strength_clip": ("FLOAT", {"default": 1.0, "min": -100.0, "max": 100.0, "step": 0.01}),
        }}

    RETURN_TYPES = ("MODEL", "CLIP", "STRING")
    RETURN_NAMES = ("MODEL", "CLIP", "trigger_words")
    FUNCTION = "load_lora"
    CATEGORY = CATEGORY
    DESCRIPTION = "Applies a LoRA chosen locally or by Civitai reference (downloaded into models/loras when missing)."

    @classmethod
    def VALIDATE_INPUTS(cls, lora_name=None, reference=None):
        return _check_choice("loras", lora_name, reference)

    @classmethod
    def IS_CHANGED(cls, lora_name=None, reference=None, **_):
        return _change_key(lora_name, reference)

    def load_lora(self, model, clip, lora_name, reference, strength_model, strength_clip):
        import comfy.sd
        import comfy.utils

        found = _local_model("loras", lora_name, reference)
        words = _words(found.trained_words)
        ui = _loader_ui(found)
        if strength_model == 0 and strength_clip == 0:
            return {"ui": ui, "result": (model, clip, words)}
        path = str(found.path)
        if self.loaded is None or self.loaded[0] != path:
            self.loaded = (path, comfy.utils.load_torch_file(path, safe_load=True))
        model_lora, clip_lora = comfy.sd.load_lora_for_models(model, clip, self.loaded[1], strength_model, strength_clip)
        return {"ui": ui, "result": (model_lora, clip_lora, words)}


class CivitaiCheckpointLoader:
    """ComfyUI's checkpoint loader that also takes a Civitai reference and downloads it when missing."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "ckpt_name": ([NONE, *_files("checkpoints")], {"tooltip": "A local checkpoint (ignored with a reference)."}),
            "reference": ("STRING", {"default": "", "tooltip": REFERENCE_TIP}),
        }}

    RETURN_TYPES = ("MODEL", "CLIP", "VAE", "STRING")
    RETURN_NAMES = ("MODEL", "CLIP", "VAE", "trigger_words")
    FUNCTION = "load_checkpoint"
    CATEGORY = CATEGORY
    DESCRIPTION = "Loads a checkpoint chosen locally or by Civitai reference (downloaded into models/checkpoints)."

    @classmethod
    def VALIDATE_INPUTS(cls, ckpt_name=None, reference=None):
        return _check_choice("checkpoints", ckpt_name, reference)

    @classmethod
    def IS_CHANGED(cls, ckpt_name=None, reference=None, **_):
        return _change_key(ckpt_name, reference)

    def load_checkpoint(self, ckpt_name, reference):
        import comfy.sd
        import folder_paths

        found = _local_model("checkpoints", ckpt_name, reference)
        out = comfy.sd.load_checkpoint_guess_config(str(found.path), output_vae=True, output_clip=True,
                                                    embedding_directory=folder_paths.get_folder_paths("embeddings"))
        return {"ui": _loader_ui(found), "result": (*out[:3], _words(found.trained_words))}


class CivitaiDownload:
    """Download any Civitai file onto the ComfyUI server, into the folder its type belongs in."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"reference": ("STRING", {"default": "", "tooltip": REFERENCE_TIP})}}

    RETURN_TYPES = ("STRING",)
    RETURN_NAMES = ("path",)
    FUNCTION = "download"
    CATEGORY = CATEGORY
    OUTPUT_NODE = True
    DESCRIPTION = "Downloads a Civitai version into the ComfyUI folder for its type (the file type wins)."

    @classmethod
    def VALIDATE_INPUTS(cls, reference=None):
        if reference is not None and not reference.strip():
            return "give a Civitai reference"
        return _check_choice("", "", reference)

    @classmethod
    def IS_CHANGED(cls, reference=None, **_):
        return runtime.reference_key(reference)

    def download(self, reference):
        found = runtime.ensure_model(reference)
        ui = _loader_ui(found)
        ui["text"] = [str(found.path)]
        return {"ui": ui, "result": (str(found.path),)}


class CivitaiPrompt:
    """A prompt with trained words put in front of or after it, each word once, encoded when a CLIP is given."""

    @classmethod
    def INPUT_TYPES(cls):
        linked = ("STRING", {"forceInput": True})
        return {
            "required": {
                "text": ("STRING", {"multiline": True, "default": "", "dynamicPrompts": True}),
                "position": (["prepend", "append"],),
            },
            "optional": {"trigger_words": linked, "trigger_words_2": linked, "trigger_words_3": linked,
                         "clip": ("CLIP",)},
        }

    RETURN_TYPES = ("STRING", "CONDITIONING")
    RETURN_NAMES = ("text", "CONDITIONING")
    FUNCTION = "build"
    CATEGORY = CATEGORY
    DESCRIPTION = "Adds trigger words to a prompt without repeating words it already has."

    def build(self, text, position, trigger_words="", trigger_words_2="", trigger_words_3="", clip=None):
        text = (text or "").strip()
        have = {word_key(w) for w in text.split(",") if word_key(w)}
        words = [w for w in split_words([trigger_words or "", trigger_words_2 or "", trigger_words_3 or ""])
                 if word_key(w) not in have]
        added = ", ".join(words)
        if not added:
            prompt = text
        elif not text:
            prompt = added
        else:
            prompt = f"{added}, {text}" if position == "prepend" else f"{text.rstrip(',').rstrip()}, {added}"
        conditioning = None
        if clip is not None:
            conditioning = clip.encode_from_tokens_scheduled(clip.tokenize(prompt))
        return (prompt, conditioning)


NODE_CLASS_MAPPINGS = {
    "CivitaiSearch": CivitaiSearch,
    "CivitaiModelInfo": CivitaiModelInfo,
    "CivitaiLoraLoader": CivitaiLoraLoader,
    "CivitaiCheckpointLoader": CivitaiCheckpointLoader,
    "CivitaiDownload": CivitaiDownload,
    "CivitaiPrompt": CivitaiPrompt,
}

NODE_DISPLAY_NAME_MAPPINGS = {
    "CivitaiSearch": "Civitai Search",
    "CivitaiModelInfo": "Civitai Model Info",
    "CivitaiLoraLoader": "Civitai LoRA Loader",
    "CivitaiCheckpointLoader": "Civitai Checkpoint Loader",
    "CivitaiDownload": "Civitai Download",
    "CivitaiPrompt": "Civitai Prompt",
}
