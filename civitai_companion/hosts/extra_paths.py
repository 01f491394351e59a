"""ComfyUI's ``extra_model_paths.yaml``, read outside ComfyUI, so the CLI and the standalone app see
exactly the folders ComfyUI sees.

The file has sections (``comfyui``, ``a111``, or any name), each a mapping of folder keys (``loras``,
``checkpoints``, ...) to one folder or several, one per line (a YAML ``|`` block). ``base_path`` is
prepended to every folder of its section (itself taken from the file's folder when relative, with
``~`` and ``$VARS`` expanded); ``is_default: true`` puts the section's folders before ComfyUI's own,
so they become the download target. Inside ComfyUI none of this is needed: ``folder_paths`` knows.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from .base import LayoutError

log = logging.getLogger(__name__)

FILE_NAME = "extra_model_paths.yaml"
# Older key names ComfyUI still accepts in this file, and the keys it files them under.
LEGACY_KEYS = {"unet": "diffusion_models", "clip": "text_encoders"}
_NOT_FOLDERS = {"base_path", "is_default"}


@dataclass
class ExtraPaths:
    """Folders by ComfyUI key: ``first`` go before ComfyUI's own folders (``is_default``), ``last`` after."""

    source: Path | None = None
    first: dict[str, list[Path]] = field(default_factory=dict)
    last: dict[str, list[Path]] = field(default_factory=dict)

    def around(self, key: str, defaults: list[Path]) -> list[Path]:
        """ComfyUI's folders of ``key`` with this file's folders before and after, each folder once."""
        names = (key, *(old for old, new in LEGACY_KEYS.items() if new == key))
        ordered = [p for n in names for p in self.first.get(n, [])] + list(defaults)
        ordered += [p for n in names for p in self.last.get(n, [])]
        seen: set[str] = set()
        unique = []
        for path in ordered:
            norm = os.path.normcase(os.path.normpath(path))
            if norm not in seen:
                seen.add(norm)
                unique.append(path)
        return unique

    def keys(self) -> set[str]:
        return {LEGACY_KEYS.get(k, k) for k in (*self.first, *self.last)}


def _expand(text: str) -> str:
    return os.path.expandvars(os.path.expanduser(text))


def parse(text: str, *, source: Path) -> ExtraPaths:
    """The folders a ``extra_model_paths.yaml`` names; relative ones are taken from ``source``'s folder.

    Not YAML, or not a mapping of sections, is a :class:`LayoutError` naming the file; a section or
    value of the wrong shape is skipped with a warning, as ComfyUI goes on without it.
    """
    import yaml

    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise LayoutError(f"{source} is not valid YAML{where}: {getattr(exc, 'problem', None) or exc}") from None
    result = ExtraPaths(source=source)
    if document is None:
        return result
    if not isinstance(document, dict):
        raise LayoutError(f"{source} should map section names (like comfyui: or a111:) to folders")
    here = source.parent
    for section, conf in document.items():
        if conf is None:
            continue
        if not isinstance(conf, dict):
            log.warning("%s: section %r is not a mapping of folders; ignored", source, section)
            continue
        base = conf.get("base_path")
        base_path = None
        if isinstance(base, str) and base.strip():
            base_path = Path(_expand(base.strip()))
            base_path = base_path if base_path.is_absolute() else here / base_path
        target = result.first if conf.get("is_default") else result.last
        for key, value in conf.items():
            if key in _NOT_FOLDERS:
                continue
            if not isinstance(value, str):
                log.warning("%s: %s.%s is not a folder or a list of folders (one per line); ignored",
                            source, section, key)
                continue
            for line in value.splitlines():
                line = line.strip()
                if not line:
                    continue
                folder = Path(_expand(line))
                if not folder.is_absolute():
                    folder = (base_path or here) / folder
                target.setdefault(str(key), []).append(Path(os.path.normpath(folder)))
    return result


def read(path: str | os.PathLike) -> ExtraPaths:
    """``parse`` the file at ``path``; a missing file names no folder."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ExtraPaths()
    except (OSError, UnicodeDecodeError) as exc:
        raise LayoutError(f"cannot read {path}: {exc}") from None
    return parse(text, source=path.absolute())


def for_root(root: str | os.PathLike, models: str | os.PathLike | None = None) -> ExtraPaths:
    """The ``extra_model_paths.yaml`` of a ComfyUI folder: in ``root``, or beside ``models`` when the
    user gave the models folder itself as the root."""
    root = Path(root)
    candidates = [root / FILE_NAME]
    if models is not None and Path(models) == root:
        candidates.append(root.parent / FILE_NAME)
    for candidate in candidates:
        if candidate.is_file():
            return read(candidate)
    return ExtraPaths()
