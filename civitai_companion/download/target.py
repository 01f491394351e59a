"""Deciding what to download and where: the file of a version, the free target name, the copy already there.

Split from ``download`` so the transaction reads top to bottom; nothing here touches the network.
"""

from __future__ import annotations

import errno
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..api import ModelFile, ModelVersion
from .errors import DiskError, DownloadError, HashMismatch, NoMatchingFile, SizeMismatch
from .names import candidate_names, in_folder, safe_filename
from .progress import ProgressMeter
from .stream import part_path, remove_partial, state_path

log = logging.getLogger(__name__)

SIZE_TOLERANCE = 1024  # the API gives sizes in KB as a float


@dataclass
class DownloadPlan:
    """What will be downloaded, known before the first byte."""

    version: ModelVersion
    file: ModelFile
    folder: Path
    name: str  # the sanitised files[].name; Content-Disposition may still refine it
    size: int | None  # approximate, from sizeKB
    sha256: str | None

    @property
    def target(self) -> Path:
        return self.folder / self.name


@dataclass
class DownloadResult:
    """A verified file in place. ``skipped``: it was already there; ``transferred``: bytes fetched now."""

    path: Path
    sha256: str
    version_id: int | None
    file_id: int | None
    size: int
    transferred: int = 0
    skipped: bool = False
    resumed: bool = False
    sidecars: Any = None
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"path": str(self.path), "sha256": self.sha256, "modelVersionId": self.version_id, "bytes": self.size}


def _describe(f: ModelFile) -> str:
    meta = f.metadata
    bits = [b for b in (f.type, meta.format, meta.size, meta.fp) if b]
    return f"{f.id} ({', '.join(bits)})" if bits else str(f.id)


def _same(wanted: str | None, value: str | None) -> bool:
    return wanted is None or (value or "").strip().lower() == wanted.strip().lower()


def choose_file(
    version: ModelVersion,
    *,
    file_id: int | None = None,
    format: str | None = None,  # noqa: A002 - Civitai's parameter name
    size: str | None = None,
    fp: str | None = None,
) -> ModelFile:
    """The file to fetch: ``file_id`` (any file, training data too), else the version's model file
    matching every given format/size/fp, else its model file. Civitai's ``primary`` flag is followed only
    for a model file: real versions flag a training-data zip or an archive as primary, and those are
    fetched only by id. No match is an error listing what the version has."""
    files = version.files
    if not files:
        raise NoMatchingFile(f"version {version.id} has no files to download", hint="it may be archived")
    available = "; ".join(_describe(f) for f in files)
    if file_id is not None:
        for f in files:
            if f.id == int(file_id):
                return f
        raise NoMatchingFile(f"version {version.id} has no file {file_id}; it has: {available}")
    models = version.model_files()
    if not models:
        raise NoMatchingFile(
            f"version {version.id} has no model file, only: {available}",
            hint="pass --file-id with one of these ids to download it anyway",
        )
    if format or size or fp:
        matches = [f for f in models if _same(format, f.metadata.format) and _same(size, f.metadata.size) and _same(fp, f.metadata.fp)]
        if not matches:
            wanted = ", ".join(f"{k}={v}" for k, v in (("format", format), ("size", size), ("fp", fp)) if v)
            raise NoMatchingFile(f"version {version.id} has no model file with {wanted}; it has: {available}")
    chosen = version.model_file(format=format, size=size, fp=fp)
    assert chosen is not None
    return chosen


def download_query(version: ModelVersion, file: ModelFile) -> list[tuple[str, str]]:
    """The ``/api/download/models/<id>`` query that fetches exactly ``file``.

    The file's own ``downloadUrl`` is used when it names the file (2026 answers pin it with ``fileId``).
    Otherwise ``type/format/size/fp`` pick it, plus ``fileId`` when another file of the version has the
    same four values (real versions hold two SafeTensor models that only their ids tell apart)."""
    own = file.download_query
    if any(key == "fileId" for key, _ in own):
        return own

    def selector(f: ModelFile) -> list[tuple[str, str]]:
        meta = f.metadata
        pairs = (("type", f.type), ("format", meta.format), ("size", meta.size), ("fp", meta.fp))
        return [(key, value) for key, value in pairs if value]

    pairs = selector(file)
    twins = [f for f in version.files if f is not file and f.id != file.id and selector(f) == pairs]
    if twins and file.id is not None:
        pairs.append(("fileId", str(file.id)))
    return pairs


def build_plan(
    version: ModelVersion,
    layout: Any,
    *,
    file_id: int | None = None,
    format: str | None = None,  # noqa: A002 - Civitai's parameter name
    size: str | None = None,
    fp: str | None = None,
    folder: str | os.PathLike | None = None,
) -> DownloadPlan:
    """The plan for one file of a known version: ``folder`` wins, else the layout decides (file type first)."""
    chosen = choose_file(version, file_id=file_id, format=format, size=size, fp=fp)
    if folder is None:
        folder = layout.folder_for(
            version.model.type,
            chosen.type,
            base_model=version.base_model,
            model_name=version.model.name,
            version_name=version.name,
            model_id=version.model_id,
            version_id=version.id,
        )
    fallback = f"civitai-{version.id}-{chosen.id or 'file'}.bin"
    return DownloadPlan(
        version=version,
        file=chosen,
        folder=Path(folder).expanduser(),
        name=safe_filename(chosen.name, fallback=fallback),
        size=chosen.size_bytes,
        sha256=chosen.sha256,
    )


