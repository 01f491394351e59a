"""The library index as the app reads it: the one module of the app that opens it.

Rows are shaped like ``scan --json`` (path, sha256, status, modelId, modelVersionId, trainedWords, preview,
newerVersionId, ...). Scans and downloads write the index themselves; the app only reads it, so the
Library view and the cards' "installed" badges cost no Civitai request.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Iterable


class LibraryView:
    def __init__(self, *, path: str | os.PathLike | None = None) -> None:
        self._path = path
        self._index: Any = None
        self._lock = threading.Lock()

    @property
    def index(self) -> Any:
        """The state dir's index (or ``path``'s), opened on first use, never at import or start-up."""
        with self._lock:
            if self._index is None:
                from ..library.index import open_index

                self._index = open_index(self._path)
            return self._index

    def rows(self, *, types: Iterable[str] = (), base_models: Iterable[str] = (), status: str | None = None,
             query: str | None = None) -> list[dict]:
        return self.index.rows(types=tuple(types), base_models=tuple(base_models), status=status, query=query)

    def by_version(self, version_id: int) -> list[dict]:
        return self.index.by_version(version_id)

    def by_sha256(self, sha256: str) -> dict | None:
        return self.index.by_sha256(sha256)

    def close(self) -> None:
        with self._lock:
            if self._index is not None:
                self._index.close()
                self._index = None
