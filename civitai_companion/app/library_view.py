"""The library index as the app reads it: the one module of the app that knows where the index lives.

Rows are shaped like ``scan --json`` (path, sha256, status, modelId, modelVersionId, trainedWords, ...).
Without an index module (older installs) the rows of the last scan and of finished downloads are kept
in memory instead, so the Library view still shows what this process learnt.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any, Iterable

log = logging.getLogger(__name__)


class LibraryView:
    def __init__(self, *, path: str | os.PathLike | None = None) -> None:
        self._path = path
        self._index: Any = None
        self._opened = False
        self._lock = threading.Lock()
        self._memory: dict[str, dict] = {}

    @property
    def index(self) -> Any:
        """The shared index, opened on first use (never at import or start-up); None if there is none."""
        with self._lock:
            if not self._opened:
                self._opened = True
                try:
                    from ..library.index import open_index
                except ImportError:
                    self._index = None
                else:
                    self._index = open_index(self._path) if self._path is not None else open_index()
            return self._index

    def rows(self, *, types: Iterable[str] = (), base_models: Iterable[str] = (), status: str | None = None,
             query: str | None = None) -> list[dict]:
        index = self.index
        if index is not None:
            return index.rows(types=tuple(types), base_models=tuple(base_models), status=status, query=query)
        with self._lock:
            rows = sorted(self._memory.values(), key=lambda r: r.get("path") or "")
        return [r for r in rows if _matches(r, tuple(types), tuple(base_models), status, query)]

    def by_version(self, version_id: int) -> list[dict]:
        index = self.index
        if index is not None:
            return index.by_version(version_id)
        with self._lock:
            return [r for r in self._memory.values() if r.get("modelVersionId") == version_id]

    def by_sha256(self, sha256: str) -> dict | None:
        index = self.index
        if index is not None:
            return index.by_sha256(sha256)
        with self._lock:
            return next((r for r in self._memory.values() if (r.get("sha256") or "").upper() == sha256.upper()), None)

    def record_scan(self, entries: list, folders: Iterable[str | os.PathLike]) -> None:
        """Store what a scan found (the scanner may have done so already: storing twice is harmless)."""
        index = self.index
        rows = [(e.to_json() | {"kind": e.kind}, _stat(e.path)) for e in entries]
        if index is not None and hasattr(index, "put"):
            index.put(rows, updates_checked=True)
            if hasattr(index, "drop_missing"):
                index.drop_missing(folders, [e.path for e in entries])
            return
        with self._lock:
            self._memory = {row["path"]: row for row, _st in rows}

    def record_download(self, path: Path, version: Any, file: Any, *, kind: str | None = None) -> None:
        index = self.index
        if index is not None:
            return  # the download transaction records its own files in the index
        row = {"path": str(path), "sha256": getattr(file, "sha256", None), "status": "resolved", "kind": kind,
               "modelId": version.model_id, "modelVersionId": version.id, "modelName": version.model.name,
               "versionName": version.name, "type": version.model.type, "baseModel": version.base_model,
               "trainedWords": list(version.trained_words)}
        with self._lock:
            self._memory[str(path)] = row


def _stat(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _matches(row: dict, types: tuple, base_models: tuple, status: str | None, query: str | None) -> bool:
    if types and row.get("type") not in types:
        return False
    if base_models and row.get("baseModel") not in base_models:
        return False
    if status == "update":
        if not row.get("newerVersionId"):
            return False
    elif status and row.get("status") != status:
        return False
    if query:
        text = " ".join(str(row.get(k) or "") for k in ("path", "modelName", "versionName", "baseModel", "type"))
        text += " " + " ".join(row.get("trainedWords") or [])
        return all(word in text.lower() for word in query.lower().split())
    return True
