"""Know the local library: find model files, hash them, resolve them against Civitai in batches.

A library of 1,000 files costs about ten ``POST /model-versions/by-hash`` requests (100 SHA-256 each),
not 1,000 GETs; single GETs are only for a site that refuses the batch route. Identity is always the
file's real SHA-256 matched to a Civitai file's ``hashes.SHA256``; what a safetensors header claims
about itself is only ever a first guess (:func:`~.resolve.guess_version`). Hashes Civitai does not know
are remembered for a while (:class:`~.resolve.UnknownCache`), so a rescan does not ask about them again;
files resolved before and unchanged since are answered by the library index (:mod:`.index`, :mod:`.rescan`),
so a rescan of an unchanged library costs only the update check.
One bad file never stops a scan: that file gets the status ``error`` and a one-line reason; a lookup
that cannot be answered (outage, no network) gives every file left the same one reason.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Mapping

from ..api import CivitaiClient, ModelVersion
from ..api.types import VersionModel
from .rows import version_row
from .resolve import UnknownCache, resolve_hashes
from .updates import find_updates

if TYPE_CHECKING:
    from .hash_cache import HashCache
    from .index import Known, LibraryIndex
    from .sidecars import SidecarResult

log = logging.getLogger(__name__)

MODEL_EXTENSIONS = frozenset({".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".sft", ".gguf"})
SIDECAR_WORKERS = 4

Progress = Callable[[str, int, int], object]  # (phase, done, total): "hash" in bytes, others in items


def is_model_file(name: str) -> bool:
    """A model file by its name: known extension, not hidden, not a ``.part`` download in progress."""
    lower = name.lower()
    return not lower.startswith(".") and os.path.splitext(lower)[1] in MODEL_EXTENSIONS


@dataclass
class ScanEntry:
    """One local file and what is known about it; ``status`` is resolved, unknown or error.

    ``from_index``: the library index answered for it (the file is unchanged since it was resolved);
    ``carried``: what the index knew from the last update check, reported while no new check runs.
    """

    path: Path
    kind: str | None = None
    sha256: str | None = None
    status: str = "pending"
    version: ModelVersion | None = None
    newer: ModelVersion | None = None
    other_base: list[ModelVersion] = field(default_factory=list)  # later releases for other base models
    error: str | None = None
    from_unknown_cache: bool = False
    sidecars: "SidecarResult | None" = None
    warnings: list[str] = field(default_factory=list)
    preview: str | None = None
    from_index: bool = False
    carried: dict = field(default_factory=dict)
    sidecars_host: str | None = None  # the host our sidecars beside it were written for, when known
    refreshed: bool = False  # the update check brought names or words the index did not have
    stat: os.stat_result | None = field(default=None, repr=False)
    real: str | None = field(default=None, repr=False)  # its real path, when the walk resolved it
    indexed: "Known | None" = field(default=None, repr=False)  # its row before this scan

    def fail(self, message: object) -> None:
        from .hashing import error_text

        text = error_text(message) if isinstance(message, BaseException) else " ".join(str(message).split())
        self.status, self.error = "error", text or "failed"

    def to_json(self) -> dict:
        """The ``scan --json`` object (see :func:`version_row`)."""
        if self.status == "resolved" and self.version is not None:
            out = version_row(self.path, self.sha256, self.version, kind=self.kind, preview=self.preview,
                              newer=self.newer, other_base=self.other_base)
            for key, value in self.carried.items():
                out.setdefault(key, value)
            return out
        out = {"path": str(self.path), "sha256": self.sha256, "status": self.status}
        if self.status == "error":
            out["error"] = self.error
        out["kind"], out["preview"] = self.kind, self.preview
        return out


@dataclass
class ScanReport:
    entries: list[ScanEntry] = field(default_factory=list)
    requests: int = 0  # API requests this scan sent (retries not counted)
    files_hashed: int = 0
    bytes_hashed: int = 0
    from_index: int = 0  # files the library index answered for, unread and unasked
    cancelled: bool = False

    def count(self, status: str) -> int:
        return sum(1 for e in self.entries if e.status == status)


# -- finding files ----------------------------------------------------------------------------------------
def _walk(top: Path, seen_dirs: set[str]) -> Iterable[Path]:
    """Model files under ``top``; hidden folders skipped; symlinked folders followed once (no loops)."""
    for dirpath, dirnames, filenames in os.walk(top, followlinks=True, onerror=lambda e: log.warning("%s", e)):
        real = os.path.realpath(dirpath)
        if real in seen_dirs:
            dirnames[:] = []
            continue
        seen_dirs.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if is_model_file(name):
                yield Path(dirpath) / name


def _broken_link(path: Path) -> str | None:
    """Why a symlink leads nowhere (its target is missing, or links loop), else None."""
    if not path.is_symlink() or os.path.exists(path):
        return None
    try:
        return f"broken link to {os.readlink(path)}"
    except OSError:
        return "broken link"


def find_model_files(folders: Mapping[str | None, Iterable[str | os.PathLike]]) -> list[ScanEntry]:
    """Every model file in the folders (``{kind: [folder, ...]}``), each real file once (by its own
    name rather than a symlink's when both are found). A broken link is an ``error`` entry, so a model
    the user thinks is installed is not silently missing from the scan."""
    from .rows import RealPaths

    by_real: dict[str, ScanEntry] = {}
    seen_dirs: set[str] = set()
    realpath = RealPaths()
    for kind, paths in folders.items():
        for folder in paths:
            folder = Path(folder)
            if not folder.is_dir():
                continue
            for path in _walk(folder, seen_dirs):
                try:  # one lstat tells a link from a file, and is the stat of a file that is not a link
                    st = os.lstat(path)
                    link = stat.S_ISLNK(st.st_mode)
                    if link and os.path.exists(path):
                        st = os.stat(path)
                except OSError:
                    continue
                if link and stat.S_ISLNK(st.st_mode):
                    entry = by_real.setdefault(f"link:{path.absolute()}", ScanEntry(path=path.absolute(), kind=kind))
                    entry.fail(_broken_link(path) or "broken link")
                    continue
                if not stat.S_ISREG(st.st_mode):
                    continue
                real = realpath(path, link=link)
                known = by_real.get(real)
                if known is None:
                    by_real[real] = ScanEntry(path=path.absolute(), kind=kind, real=real, stat=st)
                elif known.path.is_symlink() and not link:
                    known.path, known.stat = path.absolute(), st
    return list(by_real.values())


def entries_for_paths(paths: Iterable[str | os.PathLike]) -> list[ScanEntry]:
    """Entries for paths the user named: files are taken as they are, folders are walked."""
    from .rows import RealPaths

    entries: list[ScanEntry] = []
    seen: set[str] = set()
    realpath = RealPaths()
    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            found = find_model_files({None: [path]})
        else:
            found = [ScanEntry(path=path.absolute())]
            if not path.exists():
                found[0].fail(_broken_link(path) or f"no such file: {path}")
        for entry in found:
            real = entry.real or realpath(entry.path)
            if real not in seen:
                seen.add(real)
                entries.append(entry)
    return entries


# -- the scan ------------------------------------------------------------------------------------------------
def scan(
    entries: list[ScanEntry],
    *,
    client: CivitaiClient | None = None,
    cache: "HashCache | None" = None,
    index: "LibraryIndex | None | bool" = None,
    folders: Iterable[str | os.PathLike] = (),
    offline: bool = False,
    sidecars: bool = True,
    updates: bool = True,
    refresh: bool = False,
    unknown_cache: UnknownCache | None = None,
    host: str = "a1111",
    previews: bool = True,
    replace_previews: bool = False,
    max_nsfw_level: int = 1,
    workers: int | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> ScanReport:
    """Hash, resolve, check for updates and write sidecars for ``entries`` (see ``find_model_files``).

    A file the library ``index`` (default: the state dir's; ``False``: none) knows as resolved, with the
    same path, size, mtime and inode, is neither read nor asked about: only the update check (one
    request per 100 models) refreshes it. ``refresh`` asks Civitai again about every file. ``offline``
    sends nothing: files are answered from the index, the hash cache and ``.civitai.info`` sidecars.
    ``folders`` are the folders ``entries`` are all of: rows of files no longer in them are dropped.
    A preview the user already has is kept unless ``replace_previews``. ``host`` decides the
    ``sd version`` written for Flux models (``"forge"``). ``progress(phase, done, total)`` is called with
    the phases "hash" (bytes), "resolve" (hashes), "updates" (models) and "sidecars" (files).
    """
    from .hash_cache import HashCache
    from .index import open_index
    from .rescan import Listings, answer_from_index, find_previews, full_version, record, resolve_offline, stat_entries

    client = client or CivitaiClient()
    own_cache, own_index = cache is None, index is None
    cache = HashCache() if own_cache else cache
    index = open_index() if own_index else (None if index is False else index)
    unknown_cache = unknown_cache if unknown_cache is not None else UnknownCache()
    report = ScanReport(entries=entries)
    listings = Listings()

    def phase(name: str):
        return (lambda done, total: progress(name, done, total)) if progress is not None else None

    try:
        stat_entries(entries)
        if index is not None:
            report.from_index = answer_from_index(entries, index, refresh=refresh and not offline, offline=offline,
                                                  need_info=sidecars and not offline, listings=listings)
        try:
            _hash_entries(entries, cache, report, workers=workers, progress=phase("hash"), cancel=cancel)
        finally:
            if own_cache:
                cache.close()
        if offline:
            resolve_offline(entries, index, unknown_cache, site=client.base_url)
        else:
            _resolve_entries(entries, client, report, unknown_cache=unknown_cache, refresh=refresh,
                             progress=phase("resolve"), cancel=cancel)
        resolved = [e for e in entries if e.status == "resolved"]
        checked = bool(updates and not offline and resolved and not report.cancelled)
        models = _check_updates(resolved, client, report, progress=phase("updates"), cancel=cancel) if checked else {}
        # Files the index answered for have their sidecars already. They are rewritten when Civitai's names
        # changed, for another host, or to replace previews: from the version body their .civitai.info
        # keeps, or the update check's fresher one (no lookup needed either way).
        write = [e for e in resolved if not e.from_index or e.refreshed
                 or ((replace_previews or e.sidecars_host != host) and full_version(e))] if sidecars else []
        if not offline and write and not report.cancelled:
            _write_all_sidecars(write, client=client, host=host, previews=previews, replace_previews=replace_previews,
                                max_nsfw_level=max_nsfw_level, progress=phase("sidecars"), cancel=cancel,
                                models=models)
        find_previews(entries, Listings())  # listed again: the sidecars may have added previews
        report.cancelled = bool(cancel is not None and cancel.is_set())
        if index is not None and not report.cancelled:
            record(index, entries, folders, host=host, updates_checked=checked)
    finally:
        if own_index and index is not None:
            index.close()
    return report


def _check_updates(resolved, client, report, *, progress, cancel) -> dict:
    """Real updates (and other-base releases) of every resolved file, 100 models a request; the same
    answer refreshes the names and trained words of files the index answered for (Civitai may have
    renamed them). Returns the models, which also lend descriptions and previews to the sidecars."""
    def counted() -> None:
        report.requests += 1

    found, models = find_updates(client, [e.version for e in resolved], cancel=cancel, on_request=counted,
                                 progress=progress)
    for entry in resolved:
        model = models.get(entry.version.model_id)
        if model is None:
            continue  # this model's check failed or it is gone: keep what the index knew
        update = found.get(entry.version.id)
        entry.newer, entry.carried = (update.newer if update else None), {}
        entry.other_base = update.other_base if update else []
        if entry.from_index:
            listed = next((v for v in model.model_versions if v.id == entry.version.id), None)
            if listed is not None:
                listed.model = VersionModel(name=model.name, type=model.type, nsfw=model.nsfw, poi=model.poi,
                                            mode=model.mode)
                listed.model_id = listed.model_id or model.id
                listed.raw = {**listed.raw, "modelId": listed.model_id,  # as /model-versions has it, for .civitai.info
                              "model": {"name": model.name, "type": model.type, "nsfw": model.nsfw, "poi": model.poi}}
                before = version_row(entry.path, entry.sha256, entry.version)
                entry.version = listed
                entry.refreshed = version_row(entry.path, entry.sha256, listed) != before
    return models


def _hash_entries(entries, cache, report, *, workers, progress, cancel) -> None:
    """Fill in each pending entry's SHA-256, or mark it as an error."""
    from .hash_batch import hash_files
    from .hashing import scan_kinds

    pending = [e for e in entries if e.status == "pending"]
    kind_of = {e.path: e.kind for e in pending}

    def on_hash(done: int, total: int, _files_done: int, _files_total: int) -> None:
        if progress is not None:
            progress(done, total)

    hashed = hash_files([e.path for e in pending], ["SHA256"], cache=cache, workers=workers, progress=on_hash,
                        cancel=cancel, also=lambda path: scan_kinds(kind_of.get(path)))
    report.files_hashed, report.bytes_hashed = hashed.stats.files_hashed, hashed.stats.bytes_hashed
    for entry in pending:
        result = hashed.get(entry.path)
        if isinstance(result, dict) and result.get("SHA256"):
            entry.sha256 = result["SHA256"].upper()
        else:
            entry.fail(result if isinstance(result, Exception) else "could not hash the file")
    report.cancelled = bool(cancel is not None and cancel.is_set())


def _resolve_entries(entries, client, report, *, unknown_cache, refresh, progress, cancel) -> None:
    """Ask Civitai about the hashes not known to be unknown and set each pending entry's status."""
    site = client.base_url
    hashes = {e.sha256 for e in entries if e.status == "pending"}
    known_unknown = set() if refresh else unknown_cache.fresh(site, hashes)
    ask = sorted(hashes - known_unknown)
    answers: dict = {}
    if ask and not report.cancelled:
        def counted() -> None:
            report.requests += 1

        answers = resolve_hashes(client, ask, on_request=counted, progress=progress, cancel=cancel)
    unknown_cache.add(site, [h for h in hashes if h in answers and answers[h] is None])
    unknown_cache.discard(site, [h for h in hashes if isinstance(answers.get(h), ModelVersion)])
    for entry in entries:
        if entry.status != "pending":
            continue
        answer = answers.get(entry.sha256)
        if isinstance(answer, ModelVersion):
            entry.status, entry.version = "resolved", answer
        elif isinstance(answer, Exception):
            entry.fail(answer)
        elif entry.sha256 in answers or entry.sha256 in known_unknown:
            entry.status, entry.from_unknown_cache = "unknown", entry.sha256 in known_unknown
        else:
            entry.fail("cancelled")


def _write_all_sidecars(resolved, *, client, host, previews, replace_previews, max_nsfw_level, progress,
                        cancel, models=None) -> None:
    from .sidecars import write_sidecars

    def one(entry: ScanEntry) -> None:
        if cancel is not None and cancel.is_set():
            return
        try:
            entry.sidecars = write_sidecars(
                entry.path, entry.version, sha256=entry.sha256, session=client.session, host=host,
                max_nsfw_level=max_nsfw_level, preview=previews, replace_preview=replace_previews,
                base_url=client.base_url, model=(models or {}).get(entry.version.model_id),
            )
            entry.warnings.extend(entry.sidecars.warnings + entry.sidecars.errors)
        except OSError as exc:  # the file is still resolved; only its sidecars failed
            from .hashing import error_text

            entry.warnings.append(f"sidecars not written: {error_text(exc)}")
            log.warning("%s: sidecars not written: %s", entry.path, error_text(exc))

    with ThreadPoolExecutor(SIDECAR_WORKERS, thread_name_prefix="civitai-sidecars") as pool:
        for done, _ in enumerate(pool.map(one, resolved), 1):
            if progress is not None:
                progress(done, len(resolved))

