"""The library index: every known model file answered locally, without hashing or asking Civitai.

One SQLite file (WAL, so the CLI, A1111 and ComfyUI may share it) in the state dir holds one row per
real file: the ``scan --json`` object as the last scan or download reported it, plus the file's
(size, mtime_ns, inode) when it was seen. A rescan trusts a resolved row whose key still matches the
file, so an unchanged library costs no ``by-hash`` request; the app's Library view and the hosts'
badges read :meth:`LibraryIndex.rows`. A file reachable by two paths (a symlinked folder, an A1111
``--lora-dir`` inside a ComfyUI tree) is one row, keyed on its real path. Like the hash cache, a damaged
file is moved aside and a new index started: it can always be rebuilt by a scan.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Iterable, NamedTuple, Sequence

from .. import config

from .rows import RealPaths, real_path, stat_key, version_row
from .sqlite_file import GuardedSQLite

log = logging.getLogger(__name__)

INDEX_FILE_NAME = "library.sqlite"
STATUSES = ("resolved", "unknown", "error")

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS files (
        real TEXT PRIMARY KEY,
        path TEXT NOT NULL,
        size INTEGER, mtime_ns INTEGER, inode INTEGER,
        sha256 TEXT, status TEXT NOT NULL,
        model_id INTEGER, version_id INTEGER, newer_version_id INTEGER,
        type TEXT, base_model TEXT, kind TEXT,
        search TEXT NOT NULL DEFAULT '',
        row TEXT NOT NULL, sidecars TEXT,
        updates_checked_at REAL, updated_at REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS files_sha256 ON files (sha256)",
    "CREATE INDEX IF NOT EXISTS files_version ON files (version_id)",
    "CREATE INDEX IF NOT EXISTS files_path ON files (path)",
)
_COLUMNS = "real, path, size, mtime_ns, inode, sha256, status, model_id, version_id, newer_version_id, type," \
           " base_model, kind, search, row, sidecars, updates_checked_at, updated_at"


class Known(NamedTuple):
    """What the index holds for one file: the (size, mtime_ns, inode) it was seen with (None: never
    trust the row), its row, and the host its sidecars were last written for (None: not by us)."""

    key: tuple[int, int, int] | None
    row: dict
    sidecars: str | None


def _under(column: str, folders: Sequence[str]) -> tuple[str, list[str]]:
    """SQL that is true when ``column`` is one of ``folders`` or inside one ('/' + 1 is '0')."""
    parts, args = [], []
    for folder in folders:
        base = folder.rstrip(os.sep) or os.sep
        prefix = base if base.endswith(os.sep) else base + os.sep
        parts.append(f"({column} = ? OR ({column} >= ? AND {column} < ?))")
        args += [base, prefix, prefix[:-1] + chr(ord(os.sep) + 1)]
    return "(" + " OR ".join(parts) + ")", args


def _search_text(row: dict) -> str:
    words = row.get("trainedWords") if isinstance(row.get("trainedWords"), list) else []
    bits = [os.path.basename(str(row.get("path") or "")), row.get("modelName"), row.get("versionName"),
            row.get("type"), row.get("baseModel"), *words]
    return " ".join(str(b) for b in bits if b).lower()


def _int_or_none(value: object) -> int | None:
    return value if type(value) is int else None


class LibraryIndex(GuardedSQLite):
    """What is known about each local model file; thread-safe; ``open_index()`` gives the shared one.

    Never makes its caller fail: when the file cannot be used, reads answer nothing and writes are
    skipped with one warning (a scan can always fill it again).
    """

    LABEL, OFF, REBUILT = "library index", "nothing will be indexed", "the next scan rebuilds it"
    ALIEN = ("no such", "malformed")

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path is not None else config.home_dir() / INDEX_FILE_NAME
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._disabled = False
        self._warned = False

    # -- reading --------------------------------------------------------------------------------------------
    def rows(
        self,
        *,
        paths: Iterable[str | os.PathLike] | None = None,
        types: Iterable[str] = (),
        base_models: Iterable[str] = (),
        status: str | None = None,
        query: str | None = None,
    ) -> list[dict]:
        """Rows shaped like ``scan --json``, sorted by path, filtered by every filter given.

        ``paths``: files or folders (a row matches when its path or real path is one of them or inside
        one); ``types``: Civitai types or layout kinds, any case; ``status``: resolved, unknown, error or
        ``update`` (a newer version is known); ``query``: words found in names, trained words or file name.
        """
        where, args = [], []
        if paths is not None:
            folders = sorted({os.path.abspath(os.fspath(Path(p).expanduser())) for p in paths}
                             | {real_path(Path(p).expanduser()) for p in paths})
            if not folders:
                return []
            path_sql, path_args = _under("path", folders)
            real_sql, real_args = _under("real", folders)
            where.append(f"({path_sql} OR {real_sql})")
            args += path_args + real_args
        wanted_types = sorted({str(t).lower() for t in types if str(t).strip()})
        if wanted_types:
            marks = ",".join("?" * len(wanted_types))
            where.append(f"(lower(type) IN ({marks}) OR lower(kind) IN ({marks}))")
            args += wanted_types * 2
        wanted_bases = sorted({str(b).lower() for b in base_models if str(b).strip()})
        if wanted_bases:
            where.append(f"lower(base_model) IN ({','.join('?' * len(wanted_bases))})")
            args += wanted_bases
        if status == "update":
            where.append("newer_version_id IS NOT NULL")
        elif status:
            if status not in STATUSES:
                raise ValueError(f"unknown status {status!r}: use resolved, unknown, error or update")
            where.append("status = ?")
            args.append(status)
        for word in (query or "").lower().split():
            where.append("instr(search, ?) > 0")
            args.append(word)
        sql = "SELECT row FROM files" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY path"
        return [row for (text,) in self._run(lambda c: c.execute(sql, args).fetchall(), []) if (row := _decode(text))]

    def by_sha256(self, sha256: str) -> dict | None:
        """The row of a file with this SHA-256 (a resolved one when there are several), or None."""
        sql = "SELECT row FROM files WHERE sha256 = ? ORDER BY status != 'resolved', path LIMIT 1"
        found = self._run(lambda c: c.execute(sql, ((sha256 or "").upper(),)).fetchone(), None)
        return _decode(found[0]) if found else None

    def by_version(self, version_id: int) -> list[dict]:
        """Rows of every local file of one Civitai version (a version may be installed twice)."""
        sql = "SELECT row FROM files WHERE version_id = ? ORDER BY path"
        return [r for (text,) in self._run(lambda c: c.execute(sql, (int(version_id),)).fetchall(), [])
                if (r := _decode(text))]

    def known(self, paths: Iterable[str | os.PathLike], *, real: bool = False) -> dict[str, Known]:
        """``{real path: Known}`` for the files given that have a row (``real``: the paths are real paths)."""
        resolve = os.fspath if real else RealPaths()
        reals = list(dict.fromkeys(resolve(p) for p in paths))
        found: dict = {}

        def read(conn: sqlite3.Connection) -> None:
            for start in range(0, len(reals), 500):
                chunk = reals[start : start + 500]
                marks = ",".join("?" * len(chunk))
                sql = f"SELECT real, size, mtime_ns, inode, row, sidecars FROM files WHERE real IN ({marks})"
                for real, size, mtime_ns, inode, text, sidecars in conn.execute(sql, chunk):
                    row = _decode(text)
                    if row:
                        key = (size, mtime_ns, inode) if None not in (size, mtime_ns, inode) else None
                        found[real] = Known(key, row, sidecars)

        self._run(read, None)
        return found

    def __len__(self) -> int:
        found = self._run(lambda c: c.execute("SELECT count(*) FROM files").fetchone(), None)
        return found[0] if found else 0

    # -- writing -------------------------------------------------------------------------------------------
    def put(self, rows: Iterable[tuple], *, updates_checked: bool = False) -> int:
        """Store ``(scan --json row, stat of the file[, host its sidecars were written for])`` in one
        transaction; returns how many.

        A row without a stat is stored with no key, so a rescan never trusts it. ``updates_checked``
        records that the update check just ran for these rows.
        """
        now = time.time()
        records = []
        real = RealPaths()
        for row, st, *more in rows:
            path = row.get("path")
            if not isinstance(path, str) or not path:
                continue
            size, mtime_ns, inode = stat_key(st) if st is not None else (None, None, None)
            records.append((
                real(path) if st is not None else os.path.abspath(path), path, size, mtime_ns, inode,
                (row.get("sha256") or None) and str(row["sha256"]).upper(), str(row.get("status") or "error"),
                _int_or_none(row.get("modelId")), _int_or_none(row.get("modelVersionId")),
                _int_or_none(row.get("newerVersionId")), row.get("type"), row.get("baseModel"), row.get("kind"),
                _search_text(row), json.dumps(row, ensure_ascii=False), more[0] if more else None,
                now if updates_checked else None, now,
            ))
        if not records:
            return 0

        names = _COLUMNS.split(", ")
        sql = (f"INSERT INTO files ({_COLUMNS}) VALUES ({','.join('?' * len(names))}) ON CONFLICT(real) DO UPDATE SET "
               + ", ".join(f"{n} = excluded.{n}" for n in names[1:] if n != "updates_checked_at")
               + ", updates_checked_at = coalesce(excluded.updates_checked_at, files.updates_checked_at)")

        def write(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                conn.executemany(sql, records)

        self._run(write, None)
        return len(records)

    def mark_checked(self, paths: Iterable[str | os.PathLike], *, real: bool = False) -> None:
        """Record that the update check just ran for these files (rows that did not change otherwise;
        ``real``: the paths are real paths)."""
        now, resolve = time.time(), (os.fspath if real else RealPaths())
        keys = [(now, resolve(p)) for p in paths]
        if keys:
            def write(conn: sqlite3.Connection) -> None:
                with _transaction(conn):
                    conn.executemany("UPDATE files SET updates_checked_at = ? WHERE real = ?", keys)

            self._run(write, None)

    def drop_missing(self, folders: Iterable[str | os.PathLike], keep: Iterable[str | os.PathLike], *,
                     real: bool = False) -> int:
        """Forget rows under ``folders`` whose file is not in ``keep`` (what a full scan of them found;
        ``real``: those are real paths)."""
        tops = sorted({os.path.abspath(os.fspath(f)) for f in folders} | {real_path(f) for f in folders})
        if not tops:
            return 0
        resolve = os.fspath if real else RealPaths()
        kept = {resolve(p) for p in keep}
        kept |= {os.path.abspath(os.fspath(p)) for p in keep} if not real else set()
        path_sql, path_args = _under("path", tops)
        real_sql, real_args = _under("real", tops)
        sql = f"SELECT real, path FROM files WHERE {path_sql} OR {real_sql}"

        def drop(conn: sqlite3.Connection) -> int:
            gone = [real for real, path in conn.execute(sql, path_args + real_args)
                    if real not in kept and path not in kept]
            with _transaction(conn):
                conn.executemany("DELETE FROM files WHERE real = ?", [(g,) for g in gone])
            return len(gone)

        return self._run(drop, 0)

    def forget(self, paths: Iterable[str | os.PathLike]) -> None:
        """Drop the rows of these files (by real path and by path as given)."""
        real = RealPaths()
        keys = [(real(p), os.path.abspath(os.fspath(p))) for p in paths]
        if keys:
            self._run(lambda c: c.executemany("DELETE FROM files WHERE real = ? OR path = ?", keys), None)

    def record_download(self, path: str | os.PathLike, version: Any, file: Any, *, kind: str | None = None,
                        sha256: str | None = None, preview: str | os.PathLike | None = None,
                        sidecars: str | None = None) -> dict | None:
        """Index a file the download transaction just verified, as resolved, without asking Civitai;
        ``sidecars`` is the host its sidecars were written for, if they were."""
        path = Path(path).absolute()
        try:
            st = os.stat(path)
        except OSError as exc:
            log.warning("not indexing %s: %s", path, exc)
            return None
        sha = (sha256 or getattr(file, "sha256", None) or "").upper() or None
        if preview is None:
            from .sidecars import existing_previews

            found = existing_previews(path)
            preview = found[0] if found else None
        row = version_row(path, sha, version, kind=kind, preview=preview)
        self.put([(row, st, sidecars)])
        return row

    # -- plumbing ------------------------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> "LibraryIndex":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), timeout=10, isolation_level=None, check_same_thread=False)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute(f"SELECT {_COLUMNS} FROM files LIMIT 1")
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn



class _transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error (the connection is in autocommit mode)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, *_exc) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


def _decode(text: str) -> dict | None:
    try:  # our own writing: plain json (safe_json's checks would cost a library of 10,000 rows 0.2 s)
        row = json.loads(text)
    except (ValueError, TypeError, RecursionError):
        return None
    return row if isinstance(row, dict) else None


def index_download(result: Any, plan: Any, *, host: str | None = None, index: LibraryIndex | None = None) -> None:
    """Index what a download transaction just verified (its ``DownloadResult`` and ``DownloadPlan``) as
    resolved, so the next scan neither reads nor asks about it. Never fails the download."""
    try:
        from ..hosts.base import kind_for

        kind = kind_for(plan.version.model.type, plan.file.type, warn=False)
        written = getattr(result, "sidecars", None)
        preview = getattr(written, "preview_path", None)
        target = index if index is not None else open_index()
        try:
            target.record_download(result.path, plan.version, plan.file, kind=kind, sha256=result.sha256,
                                   preview=preview, sidecars=host if written is not None else None)
        finally:
            if index is None:
                target.close()
    except Exception as exc:  # noqa: BLE001 - the file is good; the index is rebuilt by the next scan
        log.warning("%s: not added to the library index: %s", getattr(result, "path", "?"), exc)


def open_index(path: str | os.PathLike | None = None) -> LibraryIndex:
    """The index in the state dir (``CIVITAI_COMPANION_HOME``), or at ``path`` (tests, tools)."""
    return LibraryIndex(path)
