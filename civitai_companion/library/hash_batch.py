"""Hash a batch of files in parallel, each at most once, skipping what the hash cache knows.

A library scan hands over hundreds of paths; one bad file must not stop the others, progress has to
add up across threads for a single bar, and a cancel must stop every worker at its next buffer. The
per-file work (all kinds in one read pass) is :func:`~civitai_companion.hashing.hash_file`; hashlib,
zlib and blake3 release the GIL, so threads hashing different files use every core.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from .hashing import ALL_KINDS, HashCancelled, check_cancel, hash_file, named_error, normalize_kinds

if TYPE_CHECKING:
    from .hash_cache import HashCache

log = logging.getLogger(__name__)

CACHE_BATCH = 256  # hashes written to the cache per transaction


@dataclass
class HashStats:
    """What a :func:`hash_files` run did; ``bytes_hashed`` counts bytes actually read and hashed."""

    files_total: int = 0
    files_cached: int = 0
    files_hashed: int = 0
    files_failed: int = 0
    bytes_total: int = 0
    bytes_hashed: int = 0
    cancelled: bool = False


class HashResults(dict):
    """``{Path: hashes dict or Exception}`` plus the run's :class:`HashStats` as ``.stats``."""

    def __init__(self) -> None:
        super().__init__()
        self.stats = HashStats()


def hash_files(
    paths: Iterable[str | os.PathLike],
    kinds: str | Iterable[str] = ALL_KINDS,
    *,
    cache: HashCache | None = None,
    workers: int | None = None,
    progress: Callable[[int, int, int, int], object] | None = None,
    cancel: threading.Event | None = None,
    also: Callable[[Path], Iterable[str]] | None = None,
) -> HashResults:
    """Hash many files, in parallel, each at most once: a dict ``{Path(p): hashes or exception}``.

    A file the ``cache`` knows (same path, size, mtime and inode) is answered without reading a byte;
    only the kinds the cache lacks are computed, and the cache is updated. One bad file never stops the
    batch: its entry is the exception. ``workers`` threads (default: CPU count) hash different files.
    ``progress(bytes_done, bytes_total, files_done, files_total)`` is called from worker threads, one
    call at a time: bytes count only files that need hashing (a failed file's unread rest counts as
    done), files count every path. After ``cancel`` is set, running files stop at their next buffer and
    unfinished files map to :class:`HashCancelled`; ``result.stats.cancelled`` tells.
    ``also(path)`` names kinds computed too when a file is read anyway, but never a reason to read it
    (a scan needs the SHA-256; a LoRA's AutoV3 rides along in the same pass).
    """
    kinds = normalize_kinds(kinds)
    wanted: dict[Path, tuple[str, ...]] = {}
    results = HashResults()
    stats = results.stats
    unique = list(dict.fromkeys(Path(p) for p in paths))
    stats.files_total = len(unique)
    todo = []
    for path in unique:
        try:
            st = os.stat(path)
            if stat.S_ISDIR(st.st_mode):
                raise IsADirectoryError(errno.EISDIR, "Is a directory", os.fspath(path))
        except OSError as exc:
            results[path] = named_error(exc, path)
            stats.files_failed += 1
            continue
        known = cache.known(path, stat_result=st) if cache is not None else {}
        wanted[path] = normalize_kinds({*kinds, *also(path)}) if also is not None else kinds
        missing = tuple(k for k in kinds if k not in known)
        if missing:
            missing = tuple(k for k in wanted[path] if k not in known)
            todo.append((path, st, missing, known))
            stats.bytes_total += st.st_size
        else:
            results[path] = {k: known[k] for k in wanted[path] if known.get(k) is not None}
            stats.files_cached += 1
    lock, done = threading.Lock(), {"bytes": 0, "files": 0}

    def report(*, nbytes: int = 0, hashed: int = 0, files: int = 0) -> None:
        """Sum progress from all workers; calls are serialised and never go backwards."""
        with lock:
            done["bytes"] = min(done["bytes"] + max(nbytes, 0), stats.bytes_total)
            done["files"] += files
            stats.bytes_hashed += hashed
            if progress is not None:
                progress(done["bytes"], stats.bytes_total, done["files"], stats.files_total)

    report(files=len(unique) - len(todo))
    unsaved: list = []

    def remember(path: Path, hashes: dict, st: os.stat_result) -> None:
        """Cache writes go in batches (one transaction each), not one commit per file."""
        with lock:
            unsaved.append((path, hashes, st))
            if len(unsaved) < CACHE_BATCH:
                return
            batch = unsaved[:]
            unsaved.clear()
        cache.put_many(batch)

    workers = max(1, workers or os.cpu_count() or 1)
    # Several files at once already fill the cores; a lone big file may use helper threads instead.
    threads = None if len(todo) == 1 and workers > 1 else 0

    def one(path: Path, st: os.stat_result, missing: tuple[str, ...], known: dict):
        seen = [0]

        def on_bytes(done: int) -> None:
            report(nbytes=done - seen[0], hashed=done - seen[0])
            seen[0] = done

        try:
            check_cancel(cancel, path)
            new = hash_file(path, missing, progress=on_bytes, cancel=cancel, threads=threads)
        except Exception as exc:
            report(nbytes=st.st_size - seen[0], files=1)
            return exc
        if cache is not None:
            remember(path, {**dict.fromkeys(missing), **new}, st)
        report(nbytes=st.st_size - seen[0], files=1)
        merged = {**known, **new}
        return {k: merged[k] for k in wanted[path] if merged.get(k) is not None}

    if todo:
        from concurrent.futures import ThreadPoolExecutor

        try:
            with ThreadPoolExecutor(min(workers, len(todo)), thread_name_prefix="civitai-hash-files") as pool:
                # Biggest first, so one huge file does not start last and run alone.
                todo.sort(key=lambda item: -item[1].st_size)
                futures = [(item[0], pool.submit(one, *item)) for item in todo]
                for path, fut in futures:
                    value = fut.result()
                    results[path] = value
                    if isinstance(value, Exception):
                        stats.files_failed += 1
                        if not isinstance(value, HashCancelled):
                            log.debug("could not hash %s: %s", path, value)
                    else:
                        stats.files_hashed += 1
        finally:
            if cache is not None and unsaved:
                cache.put_many(unsaved)
    stats.cancelled = bool(cancel is not None and cancel.is_set())
    return results
