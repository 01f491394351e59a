"""Synthetic safetensors files and the six Civitai hash kinds, written independently of the project.

The fake is an oracle for the project's own hashing code, so nothing here imports `civitai_companion`.
"""

from __future__ import annotations

import hashlib
import json
import random
import struct
import zlib
from pathlib import Path
from typing import Iterable

import blake3

AUTOV1_OFFSET = 1024 * 1024
AUTOV1_LENGTH = 64 * 1024
AUTOV1_MIN_SIZE = 2 * 1024 * 1024
CHUNK = 1024 * 1024

_RECIPE_PERIOD = bytes((i * 7 + 3) % 251 for i in range(251))


def safetensors_body(n_floats: int, *, seed: int = 0) -> bytes:
    """The tensor bytes; seed 0 is the recipe in hash-vectors.json, other seeds give unrelated bytes."""
    length = 4 * n_floats
    if seed == 0:
        reps = length // len(_RECIPE_PERIOD) + 1
        return (_RECIPE_PERIOD * reps)[:length]
    return random.Random(seed).randbytes(length)


def safetensors_header(n_floats: int, metadata: dict | None = None) -> bytes:
    """The JSON header, padded with spaces to a multiple of 8 like the safetensors writer does."""
    meta = {"format": "pt"}
    if metadata:
        meta.update({str(k): str(v) for k, v in metadata.items()})
    header = {
        "__metadata__": meta,
        "w": {"dtype": "F32", "shape": [n_floats], "data_offsets": [0, 4 * n_floats]},
    }
    raw = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return raw + b" " * (-len(raw) % 8)


def make_safetensors(n_floats: int, *, metadata: dict | None = None, seed: int = 0) -> bytes:
    """A valid single-tensor safetensors file; deterministic in (n_floats, metadata, seed)."""
    header = safetensors_header(n_floats, metadata)
    return struct.pack("<Q", len(header)) + header + safetensors_body(n_floats, seed=seed)


class CivitaiHasher:
    """Computes every Civitai hash kind in one streaming pass (feed chunks in file order).

    `total_size` decides where AutoV3 starts: after the declared header, or right after the 8-byte
    length when the declared header would not fit (the convention of hash-vectors.json).
    """

    def __init__(self, total_size: int) -> None:
        self.total_size = total_size
        self._sha = hashlib.sha256()
        self._blake = blake3.blake3()
        self._crc = 0
        self._autov1 = hashlib.sha256()
        self._autov3 = hashlib.sha256()
        self._prefix = b""
        self._body_start: int | None = None
        self.size = 0

    def update(self, chunk: bytes) -> None:
        start = self.size
        end = start + len(chunk)
        self._sha.update(chunk)
        self._blake.update(chunk)
        self._crc = zlib.crc32(chunk, self._crc)
        lo, hi = max(start, AUTOV1_OFFSET), min(end, AUTOV1_OFFSET + AUTOV1_LENGTH)
        if lo < hi:
            self._autov1.update(chunk[lo - start:hi - start])
        if start < 8:
            self._prefix += chunk[: 8 - start]
            if len(self._prefix) == 8:
                declared = 8 + struct.unpack("<Q", self._prefix)[0]
                self._body_start = declared if declared <= self.total_size else 8
        if self._body_start is not None and end > self._body_start:
            self._autov3.update(chunk[max(0, self._body_start - start):])
        self.size = end

    def autov3_full(self) -> str:
        """SHA-256 of the bytes after the safetensors header."""
        return self._autov3.hexdigest().upper()

    def hashes(self, *, safetensors: bool = True) -> dict:
        """Civitai's `hashes` object: AutoV1 only for files >= 2 MiB, AutoV3 only for safetensors."""
        sha = self._sha.hexdigest().upper()
        out = {}
        if self.size >= AUTOV1_MIN_SIZE:
            out["AutoV1"] = self._autov1.hexdigest()[:8].upper()
        out["AutoV2"] = sha[:10]
        out["SHA256"] = sha
        out["CRC32"] = self._crc.to_bytes(4, "little").hex().upper()
        out["BLAKE3"] = self._blake.hexdigest().upper()
        if safetensors:
            out["AutoV3"] = self.autov3_full()[:12]
        return out


def looks_like_safetensors(first_bytes: bytes, size: int) -> bool:
    """A plausible safetensors start: a header length that fits in the file and a JSON object after it."""
    if len(first_bytes) < 9:
        return False
    n = struct.unpack("<Q", first_bytes[:8])[0]
    return 8 + n <= size and first_bytes[8:9] == b"{"


def hash_chunks(chunks: Iterable[bytes], total_size: int) -> CivitaiHasher:
    hasher = CivitaiHasher(total_size)
    for chunk in chunks:
        hasher.update(chunk)
    return hasher


def civitai_hashes(data: bytes) -> dict:
    """All hash kinds of an in-memory file, as Civitai lists them."""
    hasher = hash_chunks((data[i:i + CHUNK] for i in range(0, len(data), CHUNK)), len(data))
    return hasher.hashes(safetensors=looks_like_safetensors(data[:9], len(data)))


def _read_chunks(path: Path) -> Iterable[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def hash_file(path: Path) -> tuple[int, dict]:
    """(size, hashes) of a file on disk, streamed so a 1 GiB file never sits in memory."""
    path = Path(path)
    with open(path, "rb") as handle:
        first = handle.read(9)
    hasher = hash_chunks(_read_chunks(path), path.stat().st_size)
    return hasher.size, hasher.hashes(safetensors=looks_like_safetensors(first, hasher.size))
