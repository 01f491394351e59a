"""The WebUI's own hash cache and ours, kept in step so no model file is hashed twice.

A1111 (since 1.9) keeps hashes in diskcache sections under ``cache/`` (``modules.cache.cache(name)``):
``hashes`` holds the whole-file SHA-256 of checkpoints (``checkpoint/<path under the folder>``),
embeddings (``textual_inversion/<name>``), hypernetworks (``hypernet/<name>``) and non-safetensors LoRAs
(``lora/<name>``); ``hashes-addnet`` holds LoRA safetensors, where A1111 stores the SHA-256 of the bytes
after the header and Forge the whole-file SHA-256. Values are ``{"mtime", "sha256"}``.

A value from there is taken only when it describes the file as it is: its mtime equals the file's, the
size we wrote with it (if any) matches, it is 64 hex digits, and it is not the SHA-256 of the file *name*
(what Forge cached for a while in 2024-25). Our SHA-256 goes back with the file's mtime and size, so the
WebUI does not read the file again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from pathlib import Path

log = logging.getLogger(__name__)

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
KINDS = ("checkpoint", "lora", "embedding", "hypernetwork")


def _forge() -> bool:
    from .webui import is_forge

    return is_forge()


def whole_file_titles(path: Path, kind: str, *, forge: bool | None = None) -> list[tuple[str, str]]:
    """``(section, title)`` pairs under which the WebUI keeps this file's whole-file SHA-256."""
    path = Path(path)
    stem = path.stem
    if kind in ("checkpoint", "diffusion_model"):
        return [("hashes", "checkpoint/" + _checkpoint_name(path))]
    if kind == "lora":
        if path.suffix.lower() != ".safetensors":
            return [("hashes", "lora/" + stem)]
        if forge if forge is not None else _forge():
            return [("hashes-addnet", "lora/" + stem)]
        return []  # A1111 keys these by the hash after the header, which is another number
    if kind == "embedding":
        return [("hashes", "textual_inversion/" + stem)]
    if kind == "hypernetwork":
        return [("hashes", "hypernet/" + stem)]
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


def valid_sha256(entry: object, path: Path, st: os.stat_result | None = None) -> str | None:
    """The entry's SHA-256 (upper case) if it still describes ``path``, else None."""
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
    if sha.lower() == hashlib.sha256(os.path.basename(path).encode("utf-8")).hexdigest():
        return None  # the hash of the name, not of the file
    return sha.upper()


def read(path: Path, kind: str) -> str | None:
    """The WebUI's validated SHA-256 of a file, or None."""
    for section, title in whole_file_titles(path, kind):
        try:
            sha = valid_sha256(_section(section).get(title), Path(path))
        except Exception as exc:  # noqa: BLE001 - a cache we cannot read is only a missed shortcut
            log.debug("cannot read the WebUI's hash cache: %s", exc)
            return None
        if sha:
            return sha
    return None


def write(path: Path, kind: str, sha256: str) -> bool:
    """Record our SHA-256 in the WebUI's cache (with mtime and size); False when it has no place for it."""
    titles = whole_file_titles(path, kind)
    if not titles or not _HEX64.fullmatch(sha256 or ""):
        return False
    try:
        st = os.stat(path)
        for section, title in titles:
            _section(section)[title] = {"mtime": st.st_mtime, "sha256": sha256.lower(), "size": st.st_size}
    except Exception as exc:  # noqa: BLE001
        log.debug("cannot write the WebUI's hash cache: %s", exc)
        return False
    return True


def write_back(path: Path, kind: str) -> bool:
    """After a download: our cached SHA-256 of the file into the WebUI's cache."""
    from ..library.hash_cache import HashCache, sidecar_sha256

    with HashCache() as ours:
        sha = ours.known(path).get("SHA256")
    sha = sha or sidecar_sha256(path)
    return bool(sha) and write(path, kind, sha)


def import_known(*, layout=None, cache=None) -> int:
    """SHA-256 values the WebUI already computed, validated, into our cache; returns how many."""
    from ..library.hash_cache import HashCache
    from ..library.scanner import find_model_files
    from .a1111 import A1111Layout

    try:
        folders = (layout or A1111Layout()).scan_folders()
    except Exception as exc:  # noqa: BLE001
        log.debug("no layout for the hash import: %s", exc)
        return 0
    own = cache is None
    cache = cache or HashCache()
    added = 0
    try:
        for entry in find_model_files({k: v for k, v in folders.items() if k in KINDS}):
            if entry.status != "pending" or cache.known(entry.path).get("SHA256"):
                continue
            sha = read(entry.path, entry.kind)
            if sha:
                cache.put(entry.path, {"SHA256": sha})
                added += 1
    finally:
        if own:
            cache.close()
    if added:
        log.info("Civitai Companion: reused %d hashes the WebUI had already computed", added)
    return added
