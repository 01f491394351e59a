"""The six hash kinds Civitai lists for a file, computed in one read pass.

Civitai's ``files[].hashes`` keys, all upper-case hex: ``SHA256`` (whole file), ``AutoV2`` (its first 10
characters), ``AutoV1`` (SHA-256 of the 64 KiB at offset 1 MiB, first 8; absent under 2 MiB), ``AutoV3``
(safetensors only: SHA-256 of the bytes after the header, first 12), ``CRC32`` (IEEE, written
little-endian) and ``BLAKE3``. Model files are gigabytes, so :func:`hash_file` reads each once into a
reused buffer and feeds every kind from it. Batches of files (in parallel, with the hash cache) are
:mod:`~civitai_companion.hash_batch`'s job. Heavy modules are imported on first use; nothing runs at
import time.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import threading
from collections import deque
from pathlib import Path
from typing import Callable, Iterable

ALL_KINDS: tuple[str, ...] = ("SHA256", "AutoV1", "AutoV2", "AutoV3", "CRC32", "BLAKE3")
# Not one of Civitai's kinds: the whole SHA-256 of a safetensors file's tensor bytes, of which AutoV3 is the
# first 12 characters. A1111 keys its LoRA hash cache by it ("addnet hash"); it costs nothing beside AutoV3.
ADDNET = "AddNet"
KNOWN_KINDS: tuple[str, ...] = (*ALL_KINDS, ADDNET)
# What a library scan computes. Identity is the SHA-256 (AutoV2 is its prefix, AutoV1 reads 64 KiB);
# AutoV3 is a second full SHA-256 pass over a safetensors file, so only LoRAs (and files named on the
# command line, whose kind is not known) get it: A1111's legacy LoRA hash and kohya's
# ``sshs_model_hash`` are AutoV3. CRC32 and BLAKE3 are for ``hash`` and on demand.
SCAN_KINDS: tuple[str, ...] = ("SHA256", "AutoV1", "AutoV2")
TAIL_KINDS = frozenset({"AutoV3", ADDNET})  # kinds read from the tensor bytes after a safetensors header
AUTOV3_SCAN_KINDS = frozenset({"lora", None})
MIB = 1024 * 1024
AUTOV1_OFFSET = 0x100000
AUTOV1_LENGTH = 0x10000
AUTOV1_MIN_SIZE = 2 * MIB
MAX_HEADER_SIZE = 100 * MIB
DEFAULT_BUFFER_SIZE = 4 * MIB
MIN_BUFFER_SIZE = 4096
# Below this size a helper thread costs more than it saves.
PIPELINE_MIN_SIZE = 32 * MIB
# Relative CPU cost per byte, used to split the work of one file between hashing threads.
_COST = {"sha256": 1.0, "autov3": 1.0, "crc32": 0.45, "blake3": 0.45, "autov1": 0.0}


class HashCancelled(Exception):
    """Hashing stopped because the caller's cancel event was set."""


class HashError(OSError):
    """A file could not be hashed (not a regular file, or it changed while being read)."""


def normalize_kinds(kinds: str | Iterable[str]) -> tuple[str, ...]:
    """Civitai's spelling of each requested kind, in :data:`KNOWN_KINDS` order (case-insensitive input)."""
    by_lower = {k.lower(): k for k in KNOWN_KINDS}
    unknown = [k for k in ([kinds] if isinstance(kinds, str) else kinds) if str(k).lower() not in by_lower]
    if unknown:
        raise ValueError(f"unknown hash kind {unknown[0]!r}; choose from {', '.join(ALL_KINDS)}")
    wanted = {by_lower[str(k).lower()] for k in ([kinds] if isinstance(kinds, str) else kinds)}
    return tuple(k for k in KNOWN_KINDS if k in wanted)


def scan_kinds(kind: str | None) -> tuple[str, ...]:
    """The kinds a scan computes for a file of this layout kind (see :data:`SCAN_KINDS`)."""
    return (*SCAN_KINDS, "AutoV3", ADDNET) if kind in AUTOV3_SCAN_KINDS else SCAN_KINDS


