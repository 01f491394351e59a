"""What every host layout shares: Civitai type -> model kind, safe sub-folder templates, the Layout base.

A *kind* is a small, host-independent vocabulary ("checkpoint", "lora", ...). Each host maps a kind to a
folder; Civitai's model type and file type only ever decide the kind. Civitai adds model types every
month, so an unknown type is never an error: it becomes the kind "other", with one warning per type.
"""

from __future__ import annotations

import logging
import os
import re
import string
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Mapping, NamedTuple

log = logging.getLogger(__name__)

KINDS = (
    "checkpoint",
    "diffusion_model",
    "lora",
    "embedding",
    "hypernetwork",
    "vae",
    "text_encoder",
    "clip_vision",
    "controlnet",
    "upscaler",
    "detection",
    "motion_module",
    "other",
)


class ModelType(NamedTuple):
    """One Civitai model type as the API spells it, and the kind of file it is."""

    name: str
    kind: str


# Every Civitai model type known in 2026 (civitai-api.md). Types with no folder of their own in any host
# (poses, wildcards, workflows, language models) are "other" on purpose: known, so no warning.
MODEL_TYPES: tuple[ModelType, ...] = (
    ModelType("Checkpoint", "checkpoint"),
    ModelType("TextualInversion", "embedding"),
    ModelType("Hypernetwork", "hypernetwork"),
    ModelType("AestheticGradient", "other"),
    ModelType("LORA", "lora"),
    ModelType("LoCon", "lora"),
    ModelType("DoRA", "lora"),
    ModelType("Controlnet", "controlnet"),
    ModelType("Upscaler", "upscaler"),
    ModelType("MotionModule", "motion_module"),
    ModelType("VAE", "vae"),
    ModelType("TextEncoder", "text_encoder"),
    ModelType("UNet", "diffusion_model"),
    ModelType("CLIPVision", "clip_vision"),
    ModelType("Poses", "other"),
    ModelType("Wildcards", "other"),
    ModelType("Workflows", "other"),
    ModelType("ComfyWorkflows", "other"),
    ModelType("Detection", "detection"),
    ModelType("VisionLanguage", "other"),
    ModelType("CLIP", "text_encoder"),
    ModelType("LLM", "other"),
    ModelType("Other", "other"),
)

# Spellings people type that are not Civitai's own.
_TYPE_ALIASES = {
    "embedding": "textualinversion",
    "embeddings": "textualinversion",
    "lycoris": "locon",
    "lyco": "locon",
    "diffusionmodel": "unet",
    "motion": "motionmodule",
}

# File types that say more than the model type: a "VAE" file of a Checkpoint version is a VAE.
_FILE_TYPE_KINDS = {
    "vae": "vae",
    "textencoder": "text_encoder",
    "diffusionmodel": "diffusion_model",
    "unet": "diffusion_model",
    "trainingdata": "other",
}


def _norm(value: object) -> str:
    """Case-, space-, dash- and underscore-insensitive form: "Text Encoder" == "text_encoder" == "TEXTENCODER"."""
    return re.sub(r"[\s_\-]+", "", str(value)).lower()


_BY_NORM = {_norm(t.name): t for t in MODEL_TYPES}
_KIND_BY_NORM = {_norm(k): k for k in KINDS}

_warned: set[str] = set()
_warned_lock = threading.Lock()


def warn_once(key: str, message: str, *args: object) -> None:
    """Log a warning the first time ``key`` is seen in this process (scans ask thousands of times)."""
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    log.warning(message, *args)


def model_type(name: object) -> ModelType | None:
    """The known Civitai type for any spelling of it, or None."""
    if name is None:
        return None
    key = _norm(name)
    return _BY_NORM.get(_TYPE_ALIASES.get(key, key))


def canonical_type(name: object) -> str:
    """Civitai's spelling of a type ("lora" -> "LORA"); unknown types come back stripped, as given."""
    known = model_type(name)
    return known.name if known else str(name or "").strip()


def file_type_kind(file_type: object) -> str | None:
    """The kind a Civitai *file* type forces, or None when the model type decides."""
    if file_type is None:
        return None
    return _FILE_TYPE_KINDS.get(_norm(file_type))


def kind_for(model_type_name: object, file_type: object = None, *, warn: bool = True) -> str:
    """The kind of a file; the file type wins over the model type; unknown types are "other"."""
    forced = file_type_kind(file_type)
    if forced:
        return forced
    known = model_type(model_type_name)
    if known:
        return known.kind
    if warn:
        label = _type_label(model_type_name)
        warn_once("type:" + _norm(label), "unknown Civitai model type %r: treated as the kind 'other'", label)
    return "other"


def _type_label(model_type_name: object) -> str:
    return str(model_type_name or "").strip() or "(missing)"


# ---------------------------------------------------------------------------------------------------
# Sub-folder templates: user text and API text become path components that can never leave the folder.

