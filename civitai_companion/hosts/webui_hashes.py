"""The WebUI's own hash cache and ours, kept in step so no model file is hashed twice.

A1111 (since 1.9) keeps hashes in diskcache sections under ``cache/`` (``modules.cache.cache(name)``):
``hashes`` holds the whole-file SHA-256 of checkpoints (``checkpoint/<path under the folder>``),
embeddings (``textual_inversion/<name>``), hypernetworks (``hypernet/<name>``) and non-safetensors LoRAs
(``lora/<name>``); ``hashes-addnet`` holds LoRA safetensors, where A1111 stores the SHA-256 of the bytes
after the header (our ``AddNet`` kind; AutoV3 is its first 12 characters) and Forge the whole-file
SHA-256. Values are ``{"mtime", "sha256"}``.

A value from there is taken only when it describes the file as it is: its mtime equals the file's, the
size we wrote with it (if any) matches, it is 64 hex digits, and it is not the SHA-256 of the file *name*
(what Forge cached for a while in 2024-25). Before a scan, such values seed our cache (a LoRA whose
addnet hash A1111 knows is then read once, for its SHA-256 alone); after a scan or a download, ours go
back with the file's mtime and size, so the WebUI does not read the file again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from pathlib import Path
from typing import Iterable

from ..library.hashing import ADDNET

log = logging.getLogger(__name__)

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
KINDS = ("checkpoint", "lora", "embedding", "hypernetwork")


def _forge() -> bool:
    from .webui import is_forge

    return is_forge()


def titles(path: Path, kind: str, *, forge: bool | None = None) -> list[tuple[str, str, str]]:
    """``(section, title, hash kind)`` under which the WebUI keeps a hash of this file: the kind is
    ``SHA256`` (the whole file) or ``AddNet`` (A1111's hash of a LoRA safetensors file's tensor bytes)."""
    path = Path(path)
    stem = path.stem
    if kind in ("checkpoint", "diffusion_model"):
        return [("hashes", "checkpoint/" + _checkpoint_name(path), "SHA256")]
    if kind == "lora":
        if path.suffix.lower() != ".safetensors":
            return [("hashes", "lora/" + stem, "SHA256")]
        whole = forge if forge is not None else _forge()
        return [("hashes-addnet", "lora/" + stem, "SHA256" if whole else ADDNET)]
    if kind == "embedding":
        return [("hashes", "textual_inversion/" + stem, "SHA256")]
    if kind == "hypernetwork":
        return [("hashes", "hypernet/" + stem, "SHA256")]
    return []


def _checkpoint_name(path: Path) -> str:
    """The name A1111 gives a checkpoint: its path under ``--ckpt-dir`` or ``models/Stable-diffusion``."""
    from modules import paths, shared

    absolute = os.path.abspath(path)
    roots = [getattr(shared.cmd_opts, "ckpt_dir", None), os.path.join(paths.models_path, "Stable-diffusion")]
    for root in roots:
        if root and absolute.startswith(os.path.abspath(root)):
            return absolute[len(os.path.abspath(root)):].lstrip("\\/")
    return path.name


def _section(name: str):
    from modules import cache

    return cache.cache(name)


def valid_hash(entry: object, path: Path, st: os.stat_result | None = None, *, whole_file: bool = True) -> str | None:
    """The entry's hash (upper case) if it still describes ``path``, else None."""
    if not isinstance(entry, dict):
        return None
    sha, mtime, size = entry.get("sha256"), entry.get("mtime"), entry.get("size")
    if not isinstance(sha, str) or not _HEX64.fullmatch(sha):
        return None
    try:
        st = st or os.stat(path)
    except OSError:
        return None
    if not isinstance(mtime, (int, float)) or mtime != st.st_mtime:
        return None
    if size is not None and size != st.st_size:
        return None
    if whole_file and sha.lower() == hashlib.sha256(os.path.basename(path).encode("utf-8")).hexdigest():
        return None  # the hash of the name, not of the file
    return sha.upper()