def safetensors_data_offset(head: bytes, size: int) -> int | None:
    """Where the tensor bytes start, or None when ``head`` (the first bytes) is not a safetensors header.

    A safetensors file starts with a u64 little-endian length N and N bytes of JSON. We accept it when
    2 <= N <= 100 MiB, the header fits in the file and starts with ``{``; anything else (a pickle, a zip,
    a text file) gets no AutoV3, as on Civitai.
    """
    if len(head) < 9:
        return None
    n = int.from_bytes(head[:8], "little")
    if not 2 <= n <= MAX_HEADER_SIZE or 8 + n > size or head[8:9] != b"{":
        return None
    return 8 + n


class _Crc32:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0

    def update(self, data) -> None:
        import zlib

        self.value = zlib.crc32(data, self.value)


class _Feed:
    """One hasher fed with the part of each chunk that falls in its byte range [start, end)."""

    __slots__ = ("update", "start", "end", "cost")

    def __init__(self, update, cost: float, start: int = 0, end: int | None = None) -> None:
        self.update, self.cost, self.start, self.end = update, cost, start, end

    def feed(self, pos: int, view: memoryview) -> None:
        stop = pos + len(view)
        hi = stop if self.end is None else min(self.end, stop)
        lo = max(self.start, pos)
        if lo == pos and hi == stop:
            self.update(view)
        elif lo < hi:
            self.update(view[lo - pos : hi - pos])


class _Plan:
    """The hashers one file needs, decided from its size and first bytes."""

    def __init__(self, kinds: tuple[str, ...], size: int) -> None:
        import hashlib

        self.kinds, self.size, self.feeds = kinds, size, []
        self.sha = self.v1 = self.v3 = self.crc = self.b3 = None
        self.head_seen = False
        if "SHA256" in kinds or "AutoV2" in kinds:
            self.sha = hashlib.sha256()
            self.feeds.append(_Feed(self.sha.update, _COST["sha256"]))
        if "AutoV1" in kinds and size >= AUTOV1_MIN_SIZE:
            self.v1 = hashlib.sha256()
            self.feeds.append(_Feed(self.v1.update, 0.0, AUTOV1_OFFSET, AUTOV1_OFFSET + AUTOV1_LENGTH))
        if "CRC32" in kinds:
            self.crc = _Crc32()
            self.feeds.append(_Feed(self.crc.update, _COST["crc32"]))
        if "BLAKE3" in kinds:
            import blake3

            self.b3 = blake3.blake3()
            self.feeds.append(_Feed(self.b3.update, _COST["blake3"]))

    @property
    def limit(self) -> int | None:
        """How far the file must be read: None for all of it (also when AutoV3 is not decided yet)."""
        if TAIL_KINDS & set(self.kinds) and not self.head_seen:
            return None
        ends = [f.end for f in self.feeds]
        return max(ends) if ends and None not in ends else (None if self.feeds else 0)

    def see_head(self, head: bytes) -> None:
        """Add the AutoV3 hasher once the first bytes say where the tensor data starts."""
        import hashlib

        self.head_seen = True
        offset = safetensors_data_offset(head, self.size) if TAIL_KINDS & set(self.kinds) else None
        if offset is not None:
            self.v3 = hashlib.sha256()
            share = (self.size - offset) / max(self.size, 1)
            self.feeds.append(_Feed(self.v3.update, _COST["autov3"] * share, offset))

    def lanes(self, count: int) -> list[list[_Feed]]:
        """Split the feeds into ``count`` groups of similar cost (largest first, to the lightest group)."""
        lanes: list[list[_Feed]] = [[] for _ in range(max(1, min(count, len(self.feeds))))]
        loads = [0.0] * len(lanes)
        for feed in sorted(self.feeds, key=lambda f: -f.cost):
            i = loads.index(min(loads))
            lanes[i].append(feed)
            loads[i] += feed.cost
        return [lane for lane in lanes if lane]

    def results(self) -> dict[str, str]:
        digests = {
            "SHA256": lambda: self.sha.hexdigest(),
            "AutoV2": lambda: self.sha.hexdigest()[:10],
            "AutoV1": lambda: self.v1 and self.v1.hexdigest()[:8],
            "AutoV3": lambda: self.v3 and self.v3.hexdigest()[:12],
            ADDNET: lambda: self.v3 and self.v3.hexdigest(),
            "CRC32": lambda: self.crc.value.to_bytes(4, "little").hex(),
            "BLAKE3": lambda: self.b3.hexdigest(),
        }
        values = {kind: digests[kind]() for kind in self.kinds}
        return {kind: value.upper() for kind, value in values.items() if value}