TEMPLATE_FIELDS = ("baseModel", "modelName", "modelType", "versionName", "modelId", "versionId")
MAX_COMPONENT_CHARS = 100
_MAX_COMPONENT_BYTES = 200  # ext4/NTFS allow 255 bytes; 100 CJK characters would be 300
_RESERVED_CHARS = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {
    f"{dev}{n}" for dev in ("COM", "LPT") for n in list("123456789") + ["¹", "²", "³"]
}


def sanitize_component(value: object) -> str:
    """One safe path component: no separators, no "..", no drive, no control or reserved characters/names."""
    text = "" if value is None else str(value)
    text = _RESERVED_CHARS.sub("_", text)
    text = "".join(ch if ch.isprintable() or ch == " " else "_" for ch in text)
    text = text.strip().rstrip(". ")
    if len(text) > MAX_COMPONENT_CHARS:
        text = text[:MAX_COMPONENT_CHARS]
    while len(text.encode("utf-8")) > _MAX_COMPONENT_BYTES:
        text = text[:-1]
    text = text.strip().rstrip(". ")
    if not text or set(text) == {"."}:
        return "_"
    if text.split(".")[0].strip().upper() in _WINDOWS_RESERVED:
        text = "_" + text
    return text


class LayoutError(ValueError):
    """A layout cannot be built: unknown host, bad template, or the host app is not running here."""


class TemplateError(LayoutError):
    """A sub-folder template the user typed cannot be used."""


class SubfolderTemplate:
    """A template such as ``{baseModel}/{modelName}``, checked once, rendered into sanitised components."""

    def __init__(self, text: str):
        self.text = text
        self._parts: list[list[tuple[str, str | None]]] = []
        for raw in re.split(r"[/\\]+", text):
            if not raw.strip():
                continue
            try:
                parsed = list(string.Formatter().parse(raw))
            except ValueError as exc:
                raise TemplateError(f"bad sub-folder template {text!r}: {exc}") from None
            part: list[tuple[str, str | None]] = []
            for literal, field, spec, conversion in parsed:
                if field is not None and (field not in TEMPLATE_FIELDS or spec or conversion):
                    raise TemplateError(
                        f"bad sub-folder template {text!r}: unknown field {{{field}}}; "
                        f"use {', '.join('{' + f + '}' for f in TEMPLATE_FIELDS)}"
                    )
                part.append((literal, field))
            self._parts.append(part)

    def render(self, values: Mapping[str, object]) -> list[str]:
        """The path components for one model; a missing value renders as "_"."""
        components = []
        for part in self._parts:
            pieces = []
            for literal, field in part:
                pieces.append(literal)
                if field is not None:
                    value = values.get(field)
                    pieces.append("_" if value is None or str(value).strip() == "" else str(value))
            components.append(sanitize_component("".join(pieces)))
        return components


# ---------------------------------------------------------------------------------------------------


