"""Know the local library: find model files, hash them, resolve them against Civitai in batches.

A library of 1,000 files costs about ten ``POST /model-versions/by-hash`` requests (100 SHA-256 each),
not 1,000 GETs; single GETs are only the fall-back for what a failed batch left. Identity is always the
file's real SHA-256 matched to a Civitai file's ``hashes.SHA256``; what a safetensors header claims
about itself is only ever a first guess (:func:`~.resolve.guess_version`). Hashes Civitai does not know
are remembered for a while (:class:`~.resolve.UnknownCache`), so a rescan does not ask about them again.
One bad file, 404 or 500 never stops a scan: that file gets the status ``error`` and a one-line reason.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Mapping

from ..api import CivitaiClient, ModelVersion
from .resolve import UnknownCache, resolve_hashes
from .updates import check_updates

if TYPE_CHECKING:
    from .hash_cache import HashCache
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
    """One local file and what is known about it; ``status`` is resolved, unknown or error."""

    path: Path
    kind: str | None = None
    sha256: str | None = None
    status: str = "pending"
    version: ModelVersion | None = None
    newer: ModelVersion | None = None
    error: str | None = None
    from_unknown_cache: bool = False
    sidecars: "SidecarResult | None" = None
    warnings: list[str] = field(default_factory=list)

    def fail(self, message: object) -> None:
        from .hashing import error_text

        text = error_text(message) if isinstance(message, BaseException) else " ".join(str(message).split())
        self.status, self.error = "error", text or "failed"

    def to_json(self) -> dict:
        """The ``scan --json`` object: Civitai's names for Civitai's values."""
        out: dict = {"path": str(self.path), "sha256": self.sha256, "status": self.status}
        if self.status == "resolved" and self.version is not None:
            v = self.version
            out.update(
                modelId=v.model_id,
                modelVersionId=v.id,
                modelName=v.model.name,
                versionName=v.name,
                type=v.model.type,
                baseModel=v.base_model,
                trainedWords=list(v.trained_words),
            )
            if self.newer is not None:
                out["newerVersionId"] = self.newer.id
        if self.status == "error":
            out["error"] = self.error
        return out


@dataclass
class ScanReport:
    entries: list[ScanEntry] = field(default_factory=list)
    requests: int = 0  # API requests this scan sent (retries not counted)
    files_hashed: int = 0
    bytes_hashed: int = 0
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
    by_real: dict[str, ScanEntry] = {}
    seen_dirs: set[str] = set()
    for kind, paths in folders.items():
        for folder in paths:
            folder = Path(folder)
            if not folder.is_dir():
                continue
            for path in _walk(folder, seen_dirs):
                broken = _broken_link(path)
                if broken is not None:
                    entry = by_real.setdefault(f"link:{path.absolute()}", ScanEntry(path=path.absolute(), kind=kind))
                    entry.fail(broken)
                    continue
                real = os.path.realpath(path)
                if not os.path.isfile(real):
                    continue
                known = by_real.get(real)
                if known is None:
                    by_real[real] = ScanEntry(path=path.absolute(), kind=kind)
                elif known.path.is_symlink() and not path.is_symlink():
                    known.path = path.absolute()
    return list(by_real.values())


def entries_for_paths(paths: Iterable[str | os.PathLike]) -> list[ScanEntry]:
    """Entries for paths the user named: files are taken as they are, folders are walked."""
    entries: list[ScanEntry] = []
    seen: set[str] = set()
    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            found = find_model_files({None: [path]})
        else:
            found = [ScanEntry(path=path.absolute())]
            if not path.exists():
                found[0].fail(_broken_link(path) or f"no such file: {path}")
        for entry in found:
            real = os.path.realpath(entry.path)
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

    ``refresh`` asks Civitai again about hashes the unknown-cache remembers. A preview the user already
    has is kept unless ``replace_previews``. ``host`` decides the
    ``sd version`` written for Flux models (``"forge"``). ``progress(phase, done, total)`` is called with
    the phases "hash" (bytes), "resolve" (hashes), "updates" (models) and "sidecars" (files).
    """
    from .hash_cache import HashCache

    client = client or CivitaiClient()
    own_cache = cache is None
    cache = HashCache() if own_cache else cache
    unknown_cache = unknown_cache if unknown_cache is not None else UnknownCache()
    report = ScanReport(entries=entries)

    def phase(name: str):
        return (lambda done, total: progress(name, done, total)) if progress is not None else None

    try:
        _hash_entries(entries, cache, report, workers=workers, progress=phase("hash"), cancel=cancel)
    finally:
        if own_cache:
            cache.close()
    _resolve_entries(entries, client, report, unknown_cache=unknown_cache, refresh=refresh,
                     progress=phase("resolve"), cancel=cancel)
    resolved = [e for e in entries if e.status == "resolved"]
    if updates and resolved and not report.cancelled:
        def counted() -> None:
            report.requests += 1

        newer, _ = check_updates(client, [e.version for e in resolved], cancel=cancel, on_request=counted,
                                 progress=phase("updates"))
        for entry in resolved:
            entry.newer = newer.get(entry.version.id)
    if sidecars and resolved and not report.cancelled:
        _write_all_sidecars(resolved, client=client, host=host, previews=previews, replace_previews=replace_previews,
                            max_nsfw_level=max_nsfw_level, progress=phase("sidecars"), cancel=cancel)
    report.cancelled = bool(cancel is not None and cancel.is_set())
    return report


def _hash_entries(entries, cache, report, *, workers, progress, cancel) -> None:
    """Fill in each pending entry's SHA-256, or mark it as an error."""
    from .hash_batch import hash_files

    pending = [e for e in entries if e.status == "pending"]

    def on_hash(done: int, total: int, _files_done: int, _files_total: int) -> None:
        if progress is not None:
            progress(done, total)

    hashed = hash_files([e.path for e in pending], ["SHA256"], cache=cache, workers=workers,
                        progress=on_hash, cancel=cancel)
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
                        cancel) -> None:
    from .sidecars import write_sidecars

    def one(entry: ScanEntry) -> None:
        if cancel is not None and cancel.is_set():
            return
        try:
            entry.sidecars = write_sidecars(
                entry.path, entry.version, sha256=entry.sha256, session=client.session, host=host,
                max_nsfw_level=max_nsfw_level, preview=previews, replace_preview=replace_previews,
                base_url=client.base_url,
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