def check_cancel(cancel, path) -> None:
    """Raise :class:`HashCancelled` once ``cancel`` (anything with ``is_set()``) is set."""
    if cancel is not None and cancel.is_set():
        raise HashCancelled(f"hashing {path} was cancelled")


class _Reader:
    """Fills buffers from the file until ``plan.limit`` or the end (a read that returns nothing)."""

    def __init__(self, f, plan: _Plan) -> None:
        self.f, self.plan, self.pos, self.eof = f, plan, 0, False

    def read(self, view: memoryview) -> memoryview:
        limit = self.plan.limit
        want = len(view) if limit is None else max(0, min(len(view), limit - self.pos))
        got = 0
        while got < want and not self.eof:
            n = self.f.readinto(view[got:want]) or 0
            self.eof = n == 0
            got += n
        self.pos += got
        return view[:got]


def _feed_lane(lane: list[_Feed], pos: int, view: memoryview) -> None:
    for feed in lane:
        feed.feed(pos, view)


def named_error(exc: OSError, path) -> OSError:
    """The same kind of OSError, with the file named so the message stands on its own."""
    if exc.filename is not None or isinstance(exc, HashError):
        return exc
    return type(exc)(exc.errno, exc.strerror or str(exc), os.fspath(path))


# What an OS error means, in words; Python's "[Errno 21] Is a directory: 8" is for programmers.
_OS_WORDS = {
    errno.ENOENT: "does not exist",
    errno.ENOTDIR: "cannot be reached: a part of that path is a file, not a folder",
    errno.EISDIR: "is a folder, not a file",
    errno.EACCES: "cannot be opened: permission denied",
    errno.EPERM: "cannot be opened: permission denied",
    errno.EEXIST: "already exists",
    errno.ENOSPC: "cannot be written: the disk is full",
    errno.EROFS: "is on a read-only file system",
    errno.ELOOP: "cannot be reached: symbolic links in a loop",
    errno.ENAMETOOLONG: "has a name too long for the file system",
    errno.EIO: "cannot be read: input/output error (a failing disk or network share?)",
}


def error_text(exc: BaseException) -> str:
    """One line for a user, the path first and then what is wrong in words:
    ``/x/a.safetensors does not exist``, never Python's ``[Errno 2] No such file or directory``."""
    if isinstance(exc, OSError) and not hasattr(exc, "hint") and (exc.strerror or exc.errno in _OS_WORDS):
        words = _OS_WORDS.get(exc.errno) or exc.strerror
        name = exc.filename
        where = os.fsdecode(name) if isinstance(name, (str, bytes, os.PathLike)) else None  # not a descriptor
        text = words if where is None else f"{where} {words}" if words[:1].islower() else f"{where}: {words}"
    else:
        text = str(exc)
    return " ".join(text.split()) or type(exc).__name__


def _open_regular(path: Path):
    st = os.stat(path)
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "Is a directory", os.fspath(path))
    if not stat.S_ISREG(st.st_mode):
        raise HashError(errno.EINVAL, "is not a regular file (a pipe, socket or device), so it cannot be hashed",
                        os.fspath(path))
    f = open(path, "rb", buffering=0)
    with contextlib.suppress(OSError, AttributeError, ValueError):  # a hint to read ahead; not everywhere
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
    return f


