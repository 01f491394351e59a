"""Remember file hashes so an unchanged model file is never read twice.

An entry is keyed on (absolute path, size, mtime_ns, inode): renaming, touching or replacing a file
makes its entry stale, so it is hashed again; an unchanged file never is. The store is one SQLite file
in WAL mode (several processes, e.g. A1111 and the CLI, may share it) under the state dir. The cache is
only an optimisation: if the database is corrupt it is moved aside and a new one started, and if it is
locked or unwritable the operation is skipped with a warning instead of failing the caller.

A ``<base>.civitai.info`` sidecar written by this project also answers for SHA-256 (see
:func:`sidecar_sha256`), so a library copied with its sidecars is not hashed again; other kinds still
need hashing. It does not, though, when this cache saw another inode at that path (a replaced file).
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import threading
import time
from pathlib import Path
from typing import Iterable

from .. import config, safe_json
from .hashing import ADDNET, ALL_KINDS, KNOWN_KINDS, normalize_kinds
from .sqlite_file import GuardedSQLite

log = logging.getLogger(__name__)

CACHE_FILE_NAME = "hashes.sqlite"
SIDECAR_SUFFIX = ".civitai.info"
SIDECAR_EXTENSION_KEY = "civitai_companion"
MAX_SIDECAR_SIZE = 32 * 1024 * 1024
_SHA256_RE = re.compile(r"[0-9A-F]{64}")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS file_hashes (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    hashes TEXT NOT NULL,
    updated_at REAL NOT NULL
)
"""


def _abs(path: str | os.PathLike) -> str:
    return os.path.abspath(os.fspath(path))


def _key(st: os.stat_result) -> tuple[int, int, int]:
    inode = st.st_ino
    if inode >= 2**63:  # SQLite integers are signed 64-bit; some file systems use the top bit
        inode -= 2**64
    return st.st_size, st.st_mtime_ns, inode


def _stat(path: str, stat_result: os.stat_result | None) -> os.stat_result | None:
    try:
        st = stat_result or os.stat(path)
    except OSError:
        return None
    return st if stat.S_ISREG(st.st_mode) else None


def sidecar_path(model_path: str | os.PathLike) -> Path:
    """``<base>.civitai.info`` beside the model, base being the file name without its last extension."""
    path = Path(model_path)
    return path.with_name(path.stem + SIDECAR_SUFFIX)


def sidecar_record(
    model_path: str | os.PathLike,
    sha256: str,
    *,
    model_url: str = "",
    stat_result: os.stat_result | None = None,
    resolved_at: str | None = None,
) -> dict:
    """Our record for ``info["extensions"]["civitai_companion"]``: what the file was when it was resolved."""
    st = stat_result or os.stat(model_path)
    if resolved_at is None:
        resolved_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {
        "sha256": sha256.upper(),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "resolvedAt": resolved_at,
        "modelUrl": model_url,
    }


def sidecar_sha256(
    model_path: str | os.PathLike, *, stat_result: os.stat_result | None = None, trust: bool = False
) -> str | None:
    """The SHA-256 our ``.civitai.info`` sidecar recorded for this file, if it still describes it.

    Accepted when the record's size equals the file's size and either its mtime_ns equals the file's
    (the file is untouched since we hashed it), or ``trust`` is True and the recorded sha256 is one of
    the SHA256 values in the info's ``files[]`` (a copied library: same size, Civitai agrees with our
    record, but mtime changed). Anything else, including a sidecar from another tool, returns None.
    """
    st = _stat(_abs(model_path), stat_result)
    side = sidecar_path(model_path)
    if st is None:
        return None
    try:
        info = safe_json.read_file(side, max_bytes=MAX_SIDECAR_SIZE)
    except (OSError, ValueError):
        return None
    ours = info.get("extensions") if isinstance(info, dict) else None
    ours = ours.get(SIDECAR_EXTENSION_KEY) if isinstance(ours, dict) else None
    if not isinstance(ours, dict):
        return None
    sha, size, mtime_ns = ours.get("sha256"), ours.get("size"), ours.get("mtime_ns")
    if not isinstance(sha, str) or not _SHA256_RE.fullmatch(sha.upper()):
        return None
    sha = sha.upper()
    if type(size) is not int or size != st.st_size:
        return None
    if type(mtime_ns) is int and mtime_ns == st.st_mtime_ns:
        return sha
    if trust:
        files = info.get("files")
        for entry in files if isinstance(files, list) else []:
            hashes = entry.get("hashes") if isinstance(entry, dict) else None
            value = hashes.get("SHA256") if isinstance(hashes, dict) else None
            if isinstance(value, str) and value.upper() == sha:
                return sha
    return None


