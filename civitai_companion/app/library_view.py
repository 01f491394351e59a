"""The library index as the app reads it: the one module of the app that opens it.

Rows are shaped like ``scan --json`` (path, sha256, status, modelId, modelVersionId, trainedWords, preview,
newerVersionId, ...). Scans and downloads write the index themselves; the app only reads it, so the
Library view and the cards' "installed" badges cost no Civitai request.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any, Iterable


CACHED_QUERIES = 4
CACHE_SECONDS = 5.0  # a file time can be as coarse as a few ms: never trust an unchanged stamp for longer


class LibraryView:
    def __init__(self, *, path: str | os.PathLike | None = None) -> None:
        self._path = path
        self._index: Any = None
        self._lock = threading.Lock()
        self._cache: dict[tuple, tuple[float, list[dict]]] = {}

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
        """The matching rows; the same filters again while the index is unchanged cost nothing (the
        Library view pages through 10,000 rows one request at a time)."""
        index = self.index
        key = (tuple(types), tuple(base_models), status, query, self._stamp(index))
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        rows = index.rows(types=key[0], base_models=key[1], status=status, query=query)
        with self._lock:
            if key not in self._cache and len(self._cache) >= CACHED_QUERIES:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = (now, rows)
        return rows

    @staticmethod
    def _stamp(index: Any) -> tuple | None:
        """Changes whenever the index file or its write-ahead log is written (by any thread or process)."""
        path = getattr(index, "path", None)
        if path is None:
            return None
        stamp = []
        for name in (os.fspath(path), os.fspath(path) + "-wal"):
            try:
                st = os.stat(name)
            except OSError:
                stamp.append(None)
            else:
                stamp.append((st.st_mtime_ns, st.st_size, st.st_ino))
        return tuple(stamp)

    def by_version(self, version_id: int) -> list[dict]:
        return self.index.by_version(version_id)

    def by_sha256(self, sha256: str) -> dict | None:
        return self.index.by_sha256(sha256)

    def close(self) -> None:
        with self._lock:
            if self._index is not None:
                self._index.close()
                self._index = None
            self._cache.clear()