def hash_file(
    path: str | os.PathLike,
    kinds: str | Iterable[str] = ALL_KINDS,
    *,
    progress: Callable[[int], object] | None = None,
    cancel: threading.Event | None = None,
    buffer_size: int = DEFAULT_BUFFER_SIZE,
    threads: int | None = None,
) -> dict[str, str]:
    """Every requested kind of ``path`` in one read pass, keys spelled as in Civitai's ``hashes``.

    Kinds that do not apply (AutoV1 under 2 MiB, AutoV3 of a non-safetensors file) are left out.
    ``progress(bytes_done)`` is called after each buffer; ``cancel`` (anything with ``is_set()``) is
    checked per buffer and raises :class:`HashCancelled`. ``threads`` is how many helper threads hash
    while the calling thread reads: 0 does everything in the calling thread; None picks 0 for files
    under 32 MiB and otherwise one per expensive kind, up to the CPU count. Memory stays at two buffers
    whatever the file size. Errors are OSErrors naming the file (:class:`HashError` for our own checks).
    """
    kinds = normalize_kinds(kinds)
    if buffer_size < MIN_BUFFER_SIZE:
        raise ValueError(f"buffer_size must be at least {MIN_BUFFER_SIZE} bytes")
    if threads is not None and threads < 0:
        raise ValueError("threads must be None or >= 0")
    path = Path(path)
    check_cancel(cancel, path)
    try:
        with _open_regular(path) as f:
            size = os.fstat(f.fileno()).st_size
            auto = threads is None and size >= PIPELINE_MIN_SIZE
            threads = threads or 0
            plan = _Plan(kinds, size)
            views = [memoryview(bytearray(buffer_size)) for _ in range(2 if auto or threads else 1)]
            reader = _Reader(f, plan)
            first = reader.read(views[0])
            plan.see_head(bytes(first[:9]))
            if auto:
                threads = min(os.cpu_count() or 1, len([x for x in plan.feeds if x.cost > 0])) or 1
            if threads == 0:
                _run_sequential(reader, views[0], first, plan.feeds, progress, cancel, path)
            else:
                _run_pipelined(reader, views, first, plan.lanes(threads), progress, cancel, path)
    except OSError as exc:
        raise named_error(exc, path) from None
    if plan.limit is None and reader.pos != size:
        raise HashError(errno.EIO, f"{path} changed while it was being hashed ({size} bytes, read {reader.pos})")
    return plan.results()


def _run_sequential(reader: _Reader, view, chunk, feeds, progress, cancel, path) -> None:
    pos = 0
    while chunk:
        _feed_lane(feeds, pos, chunk)
        pos += len(chunk)
        if progress is not None:
            progress(pos)
        check_cancel(cancel, path)
        chunk = reader.read(view)


def _run_pipelined(reader: _Reader, views, chunk, lanes, progress, cancel, path) -> None:
    """Read buffer k+1 while one thread per lane hashes buffer k (each lane keeps its chunks in order)."""
    from concurrent.futures import ThreadPoolExecutor

    pools = [ThreadPoolExecutor(1, thread_name_prefix="civitai-hash") for _ in lanes]
    inflight: deque = deque()

    def settle() -> None:
        end, futures = inflight.popleft()
        for fut in futures:
            fut.result()
        if progress is not None:
            progress(end)

    pos = k = 0
    try:
        while chunk:
            futures = [pool.submit(_feed_lane, lane, pos, chunk) for pool, lane in zip(pools, lanes)]
            inflight.append((pos + len(chunk), futures))
            pos += len(chunk)
            k += 1
            check_cancel(cancel, path)
            if len(inflight) >= len(views):
                settle()
            chunk = reader.read(views[k % len(views)])
        while inflight:
            settle()
    finally:
        for pool in pools:
            pool.shutdown(wait=True, cancel_futures=True)


def claimed_hashes(path: str | os.PathLike) -> dict[str, str]:
    """What a safetensors header *claims* about the file, read without hashing it.

    kohya's ``sshs_model_hash`` and the ModelSpec ``modelspec.hash_sha256`` both hold the SHA-256 of the
    bytes after the header (a file cannot hold the hash of itself), so either names the file's ``AutoV3``
    (its first 12 characters); kohya's wins when both are there. Anyone can write anything in a header,
    and the file may have been edited since: use this only for a quick lookup, never as a verified hash.
    Returns {} for a non-safetensors or malformed file; an unreadable file raises OSError.
    """
    import re

    from .. import safe_json

    path = Path(path)
    try:
        with _open_regular(path) as f:
            head = f.read(9)
            offset = safetensors_data_offset(head, os.fstat(f.fileno()).st_size)
            if offset is None:
                return {}
            raw = head[8:] + f.read(offset - 9)
    except OSError as exc:
        raise named_error(exc, path) from None
    try:
        header = safe_json.loads(raw)
    except ValueError:
        return {}
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(meta, dict):
        return {}
    for key in ("sshs_model_hash", "modelspec.hash_sha256"):
        value = meta.get(key)
        match = re.fullmatch(r"(?:0x)?([0-9a-fA-F]{64})", value.strip()) if isinstance(value, str) else None
        if match:
            return {"AutoV3": match.group(1).upper()[:12]}
    return {}