class HashCache(GuardedSQLite):
    """Thread-safe hash store; ``HashCache()`` lives at ``config.home_dir() / "hashes.sqlite"``.

    ``use_sidecars`` lets ``.civitai.info`` sidecars answer for SHA-256; ``trust_sidecars`` also accepts
    a sidecar whose mtime no longer matches (see :func:`sidecar_sha256`).
    """

    LABEL, OFF = "hash cache", "hashes will not be cached"
    UNAVAILABLE_NOTE = "; going on without it"

    def __init__(
        self, path: str | os.PathLike | None = None, *, use_sidecars: bool = True, trust_sidecars: bool = False
    ) -> None:
        self.path = Path(path) if path is not None else config.home_dir() / CACHE_FILE_NAME
        self.use_sidecars = use_sidecars
        self.trust_sidecars = trust_sidecars
        self._lock = threading.RLock()
        self._conn = None
        self._disabled = False
        self._warned = False

    # -- public interface -------------------------------------------------------------------------------

    def get(
        self, path: str | os.PathLike, kinds: str | Iterable[str] = ALL_KINDS, *, stat_result=None
    ) -> dict[str, str] | None:
        """The cached hashes of ``path``, or None unless every requested kind is known for its current state.

        Kinds known not to apply (AutoV1 of a small file, AutoV3 of a non-safetensors file) count as known
        and are left out of the dict, exactly as :func:`~civitai_companion.hashing.hash_file` leaves them out.
        """
        wanted = normalize_kinds(kinds)
        known = self.known(path, stat_result=stat_result)
        if any(kind not in known for kind in wanted):
            return None
        return {kind: known[kind] for kind in wanted if known[kind] is not None}

    def known(self, path: str | os.PathLike, *, stat_result=None) -> dict[str, str | None]:
        """Everything known about the file as it is now: kind -> value, or None for "does not apply"."""
        name = _abs(path)
        st = _stat(name, stat_result)
        if st is None:
            return {}
        size, mtime_ns, inode = _key(st)

        def read(conn) -> tuple[dict, bool]:
            row = conn.execute(
                "SELECT size, mtime_ns, inode, hashes FROM file_hashes WHERE path = ?", (name,)
            ).fetchone()
            if row is None:
                return {}, False
            if tuple(row[:3]) == (size, mtime_ns, inode):
                return _decode(row[3]), False
            return {}, row[2] != inode

        known, replaced = self._run(read, ({}, False))
        # The sidecar records size and mtime but not the inode (a copied library has new inodes). When we
        # hashed another inode at this very path, the file was replaced: only hashing it tells what it is.
        if known.get("SHA256") is None and self.use_sidecars and not replaced:
            sha = sidecar_sha256(name, stat_result=st, trust=self.trust_sidecars)
            if sha:
                known["SHA256"] = sha
        if known.get("SHA256"):
            known.setdefault("AutoV2", known["SHA256"][:10])
        if known.get(ADDNET):
            known.setdefault("AutoV3", known[ADDNET][:12])
        return known

    def put(self, path: str | os.PathLike, hashes: dict[str, str | None], *, stat_result=None) -> None:
        """Record hashes for the file's current state (or ``stat_result``, taken before hashing).

        New kinds are merged into an entry for the same state; an entry for an older state is replaced.
        A value of None records that the kind does not apply to this file.
        """
        self.put_many([(path, hashes, stat_result)])

    def put_many(self, entries: Iterable[tuple[str | os.PathLike, dict[str, str | None], object]]) -> None:
        """``put`` for many ``(path, hashes, stat_result)`` at once, in one transaction: a first scan of
        thousands of small files would otherwise spend most of its time committing."""
        rows = []
        for path, hashes, stat_result in entries:
            name = _abs(path)
            st = _stat(name, stat_result)
            if st is None:
                log.debug("not caching hashes of %s: it is gone or not a regular file", name)
                continue
            clean = {k: (v.upper() if isinstance(v, str) else None) for k, v in hashes.items() if k in KNOWN_KINDS}
            rows.append((name, *_key(st), clean))
        if not rows:
            return

        def write(conn) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for name, size, mtime_ns, inode, clean in rows:
                    row = conn.execute(
                        "SELECT hashes FROM file_hashes WHERE path = ? AND size = ? AND mtime_ns = ? AND inode = ?",
                        (name, size, mtime_ns, inode),
                    ).fetchone()
                    merged = {**(_decode(row[0]) if row else {}), **clean}
                    conn.execute(
                        "INSERT OR REPLACE INTO file_hashes (path, size, mtime_ns, inode, hashes, updated_at)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                        (name, size, mtime_ns, inode, json.dumps(merged, sort_keys=True), time.time()),
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        self._run(write, None)

    def forget(self, path: str | os.PathLike) -> None:
        """Drop whatever is cached for ``path``."""
        name = _abs(path)
        self._run(lambda conn: conn.execute("DELETE FROM file_hashes WHERE path = ?", (name,)), None)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> HashCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------------------------------

    def _connect(self):
        import sqlite3

        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), timeout=10, isolation_level=None, check_same_thread=False)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute(_SCHEMA)
                conn.execute("SELECT path, size, mtime_ns, inode, hashes, updated_at FROM file_hashes LIMIT 1")
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

def _decode(text: str) -> dict[str, str | None]:
    try:
        data = safe_json.loads(text)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if k in KNOWN_KINDS and (v is None or isinstance(v, str))}