class Layout(ABC):
    """Where each kind of model lives for one host; subclasses say where, this class says how to ask."""

    name = "base"

    def __init__(
        self,
        *,
        other_dir: str | os.PathLike | None = None,
        subfolder_template: str | None = None,
        subfolders: Mapping[str, str | os.PathLike] | None = None,
    ):
        self._other_dir = other_dir
        self._template = SubfolderTemplate(subfolder_template) if subfolder_template else None
        self._type_overrides: dict[str, str | os.PathLike] = {}
        self._kind_overrides: dict[str, str | os.PathLike] = {}
        for key, folder in (subfolders or {}).items():
            if folder is None or str(folder).strip() == "":
                continue
            norm = _norm(key)
            if norm in _KIND_BY_NORM:
                self._kind_overrides[_KIND_BY_NORM[norm]] = folder
            else:
                known = model_type(key)
                self._type_overrides[_norm(known.name) if known else norm] = folder

    # --- what subclasses provide -------------------------------------------------------------------
    @abstractmethod
    def models_dir(self) -> Path:
        """The host's models root; relative user folders are taken from here."""

    @abstractmethod
    def _default_other(self) -> Path:
        """The host's catch-all folder when the user has not chosen one."""

    @abstractmethod
    def _kind_folder(self, kind: str) -> Path:
        """The host's download folder for a kind (before user overrides)."""

    @abstractmethod
    def _kind_scan(self) -> dict[str, list[Path]]:
        """The host's folders to scan, by kind (before user overrides)."""

    # --- the interface -----------------------------------------------------------------------------
    def _user_folder(self, folder: str | os.PathLike) -> Path:
        path = Path(folder).expanduser()
        return path if path.is_absolute() else self.models_dir() / path

    def other_folder(self) -> Path:
        """The catch-all folder (configurable) for types no host has a folder for."""
        if self._kind_overrides.get("other"):
            return self._user_folder(self._kind_overrides["other"])
        if self._other_dir is not None and str(self._other_dir).strip():
            return self._user_folder(self._other_dir)
        return self._default_other()

    def kind_for(self, model_type_name: object, file_type: object = None) -> str:
        """The kind of a Civitai file (same vocabulary as ``scan_folders`` keys)."""
        return kind_for(model_type_name, file_type)

    def type_folder(self, model_type_name: object, file_type: object = None) -> Path:
        """The folder for a type, without the sub-folder template."""
        kind = kind_for(model_type_name, file_type, warn=False)
        if file_type_kind(file_type) is None:
            override = self._type_overrides.get(_norm(canonical_type(model_type_name)))
            if override:
                return self._user_folder(override)
        if kind == "other":
            folder = self.other_folder()
            if file_type_kind(file_type) is None and model_type(model_type_name) is None:
                label = _type_label(model_type_name)
                # Said the same way to every caller: the command line and the Python API both take a folder.
                warn_once("type:" + _norm(label), "unknown Civitai model type %r: it goes to the catch-all folder %s "
                          "(--folder DIR, or folder= in Python, picks another)", label, folder)
            return folder
        if self._kind_overrides.get(kind):
            return self._user_folder(self._kind_overrides[kind])
        return self._kind_folder(kind)

    def folder_for(
        self,
        model_type: object,
        file_type: object = None,
        *,
        base_model: object = None,
        model_name: object = None,
        version_name: object = None,
        model_id: object = None,
        version_id: object = None,
    ) -> Path:
        """Where a file of this Civitai model type and file type is downloaded (not created here)."""
        folder = self.type_folder(model_type, file_type)
        if self._template is None:
            return folder
        values = {
            "baseModel": base_model,
            "modelName": model_name,
            "modelType": canonical_type(model_type) or None,
            "versionName": version_name,
            "modelId": model_id,
            "versionId": version_id,
        }
        return folder.joinpath(*self._template.render(values))

    def scan_folders(self) -> dict[str, list[Path]]:
        """Every folder to scan, by kind; folders may not exist yet; no folder is listed twice."""
        found = {kind: list(paths) for kind, paths in self._kind_scan().items()}
        for kind, folder in self._kind_overrides.items():
            found.setdefault(kind, []).insert(0, self._user_folder(folder))
        for type_key, folder in self._type_overrides.items():
            found.setdefault(kind_for(type_key, warn=False), []).append(self._user_folder(folder))
        found.setdefault("other", []).insert(0, self.other_folder())
        seen: set[str] = set()
        result: dict[str, list[Path]] = {}
        for kind in sorted(found, key=lambda k: KINDS.index(k) if k in KINDS else len(KINDS)):
            for path in found[kind]:
                key = os.path.normcase(os.path.abspath(path))
                if key not in seen:
                    seen.add(key)
                    result.setdefault(kind, []).append(path)
        return result

    def describe(self) -> list[tuple[str, Path]]:
        """Type -> folder rows for help texts, then the file types that override the model type."""
        rows = [(t.name, self.type_folder(t.name)) for t in MODEL_TYPES]
        rows.append(("(unknown type)", self.other_folder()))
        rows.append(('file type "VAE"', self.type_folder("Checkpoint", "VAE")))
        rows.append(('file type "Text Encoder"', self.type_folder("Checkpoint", "Text Encoder")))
        rows.append(('file type "Diffusion Model"/"UNet"', self.type_folder("Checkpoint", "Diffusion Model")))
        return rows

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} models={self.models_dir()}>"


class FolderLayout(Layout):
    """Every type in one folder the user chose (``download --folder DIR``); the sub-folder template still
    applies under it, as it does under a host's folders."""

    name = "folder"

    def __init__(self, folder: str | os.PathLike, *, subfolder_template: str | None = None):
        super().__init__(subfolder_template=subfolder_template)
        self._folder = Path(folder).expanduser()

    def models_dir(self) -> Path:
        return self._folder

    def _default_other(self) -> Path:
        return self._folder

    def _kind_folder(self, kind: str) -> Path:
        return self._folder

    def _kind_scan(self) -> dict[str, list[Path]]:
        return {}

    def type_folder(self, model_type_name: object, file_type: object = None) -> Path:
        return self._folder  # the user chose it for this download: an unknown type needs no warning


def looks_like_models_dir(root: Path, markers: tuple[str, ...]) -> bool:
    """True when the user pointed at the app's ``models`` folder rather than at the app's own folder, so
    ``--root`` accepts either: it holds ``markers``, or it is named ``models`` and has no ``models`` of its
    own (a new, empty models folder must not get ``models/models/...``)."""
    if (root / "models").is_dir():
        return False
    return root.name.lower() == "models" or any((root / n).is_dir() for n in markers)


def first_set(*values: object) -> Path | None:
    """The first configured folder among host options (None and "" mean "not set")."""
    for value in values:
        if value is not None and str(value).strip():
            return Path(os.fspath(value)).expanduser()
    return None


def path_list(value: object) -> list[Path]:
    """A host option that may be one folder, a list of folders, or unset."""
    if value is None:
        return []
    if isinstance(value, (list, tuple, set)):
        return [p for v in value if (p := first_set(v)) is not None]
    single = first_set(value)
    return [single] if single else []
