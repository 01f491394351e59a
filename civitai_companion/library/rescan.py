"""How a scan uses the library index: files unchanged since they were resolved are answered from their
rows (no read, no request), ``--offline`` answers from the index and sidecars, and what a scan learnt
is written back, with rows of vanished files dropped.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..api import ModelVersion
from .index import UPDATE_KEYS, version_from_row

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


def answer_from_index(entries, index, *, refresh, offline, need_info) -> int:
    """Answer unchanged files from their index rows; returns how many were answered."""
    from .index import real_path, stat_key
    from .sidecars import info_path

    pending = [e for e in entries if e.status == "pending" and e.stat is not None]
    if refresh or not pending:
        return 0
    known = index.known(e.path for e in pending)
    answered = 0
    for entry in pending:
        hit = known.get(real_path(entry.path))
        if hit is None or hit.key != stat_key(entry.stat) or not hit.row.get("sha256"):
            continue
        row, entry.sidecars_host = hit.row, hit.sidecars
        status = row.get("status")
        if status == "resolved" and type(row.get("modelVersionId")) is int:
            if need_info and not info_path(entry.path).is_file():
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


def find_previews(entries) -> None:
    """The preview A1111 would show beside each file, read from one listing per folder."""
    from .sidecars import PREVIEW_EXTENSIONS

    listings: dict[Path, set[str]] = {}
    for entry in entries:
        written = entry.sidecars.preview_path if entry.sidecars is not None else None
        if written is not None:
            entry.preview = str(written)
            continue
        folder = entry.path.parent
        if folder not in listings:
            try:
                listings[folder] = set(os.listdir(folder))
            except OSError:
                listings[folder] = set()
        base = entry.path.stem
        names = listings[folder]
        found = next((n for ext in PREVIEW_EXTENSIONS for n in (base + ext, base + ".preview" + ext) if n in names), None)
        entry.preview = str(folder / found) if found else None


def record(index, entries, folders, *, host: str, updates_checked: bool) -> None:
    """Write what this scan learnt; forget files that are gone (and, under ``folders``, files not found)."""
    present = [e for e in entries if e.stat is not None or os.path.lexists(e.path)]  # a broken link stays listed
    for e in present:
        if e.sidecars is not None:
            e.sidecars_host = host
    resolved = [(e.to_json(), e.stat, e.sidecars_host) for e in present if e.status == "resolved"]
    others = [(e.to_json(), e.stat, e.sidecars_host) for e in present if e.status != "resolved"]
    index.put(resolved, updates_checked=updates_checked)
    index.put(others)
    index.forget([e.path for e in entries if e.stat is None and not os.path.lexists(e.path)])
    folders = list(folders)
    if folders:
        index.drop_missing(folders, keep=[e.path for e in present])
