"""How a scan uses the library index: files unchanged since they were resolved are answered from their
rows (no read, no request), ``--offline`` answers from the index and sidecars, and what a scan learnt
is written back, with rows of vanished files dropped.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..api import ModelVersion
from .rows import UPDATE_KEYS, version_from_row

if TYPE_CHECKING:
    from .scanner import ScanEntry


def stat_entries(entries: "list[ScanEntry]") -> None:
    """Each file's state before it is read: what the index row is keyed on (a file changed while it
    is hashed gets a key that no longer matches, so the next scan reads it again)."""
    for entry in entries:
        if entry.stat is None:
            try:
                entry.stat = os.stat(entry.path)
            except OSError:
                entry.stat = None


class Listings:
    """The names in each folder, listed once per scan (a stat per file and sidecar would cost more)."""

    def __init__(self) -> None:
        self._names: dict[Path, set[str]] = {}

    def __call__(self, folder: Path) -> set[str]:
        names = self._names.get(folder)
        if names is None:
            try:
                names = set(os.listdir(folder))
            except OSError:
                names = set()
            self._names[folder] = names
        return names


def answer_from_index(entries, index, *, refresh, offline, need_info, listings: Listings) -> int:
    """Answer unchanged files from their index rows; returns how many were answered."""
    from .rows import RealPaths, stat_key
    from .sidecars import INFO_SUFFIX

    pending = [e for e in entries if e.status == "pending" and e.stat is not None]
    if not pending:
        return 0
    real = RealPaths()
    for entry in pending:
        entry.real = entry.real or real(entry.path)
    known = index.known((e.real for e in pending), real=True)
    answered = 0
    for entry in pending:
        hit = entry.indexed = known.get(entry.real)
        if refresh or hit is None or hit.key != stat_key(entry.stat) or not hit.row.get("sha256"):
            continue
        row, entry.sidecars_host = hit.row, hit.sidecars
        status = row.get("status")
        if status == "resolved" and type(row.get("modelVersionId")) is int:
            if need_info and entry.path.stem + INFO_SUFFIX not in listings(entry.path.parent):
                continue  # its sidecars are asked for and missing: resolve it again to write them
            entry.version = version_from_row(row)
            entry.carried = {k: row[k] for k in UPDATE_KEYS if k in row}
        elif not (offline and status == "unknown"):
            continue
        entry.sha256, entry.status, entry.from_index = str(row["sha256"]).upper(), status, True
        answered += 1
    return answered


def full_version(entry: "ScanEntry") -> bool:
    """Give an index-answered entry the whole version body from its ``.civitai.info``; False if none."""
    from .sidecars import read_info

    info = read_info(entry.path)
    version = ModelVersion.from_api(info) if isinstance(info, dict) else None
    if version is None or version.id != entry.version.id or not version.file_by_sha256(entry.sha256 or ""):
        return False
    entry.version = version
    return True


def resolve_offline(entries, index, unknown_cache, *, site: str) -> None:
    """Without the network a hashed file is known by its ``.civitai.info``, or by an index row of the
    same SHA-256 (a moved or copied file); anything else is reported unknown, not asked."""
    from .sidecars import read_info

    for entry in entries:
        if entry.status != "pending":
            continue
        info = read_info(entry.path)
        version = ModelVersion.from_api(info) if isinstance(info, dict) else None
        if version is not None and version.id is not None and version.file_by_sha256(entry.sha256):
            entry.status, entry.version = "resolved", version
            continue
        row = index.by_sha256(entry.sha256) if index is not None else None
        if row is not None and row.get("status") == "resolved" and type(row.get("modelVersionId")) is int:
            entry.status, entry.version = "resolved", version_from_row(row)
            entry.carried = {k: row[k] for k in UPDATE_KEYS if k in row}
            continue
        entry.status = "unknown"
        entry.from_unknown_cache = bool(unknown_cache.fresh(site, [entry.sha256]))


def find_previews(entries, listings: Listings) -> None:
    """The preview A1111 would show beside each file, read from one listing per folder."""
    from .sidecars import PREVIEW_EXTENSIONS

    for entry in entries:
        written = entry.sidecars.preview_path if entry.sidecars is not None else None
        if written is not None:
            entry.preview = str(written)
            continue
        folder = entry.path.parent
        base = entry.path.stem
        names = listings(folder)
        found = next((n for ext in PREVIEW_EXTENSIONS for n in (base + ext, base + ".preview" + ext) if n in names), None)
        entry.preview = str(folder / found) if found else None


def record(index, entries, folders, *, host: str, updates_checked: bool) -> None:
    """Write what this scan learnt; forget files that are gone (and, under ``folders``, files not found)."""
    from .rows import RealPaths, stat_key

    present = [e for e in entries if e.stat is not None or os.path.lexists(e.path)]  # a broken link stays listed
    changed: dict[bool, list] = {True: [], False: []}
    checked = []
    for e in present:
        if e.sidecars is not None:
            e.sidecars_host = host
        row, resolved = e.to_json(), e.status == "resolved"
        was = e.indexed
        if was is not None and e.stat is not None and was.key == stat_key(e.stat) and was.row == row \
                and was.sidecars == e.sidecars_host:
            if resolved and updates_checked:
                checked.append(e.real or e.path)  # unchanged: only when it was checked is new
            continue
        changed[resolved].append((row, e.stat, e.sidecars_host))
    index.put(changed[True], updates_checked=updates_checked)
    index.put(changed[False])
    index.mark_checked(checked, real=True)
    index.forget([e.path for e in entries if e.stat is None and not os.path.lexists(e.path)])
    folders = list(folders)
    if folders:
        real = RealPaths()
        keep = [e.real or (real(e.path) if e.stat is not None else os.path.abspath(e.path)) for e in present]
        index.drop_missing(folders, keep=keep, real=True)
