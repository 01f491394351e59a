"""What identifies a local model file and how it is reported: its real path, the (size, mtime_ns,
inode) that says it is unchanged, and its ``scan --json`` row, the one shape that ``scan``, the library
index, ``library`` and the app share.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Iterable, Mapping

if TYPE_CHECKING:
    from ..api.types import ModelVersion


def stat_key(st: os.stat_result) -> tuple[int, int, int]:
    """(size, mtime_ns, inode) as SQLite can store it: renaming, touching or replacing a file changes it."""
    inode = st.st_ino
    if inode >= 2**63:  # SQLite integers are signed 64-bit; some file systems use the top bit
        inode -= 2**64
    return st.st_size, st.st_mtime_ns, inode


class RealPaths:
    """``os.path.realpath`` for many files in few folders: each folder is resolved once, each file
    costs one ``lstat`` (a library of 10,000 files would otherwise pay a stat per path component)."""

    def __init__(self) -> None:
        self._dirs: dict[str, str] = {}

    def __call__(self, path: str | os.PathLike, *, link: bool | None = None) -> str:
        """``link``: whether ``path`` itself is a symlink, when the caller knows (saves the lstat)."""
        head, name = os.path.split(os.path.abspath(os.fspath(path)))
        real_dir = self._dirs.get(head)
        if real_dir is None:
            real_dir = self._dirs[head] = os.path.realpath(head)
        full = os.path.join(real_dir, name)
        if link or (link is None and os.path.islink(full)):
            return os.path.realpath(full)
        return full


def real_path(path: str | os.PathLike) -> str:
    """The key of a file's row: its real path, so two ways to reach one file are one row."""
    return os.path.realpath(os.path.abspath(os.fspath(path)))


# Keys of a row that the update check decides; kept from the index while no check runs.
UPDATE_KEYS = ("newerVersionId", "newerVersionName", "otherBaseVersions")


def version_row(path: str | os.PathLike, sha256: str | None, version: "ModelVersion", *, kind: str | None = None,
                preview: str | os.PathLike | None = None, newer: "ModelVersion | None" = None,
                other_base: "Iterable[ModelVersion]" = ()) -> dict:
    """The ``scan --json`` object of a resolved file: Civitai's names for Civitai's values. The library
    index stores exactly this, so ``library --json`` and ``scan --json`` answer alike."""
    v = version
    out: dict = {
        "path": str(path), "sha256": sha256, "status": "resolved",
        "modelId": v.model_id, "modelVersionId": v.id, "modelName": v.model.name, "versionName": v.name,
        "type": v.model.type, "baseModel": v.base_model, "trainedWords": list(v.trained_words),
    }
    if newer is not None:
        out["newerVersionId"], out["newerVersionName"] = newer.id, newer.name
    if other_base:  # later releases for other base models: news, not updates (see updates.py)
        out["otherBaseVersions"] = [{"modelVersionId": o.id, "versionName": o.name, "baseModel": o.base_model}
                                    for o in other_base]
    out["kind"], out["preview"] = kind, str(preview) if preview else None
    return out


def version_from_row(row: Mapping) -> "ModelVersion":
    """A resolved index row as the version it names (enough for the update check and the tables)."""
    from ..api.types import ModelVersion, VersionModel

    words = row.get("trainedWords")
    return ModelVersion(
        id=row.get("modelVersionId"), model_id=row.get("modelId"), name=row.get("versionName"),
        base_model=row.get("baseModel"), trained_words=[w for w in words if isinstance(w, str)] if isinstance(words, list) else [],
        model=VersionModel(name=row.get("modelName"), type=row.get("type")),
    )
