"""A download is a transaction: it either puts the exact file Civitai lists into the right folder, or
leaves nothing but a resumable ``.part`` (network trouble) or nothing at all (bad bytes, full disk).

1. Metadata first: the version and its file (primary, by id, or by format/size/fp) give the size and
   SHA-256 before a byte is fetched; the layout gives the folder.
2. ``GET /api/download/models/<id>`` with the Bearer token (when known) and without following redirects;
   the 307's signed storage URL is then fetched **without** the token.
3. The body streams into ``<target>.part`` through :func:`~.stream.stream_into`, hashed on the
   way; ``<target>.part.json`` says which file it belongs to (never the URL or the token).
4. Size and SHA-256 are checked, the file is fsynced and ``os.replace``d into place, the sidecars are
   written and the hash is cached, so a later scan does not read the file again.

A resume re-resolves the signed URL (they expire) and sends ``Range``; a server that ignores it is
answered by truncating and starting over. The lock only saves work; the hash is what proves the file.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any, Callable

from ..api import CivitaiClient, CivitaiError, ModelVersion
from ..api.errors import looks_like_html
from ..library.index import index_download
from .errors import DownloadCancelled, DownloadError, DownloadInterrupted, IntegrityError
from .http import NETWORK_ERRORS, RangeNotSatisfiable, body_chunks, html_error, interrupted, is_encoded, open_body
from .lock import PathLock
from .names import content_disposition_filename, in_folder, safe_filename
from .progress import DownloadProgress, ProgressMeter
from .stream import (
    CHUNK_SIZE,
    PartState,
    WriteFailed,
    close_quietly,
    find_state,
    fsync_dir,
    hash_prefix,
    part_path,
    remove_partial,
    state_path,
    stream_into,
    write_state,
)
from .target import (
    DownloadPlan,
    DownloadResult,
    build_plan,
    content_range,
    disk_error,
    existing_copy,
    free_target,
    record_hash,
    verify,
)

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (10.0, 60.0)  # (connect, read): a stalled server fails within a minute, resumably


class _Restart(Exception):
    """Internal: throw the ``.part`` away and start from byte 0 (the server sent something else)."""


@dataclass
class _Attempt:
    """Bookkeeping shared by the attempts of one download."""

    transferred: int = 0
    resumed: bool = False


class Downloader:
    """Downloads versions into one layout; share one per app (it is thread-safe, the queue uses it).

    ``host`` is the app's name as the user gave it: it picks the layout when no ``layout`` is given, and
    the sidecars are written for it (``"forge"`` has A1111's folders, but its sidecars may say Flux).
    """

    def __init__(
        self,
        client: CivitaiClient | None = None,
        *,
        layout: Any = None,
        host: str | None = None,
        root: str | os.PathLike | None = None,
        subfolder_template: str | None = None,
        other_dir: str | os.PathLike | None = None,
        hash_cache: Any = None,
        sidecars: bool = True,
        sidecar_options: dict | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        max_resumes: int = 3,
        chunk_size: int = CHUNK_SIZE,
        lock_wait: float = 0.0,
    ) -> None:
        self.client = client or CivitaiClient()
        self._layout = layout
        self.host = host  # as given ("forge" is A1111's layout, but its sidecars may say Flux)
        self._layout_args = (host or "standalone", root, subfolder_template, other_dir)
        self._cache = hash_cache
        self.sidecars = sidecars
        self.sidecar_options = dict(sidecar_options or {})
        self.timeout = timeout
        self.max_resumes = max(0, int(max_resumes))
        self.chunk_size = max(64 * 1024, int(chunk_size))
        self.lock_wait = lock_wait
        self._init_lock = threading.Lock()

    # -- collaborators, made when first needed ------------------------------------------------------------
    @property
    def layout(self):
        with self._init_lock:
            if self._layout is None:
                from ..hosts import get_layout

                host, root, template, other = self._layout_args
                self._layout = get_layout(host, root, other_dir=other, subfolder_template=template)
            return self._layout

    @property
    def hash_cache(self):
        """The shared hash cache, or None when disabled with ``hash_cache=False``."""
        with self._init_lock:
            if self._cache is None:
                from ..library.hash_cache import HashCache

                self._cache = HashCache()
            return self._cache or None

    # -- planning ---------------------------------------------------------------------------------------------
    def resolve(self, ref: str | int | ModelVersion) -> ModelVersion:
        if isinstance(ref, ModelVersion):
            return ref
        from ..refs import resolve_version

        return resolve_version(self.client, str(ref))

    def plan(
        self,
        ref: str | int | ModelVersion,
        *,
        file_id: int | None = None,
        format: str | None = None,  # noqa: A002 - Civitai's own parameter name
        size: str | None = None,
        fp: str | None = None,
        folder: str | os.PathLike | None = None,
    ) -> DownloadPlan:
        """Everything known before the first byte: version, file, folder, name, size and SHA-256."""
        version = self.resolve(ref)
        layout = self.layout if folder is None else None
        return build_plan(version, layout, file_id=file_id, format=format, size=size, fp=fp, folder=folder)

    # -- the transaction --------------------------------------------------------------------------------------
    def download(
        self,
        ref: str | int | ModelVersion,
        *,
        file_id: int | None = None,
        format: str | None = None,  # noqa: A002
        size: str | None = None,
        fp: str | None = None,
        folder: str | os.PathLike | None = None,
        overwrite: bool = False,
        progress: Callable[[DownloadProgress], object] | None = None,
        cancel: threading.Event | None = None,
    ) -> DownloadResult:
        """Download one file of a version (see the module docstring); returns where it is and its hash."""
        plan = self.plan(ref, file_id=file_id, format=format, size=size, fp=fp, folder=folder)
        return self.run(plan, overwrite=overwrite, progress=progress, cancel=cancel)

    def run(
        self,
        plan: DownloadPlan,
        *,
        overwrite: bool = False,
        progress: Callable[[DownloadProgress], object] | None = None,
        cancel: threading.Event | None = None,
    ) -> DownloadResult:
        meter = ProgressMeter(progress, name=plan.name)
        created = _missing_folders(plan.folder)
        try:
            plan.folder.mkdir(parents=True, exist_ok=True)
            lock = PathLock(plan.folder / plan.name, wait=self.lock_wait, cancel=cancel).__enter__()
        except DownloadError:
            _remove_if_empty(created)
            raise
        except OSError as exc:
            _remove_if_empty(created)
            raise disk_error(exc, plan.folder, removed=False) from None
        failed = False
        try:
            existing = existing_copy(plan, plan.name, self.hash_cache, meter)
            if existing is not None:
                return self._already_there(plan, existing, meter)
            attempt, tries, restarts = _Attempt(), 0, 0
            while True:
                try:
                    return self._attempt(plan, overwrite=overwrite, meter=meter, cancel=cancel, stats=attempt)
                except _Restart:
                    restarts += 1
                    if restarts > 3:
                        raise DownloadError(f"the server keeps sending the wrong part of {plan.name}",
                                            hint="try again later") from None
                except DownloadInterrupted as exc:
                    if tries >= self.max_resumes or (cancel is not None and cancel.is_set()):
                        raise
                    tries += 1
                    log.info("%s; resuming (%d of %d)", exc.message, tries, self.max_resumes)
                    self.client.transport.sleep(min(8.0, 0.5 * 2 ** (tries - 1)))
        except BaseException:
            failed = True
            raise
        finally:
            lock.__exit__(None, None, None)
            if failed:  # a failed download leaves no empty folder behind (a kept .part stays)
                _remove_if_empty(created)

    def _already_there(self, plan: DownloadPlan, path: Path, meter: ProgressMeter) -> DownloadResult:
        found = find_state(plan.folder, plan.version.id, plan.file.id)
        if found is not None:
            remove_partial(found[0])  # a leftover partial of a file we already have
        log.info("%s is already in %s (same SHA-256); nothing downloaded", path.name, path.parent)
        size = path.stat().st_size
        result = DownloadResult(path, plan.sha256 or "", plan.version.id, plan.file.id, size, skipped=True)
        self._sidecars(result, plan)
        meter.set_phase("skipped", done=size, total=size)
        return result

    def _attempt(self, plan: DownloadPlan, *, overwrite: bool, meter: ProgressMeter, cancel, stats: _Attempt):
        found = find_state(plan.folder, plan.version.id, plan.file.id)
        if found is not None and plan.sha256 and found[1].sha256 and found[1].sha256 != plan.sha256:
            log.info("discarding %s: Civitai now lists a different file", part_path(found[0]).name)
            remove_partial(found[0])
            found = None
        target = found[0] if found else None
        offset = 0
        hasher = hashlib.sha256()
        if target is not None:
            try:
                offset = part_path(target).stat().st_size
            except OSError:
                offset = 0
            if found[1].size is not None and offset > found[1].size:
                offset = 0
            if offset:
                meter.set_phase("checking", done=0, total=offset)
                offset = hash_prefix(part_path(target), hasher, length=offset, on_bytes=meter.update)
                stats.resumed = True
        meter.set_phase("resolving", done=offset)
        try:
            response = open_body(self.client, plan, offset=offset, timeout=self.timeout, target=target)
        except RangeNotSatisfiable:
            return self._finish_416(plan, offset, hasher, target, overwrite=overwrite, meter=meter, stats=stats)
        try:
            return self._receive(plan, response, offset, hasher, target, overwrite=overwrite, meter=meter,
                                 cancel=cancel, stats=stats)
        finally:
            response.close()

    def _finish_416(self, plan, offset, hasher, target, *, overwrite, meter, stats):
        """The server has nothing past ``offset``: the ``.part`` is complete if its hash says so."""
        if target is not None and plan.sha256 and hasher.hexdigest().upper() == plan.sha256:
            log.info("%s was already complete; finishing it", part_path(target).name)
            return self._commit(plan, target, hasher.hexdigest().upper(), offset, overwrite=overwrite, meter=meter, stats=stats)
        log.info("the server has nothing past byte %d and the partial file is not the file; starting over", offset)
        if target is not None:
            remove_partial(target)
        raise _Restart()

    def _receive(self, plan, response, offset, hasher, target, *, overwrite, meter, cancel, stats):
        status = response.status_code
        content_type = response.headers.get("Content-Type", "")
        if "html" in content_type.lower():
            raise html_error(response)
        if status == 206:
            start, total = content_range(response.headers.get("Content-Range"))
            if is_encoded(response):  # a range of the compressed data says nothing about our .part
                start = None
            if start != offset:
                log.info("the server resumed at byte %s instead of %d; starting over", start, offset)
                if target is not None:
                    remove_partial(target)
                raise _Restart()
        elif status == 200:
            start = 0
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isascii() and length.isdigit() and not is_encoded(response) else None
            if offset:
                log.info("the server ignored Range; starting %s over", plan.name)
                hasher = hashlib.sha256()
        else:
            raise DownloadError(f"unexpected HTTP {status} for the download of {plan.name}", status=status)
        chunks = body_chunks(response, self.chunk_size)
        try:
            first = next(chunks, b"")
        except NETWORK_ERRORS as exc:
            raise interrupted(exc, target, offset, total) from None
        if start == 0 and looks_like_html(None, first[:512]):
            raise html_error(response)
        if target is None:
            name = content_disposition_filename(response.headers.get("Content-Disposition"))
            name = safe_filename(name, fallback=plan.name) if name else plan.name
            if name != plan.name:
                existing = existing_copy(plan, name, self.hash_cache, meter)
                if existing is not None:
                    return self._already_there(plan, existing, meter)
            target = free_target(plan.folder, name, overwrite=overwrite)
        if not in_folder(plan.folder, target):
            raise DownloadError(f"refusing to write outside {plan.folder}: {target.name!r}")
        return self._write(plan, chain([first], chunks), start, total, hasher, target,
                           overwrite=overwrite, meter=meter, cancel=cancel, stats=stats)

    def _write(self, plan, chunks, start, total, hasher, target, *, overwrite, meter, cancel, stats):
        part = part_path(target)
        expected = total if total is not None else plan.size
        try:
            write_state(target, PartState(plan.version.id, plan.file.id, target.name, total, plan.sha256, time.time()))
            if expected is not None and shutil.disk_usage(plan.folder).free < expected - start:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
            fd = os.open(part, flags, 0o644)
        except OSError as exc:
            remove_partial(target)
            raise disk_error(exc, target.parent) from None
        received = [start]

        def on_bytes(position: int) -> None:
            stats.transferred += position - received[0]
            received[0] = position
            meter.update(position)

        meter.set_phase("downloading", done=start, total=expected)
        limit = total if total is not None else (plan.size + 1024 * 1024 if plan.size else None)
        try:
            os.ftruncate(fd, start)
            os.lseek(fd, start, os.SEEK_SET)
            position = stream_into(chunks, fd, hasher, start=start, on_bytes=on_bytes, cancel=cancel, limit=limit)
            os.fsync(fd)
        except WriteFailed as exc:
            close_quietly(fd)
            remove_partial(target)
            raise disk_error(exc.original, target.parent) from None
        except DownloadCancelled:
            close_quietly(fd)
            raise
        except IntegrityError:  # the body itself is broken (undecodable): keeping a prefix of it helps no one
            close_quietly(fd)
            remove_partial(target)
            raise
        except NETWORK_ERRORS as exc:
            close_quietly(fd)
            raise interrupted(exc, target, received[0], expected) from None
        except OSError as exc:
            close_quietly(fd)
            remove_partial(target)
            raise disk_error(exc, target.parent) from None
        close_quietly(fd)
        if expected is not None and position < expected - (0 if total is not None else 1024):
            raise interrupted(None, target, position, expected)
        meter.set_phase("verifying", done=position, total=position)
        digest = hasher.hexdigest().upper()
        verify(plan, target, position, total, digest)
        return self._commit(plan, target, digest, position, overwrite=overwrite, meter=meter, stats=stats)

    def _commit(self, plan, target, digest, size, *, overwrite, meter, stats):
        part = part_path(target)
        final = target
        try:
            if os.path.lexists(final) and not overwrite:  # someone put a file there while we downloaded
                final = free_target(plan.folder, final.name, overwrite=False)
            os.replace(part, final)
            fsync_dir(final.parent)
            state_path(target).unlink(missing_ok=True)
        except OSError as exc:
            remove_partial(target)
            raise disk_error(exc, final.parent) from None
        record_hash(self.hash_cache, final, digest)
        result = DownloadResult(final, digest, plan.version.id, plan.file.id, size,
                                transferred=stats.transferred, resumed=stats.resumed)
        self._sidecars(result, plan)
        meter.set_phase("done", done=size, total=size)
        log.info("downloaded %s (%d bytes, SHA-256 verified)", final, size)
        return result

    def _sidecars(self, result: DownloadResult, plan: DownloadPlan) -> None:
        if self.sidecars:
            self._write_sidecars(result, plan)
        index_download(result, plan, host=self.host or getattr(self._layout, "name", None) or "a1111")

    def _write_sidecars(self, result: DownloadResult, plan: DownloadPlan) -> None:
        try:
            from ..library.sidecars import write_sidecars

            options = {"session": self.client.session, "base_url": self.client.base_url,
                       "host": self.host or getattr(self._layout, "name", None) or "a1111", **self.sidecar_options}
            options.setdefault("model", self._model_for_sidecars(plan.version))
            result.sidecars = write_sidecars(result.path, plan.version, sha256=result.sha256 or "", **options)
            result.warnings.extend(result.sidecars.warnings)
        except Exception as exc:  # noqa: BLE001 - the model file is good; a sidecar problem must not undo it
            message = f"sidecars not written: {exc}"
            log.warning("%s: %s", result.path.name, message)
            result.warnings.append(message)

    def _model_for_sidecars(self, version: ModelVersion):
        """The version's model, asked for only when the sidecars need it: most versions have no description
        of their own (the model's is used), and a version with only videos borrows another's picture."""
        from ..library.previews import pick_preview_image

        stills = pick_preview_image(version, max_nsfw_level=self.sidecar_options.get("max_nsfw_level", 1))
        if version.model_id is None or (version.description and stills is not None):
            return None
        try:
            return self.client.model(version.model_id)
        except CivitaiError as exc:
            log.info("model %s not fetched for its description: %s", version.model_id, exc)
            return None


def _missing_folders(folder: Path) -> list[Path]:
    """The folders ``mkdir(parents=True)`` would create for ``folder``, deepest first."""
    missing = []
    for candidate in (folder, *folder.parents):
        if os.path.lexists(candidate):
            break
        missing.append(candidate)
    return missing


def _remove_if_empty(folders: list[Path]) -> None:
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:  # not empty (a kept .part, another download), or already gone
            return


def download(ref: str | int | ModelVersion, *, client: CivitaiClient | None = None, **options: Any) -> DownloadResult:
    """One-shot download: ``download("urn:air:sdxl:lora:civitai:123@456", host="comfyui", root="~/ComfyUI")``."""
    keys = ("layout", "host", "root", "subfolder_template", "other_dir", "hash_cache", "sidecars",
            "sidecar_options", "timeout", "max_resumes", "chunk_size", "lock_wait")
    downloader = Downloader(client, **{k: options.pop(k) for k in keys if k in options})
    return downloader.download(ref, **options)
