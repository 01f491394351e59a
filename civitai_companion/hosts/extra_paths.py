"""ComfyUI's ``extra_model_paths.yaml``, read outside ComfyUI, so the CLI and the standalone app see
exactly the folders ComfyUI sees.

The file has sections (``comfyui``, ``a111``, or any name), each a mapping of folder keys (``loras``,
``checkpoints``, ...) to one folder or several, one per line (a YAML ``|`` block). ``base_path`` is
prepended to every folder of its section (itself taken from the file's folder when relative, with
``~`` and ``$VARS`` expanded; the folders are not expanded, as ComfyUI does not expand them either); a
relative folder without ``base_path`` is taken from the file's folder. Folders are added in the file's
order after ComfyUI's own, except that ``is_default: true`` puts each of a section's folders first, so
the last one becomes the download target, exactly as ComfyUI's ``folder_paths`` orders them. Inside
ComfyUI none of this is needed: ``folder_paths`` knows.
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
    """The file's folders by ComfyUI key, in the file's order, each with its section's ``is_default``."""

    source: Path | None = None
    added: dict[str, list[tuple[Path, bool]]] = field(default_factory=dict)

    def add(self, key: str, folder: Path, is_default: bool) -> None:
        self.added.setdefault(LEGACY_KEYS.get(key, key), []).append((folder, is_default))

    def around(self, key: str, defaults: list[Path]) -> list[Path]:
        """ComfyUI's own folders of ``key`` with this file's added the way ``folder_paths`` adds them:
        appended, or put first for ``is_default`` (a folder already listed is moved, never repeated)."""
        paths = list(dict.fromkeys(defaults))
        for folder, is_default in self.added.get(LEGACY_KEYS.get(key, key), []):
            if folder in paths:
                if is_default and paths[0] != folder:
                    paths.remove(folder)
                    paths.insert(0, folder)
            elif is_default:
                paths.insert(0, folder)
            else:
                paths.append(folder)
        return paths

    def keys(self) -> set[str]:
        return set(self.added)


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
        is_default = bool(conf.get("is_default"))
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
                folder = Path(line)
                if base_path is not None or not folder.is_absolute():
                    folder = (base_path or here) / folder
                result.add(str(key), Path(os.path.normpath(folder)), is_default)
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