_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)


def content_range(header: str | None) -> tuple[int | None, int | None]:
    """(first byte, total length) of a ``Content-Range`` header; (None, None) if unreadable."""
    match = _CONTENT_RANGE.match(header or "")
    if not match:
        return None, None
    total = match.group(3)
    return int(match.group(1)), (int(total) if total != "*" else None)


def disk_error(exc: OSError, where: Path, *, removed: bool = True) -> DiskError:
    """A one-line disk error: full, read-only or permission, with the folder it happened in."""
    code = getattr(exc, "errno", None)
    tail = "; the partial file was removed" if removed else ""
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return DiskError(f"disk full in {where}{tail}", hint="free some space and download again")
    if code in (errno.EACCES, errno.EPERM):
        return DiskError(f"permission denied writing to {where}{tail}", hint="choose a folder you can write to")
    if code == errno.EROFS:
        return DiskError(f"{where} is on a read-only file system{tail}", hint="choose another folder")
    reason = getattr(exc, "strerror", None) or str(exc)
    return DiskError(f"cannot write to {where}: {reason}{tail}")


def free_target(folder: Path, name: str, *, overwrite: bool) -> Path:
    """``folder/name``, or with ``overwrite`` off the first ``name (n).ext`` that is neither a file nor
    someone's ``.part``; always inside ``folder``."""
    for candidate in candidate_names(name):
        path = folder / candidate
        if not in_folder(folder, path):
            raise DownloadError(f"refusing to write outside {folder}: {candidate!r}")
        busy = part_path(path).exists() or state_path(path).exists()
        if overwrite and candidate == name and not busy:
            return path
        if not busy and not os.path.lexists(path):
            return path
    raise DownloadError(f"no free name for {name} in {folder}", hint="tidy up the numbered copies")


def file_sha256(path: Path, cache: Any, meter: ProgressMeter | None = None) -> str | None:
    """The SHA-256 of a file on disk, from the hash cache when it knows, else by reading it once."""
    if cache is not None:
        try:
            known = cache.known(path).get("SHA256")
        except Exception as exc:  # noqa: BLE001 - the cache is an optimisation
            log.debug("hash cache lookup failed for %s: %s", path, exc)
            known = None
        if known:
            return known.upper()
    from ..library.hashing import hash_file

    try:
        st = path.stat()
        if meter is not None:
            meter.set_phase("checking", done=0, total=st.st_size)
        digest = hash_file(path, "SHA256", progress=meter.update if meter else None)["SHA256"].upper()
    except OSError as exc:
        log.warning("could not read %s to compare it: %s", path, exc)
        return None
    record_hash(cache, path, digest, stat_result=st)
    return digest


def existing_copy(plan: DownloadPlan, name: str, cache: Any, meter: ProgressMeter | None = None) -> Path | None:
    """A file in the folder that already is this download: ``name`` or one of its ``name (n).ext``."""
    if not plan.sha256:
        return None
    for index, candidate in enumerate(candidate_names(name, limit=100)):
        path = plan.folder / candidate
        try:
            st = path.stat()
        except OSError:
            if index == 0:
                continue
            break  # numbered copies are made in order; a gap ends them
        if not path.is_file() or not in_folder(plan.folder, path):  # a symlink to the same file counts
            continue
        if plan.size is not None and abs(st.st_size - plan.size) > SIZE_TOLERANCE:
            continue
        if file_sha256(path, cache, meter) == plan.sha256:
            return path
    return None


def record_hash(cache: Any, path: Path, digest: str, *, stat_result: os.stat_result | None = None) -> None:
    """Tell the hash cache, so a later library scan does not read the file again; never fails the caller."""
    if cache is None:
        return
    try:
        cache.put(path, {"SHA256": digest}, stat_result=stat_result)
    except Exception as exc:  # noqa: BLE001 - the cache is an optimisation
        log.warning("could not record the hash of %s: %s", path.name, exc)


def verify(plan: DownloadPlan, target: Path, position: int, total: int | None, digest: str) -> None:
    """Keep the ``.part`` only if it is the file: the announced length and the API's SHA-256."""
    if total is not None and position != total:
        remove_partial(target)
        raise SizeMismatch(f"{target.name}: received {position} bytes, the server announced {total}; nothing was kept",
                           hint="try again later")
    if plan.sha256:
        if digest != plan.sha256:
            remove_partial(target)
            raise HashMismatch(
                f"{target.name}: SHA-256 mismatch (expected {plan.sha256[:12]}…, got {digest[:12]}…); "
                "the download was deleted, nothing was kept",
                hint="try again; if it happens again the file on Civitai may be broken",
            )
        return
    if plan.size is not None and abs(position - plan.size) > SIZE_TOLERANCE:
        remove_partial(target)
        raise SizeMismatch(f"{target.name}: {position} bytes, Civitai lists {plan.size}; nothing was kept")
    log.warning("Civitai lists no SHA-256 for %s: only its size was checked", target.name)