def read(path: Path, kind: str) -> dict[str, str]:
    """The WebUI's validated hashes of a file, by our kind names (``SHA256``, ``AddNet``)."""
    found: dict[str, str] = {}
    try:
        st = os.stat(path)
        for section, title, ours in titles(path, kind):
            value = valid_hash(_section(section).get(title), Path(path), st, whole_file=ours == "SHA256")
            if value:
                found[ours] = value
    except Exception as exc:  # noqa: BLE001 - a cache we cannot read is only a missed shortcut
        log.debug("cannot read the WebUI's hash cache: %s", exc)
    return found


def write(path: Path, kind: str, hashes: dict) -> bool:
    """Record our hashes in the WebUI's cache (with mtime and size) where it lacks them; True when it then
    holds them."""
    try:
        st = os.stat(path)
        wrote = held = False
        for section, title, ours in titles(path, kind):
            value = hashes.get(ours)
            if not isinstance(value, str) or not _HEX64.fullmatch(value):
                continue
            cache = _section(section)
            held = True
            if valid_hash(cache.get(title), Path(path), st, whole_file=False) != value.upper():
                cache[title] = {"mtime": st.st_mtime, "sha256": value.lower(), "size": st.st_size}
                wrote = True
        if wrote:
            _dump()
    except Exception as exc:  # noqa: BLE001
        log.debug("cannot write the WebUI's hash cache: %s", exc)
        return False
    return held


def _dump() -> None:
    """Before 1.9 the cache is one JSON file the WebUI writes on ``dump_cache()``; since then a no-op."""
    from modules import cache

    dump = getattr(cache, "dump_cache", None)
    if callable(dump):
        dump()


def write_back(path: Path, kind: str) -> bool:
    """After a download: our hashes of the file into the WebUI's cache. A download is verified by its
    SHA-256 alone, so the addnet hash A1111 wants for a LoRA is made here, from the one small file (still
    in the page cache), rather than by the WebUI when the LoRA is first used."""
    from ..library.hash_batch import hash_files
    from ..library.hash_cache import HashCache, sidecar_sha256

    path = Path(path)
    needed = {ours for _section, _title, ours in titles(path, kind)}
    with HashCache() as cache:
        known = cache.known(path)
        if not known.get("SHA256"):
            sha = sidecar_sha256(path)
            known = {**known, "SHA256": sha} if sha else known
        missing = [k for k in needed if k not in known]
        if missing and known.get("SHA256"):
            result = hash_files([path], missing, cache=cache).get(path)
            known = {**known, **result} if isinstance(result, dict) else known
    return write(path, kind, known)


def _entries(entries, layout):
    if entries is not None:
        return [e for e in entries if e.kind in KINDS]
    from ..library.scanner import find_model_files
    from .a1111 import A1111Layout

    folders = (layout or A1111Layout()).scan_folders()
    return find_model_files({k: v for k, v in folders.items() if k in KINDS})


def import_known(entries: Iterable | None = None, *, layout=None, cache=None) -> int:
    """Hashes the WebUI already computed, validated, into our cache (for ``entries`` of a scan, or every
    file of the layout); returns for how many files."""
    from ..library.hash_cache import HashCache

    try:
        todo = _entries(entries, layout)
    except Exception as exc:  # noqa: BLE001
        log.debug("no layout for the hash import: %s", exc)
        return 0
    own = cache is None
    cache = cache or HashCache()
    found = []
    try:
        for entry in todo:
            if entry.status != "pending":
                continue
            known = cache.known(entry.path)
            if known.get("SHA256") and (ADDNET in known or entry.kind != "lora"):
                continue  # nothing the WebUI could add
            new = {k: v for k, v in read(entry.path, entry.kind).items() if not known.get(k)}
            if new:
                found.append((entry.path, new, None))
        cache.put_many(found)  # one transaction: a first seeding may bring thousands
    finally:
        if own:
            cache.close()
    if found:
        log.info("Civitai Companion: reused the hashes the WebUI had already computed for %d files", len(found))
    return len(found)


def export_known(entries: Iterable, *, cache=None) -> int:
    """After a scan: the hashes we know of ``entries`` into the WebUI's cache where it lacks them; returns
    for how many files the WebUI's cache now holds ours."""
    from ..library.hash_cache import HashCache

    own = cache is None
    cache = cache or HashCache()
    written = 0
    try:
        for entry in _entries(entries, None):
            known = cache.known(entry.path)
            if known.get("SHA256") and write(entry.path, entry.kind, known):
                written += 1
    finally:
        if own:
            cache.close()
    return written
