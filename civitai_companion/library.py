"""Know the local library: find model files, hash them, resolve them against Civitai in batches.

A library of 1,000 files costs about ten ``POST /model-versions/by-hash`` requests (100 SHA-256 each),
not 1,000 GETs; single GETs are only the fall-back for what a failed batch left. Identity is always the
file's real SHA-256 matched to a Civitai file's ``hashes.SHA256``; what a safetensors header claims
about itself is only ever a first guess (:func:`guess_version`). Hashes Civitai does
not know are remembered for a while (:class:`UnknownCache`), so a rescan does not ask about them again.
One bad file, 404 or 500 never stops a scan: that file gets the status ``error`` and a one-line reason.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Mapping

from . import config
from .api import CivitaiClient, CivitaiError, ModelVersion, NetworkError, NotFound, RateLimited, UnknownRoute
from .api.client import BY_HASH_BATCH
from .updates import check_updates

if TYPE_CHECKING:
    from .hash_cache import HashCache
    from .sidecars import SidecarResult

log = logging.getLogger(__name__)

MODEL_EXTENSIONS = frozenset({".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".sft", ".gguf"})
UNKNOWN_TTL_ENV = "CIVITAI_COMPANION_UNKNOWN_TTL"
DEFAULT_UNKNOWN_TTL = 24 * 3600.0
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


def find_model_files(folders: Mapping[str | None, Iterable[str | os.PathLike]]) -> list[ScanEntry]:
    """Every model file in the folders (``{kind: [folder, ...]}``), each real file once (by its own
    name rather than a symlink's when both are found; broken links are skipped)."""
    by_real: dict[str, ScanEntry] = {}
    seen_dirs: set[str] = set()
    for kind, paths in folders.items():
        for folder in paths:
            folder = Path(folder)
            if not folder.is_dir():
                continue
            for path in _walk(folder, seen_dirs):
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
                found[0].fail(f"no such file: {path}")
        for entry in found:
            real = os.path.realpath(entry.path)
            if real not in seen:
                seen.add(real)
                entries.append(entry)
    return entries


# -- hashes Civitai does not know ------------------------------------------------------------------------
def unknown_ttl() -> float:
    """Seconds an unknown hash is not asked about again (``CIVITAI_COMPANION_UNKNOWN_TTL``, default 24 h)."""
    try:
        return max(0.0, float(os.environ.get(UNKNOWN_TTL_ENV, "").strip() or DEFAULT_UNKNOWN_TTL))
    except ValueError:
        log.warning("ignoring %s: not a number of seconds", UNKNOWN_TTL_ENV)
        return DEFAULT_UNKNOWN_TTL


class UnknownCache:
    """A negative cache: (site, SHA-256) pairs Civitai answered "unknown" for, in a small SQLite file.

    Only an optimisation: if the file cannot be used, it behaves as empty and the scan asks again.
    """

    def __init__(self, path: str | os.PathLike | None = None, *, ttl: float | None = None, clock=time.time):
        self.path = Path(path) if path is not None else config.home_dir() / "unknown-hashes.sqlite"
        self.ttl = unknown_ttl() if ttl is None else ttl
        self._clock = clock
        self._lock = threading.Lock()

    def _run(self, operation: Callable[[sqlite3.Connection], object], default=None):
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=5)
                try:
                    with conn:
                        conn.execute(
                            "CREATE TABLE IF NOT EXISTS unknown (site TEXT, sha256 TEXT, checked REAL,"
                            " PRIMARY KEY (site, sha256))"
                        )
                        return operation(conn)
                finally:
                    conn.close()
            except (sqlite3.Error, OSError) as exc:
                log.warning("unknown-hash cache %s not usable: %s", self.path, exc)
            return default

    def fresh(self, site: str, hashes: Iterable[str]) -> set[str]:
        """The hashes known to be unknown on ``site`` within the TTL."""
        wanted = {h.upper() for h in hashes}
        if not wanted or self.ttl <= 0:
            return set()
        since = self._clock() - self.ttl
        rows = self._run(
            lambda c: c.execute("SELECT sha256 FROM unknown WHERE site = ? AND checked >= ?", (site, since)).fetchall(),
            default=[],
        )
        return {sha for (sha,) in rows if sha in wanted}

    def add(self, site: str, hashes: Iterable[str]) -> None:
        now = self._clock()
        rows = [(site, h.upper(), now) for h in hashes]
        if rows:
            self._run(lambda c: c.executemany("INSERT OR REPLACE INTO unknown VALUES (?, ?, ?)", rows))

    def discard(self, site: str, hashes: Iterable[str]) -> None:
        rows = [(site, h.upper()) for h in hashes]
        if rows:
            self._run(lambda c: c.executemany("DELETE FROM unknown WHERE site = ? AND sha256 = ?", rows))


# -- resolving hashes ----------------------------------------------------------------------------------------
def _match(versions: Iterable[ModelVersion], wanted: Iterable[str]) -> dict[str, ModelVersion]:
    """SHA-256 -> the first version that lists a file with exactly that hash."""
    wanted = set(wanted)
    found: dict[str, ModelVersion] = {}
    for version in versions:
        for f in version.files:
            if f.sha256 in wanted and f.sha256 not in found:
                found[f.sha256] = version
    return found


_STOP = (NetworkError, RateLimited)


def _one_by_one(client: CivitaiClient, hashes: list[str], report: ScanReport, cancel) -> dict:
    """Single GETs for what a failed batch left; stop early when the network or rate limit says so."""
    answers: dict = {}
    for i, sha in enumerate(hashes):
        if cancel is not None and cancel.is_set():
            break
        report.requests += 1
        try:
            version = client.version_by_hash(sha)
        except UnknownRoute as exc:
            answers[sha] = exc
        except NotFound:
            answers[sha] = None
        except _STOP as exc:
            for rest in hashes[i:]:
                answers[rest] = exc
            break
        except CivitaiError as exc:
            answers[sha] = exc
        else:
            answers[sha] = version if version.file_by_sha256(sha) is not None else None
    return answers


def resolve_hashes(
    client: CivitaiClient,
    hashes: Iterable[str],
    *,
    report: ScanReport | None = None,
    progress: Callable[[int, int], object] | None = None,
    cancel: threading.Event | None = None,
) -> dict[str, "ModelVersion | None | CivitaiError"]:
    """SHA-256 -> its version, None (Civitai does not know it) or the error that stopped the lookup.

    A batch the server refused (5xx, 400, a mirror without the route) is retried as single GETs; a
    network failure or rate limit stops the lookup instead, since more requests would only fail too.
    """
    report = report if report is not None else ScanReport()
    todo = list(dict.fromkeys(h.upper() for h in hashes))
    answers: dict = {}
    for start in range(0, len(todo), BY_HASH_BATCH):
        if cancel is not None and cancel.is_set():
            break
        chunk = todo[start : start + BY_HASH_BATCH]
        report.requests += 1
        stop = None
        try:
            found = _match(client.versions_by_hashes(chunk), chunk)
        except _STOP as exc:
            stop = exc
        except CivitaiError as exc:
            log.warning("batch lookup of %d hashes failed (%s); asking one by one", len(chunk), exc)
            answers.update(_one_by_one(client, chunk, report, cancel))
            stop = next((v for v in answers.values() if isinstance(v, _STOP)), None)
        else:
            answers.update({sha: found.get(sha) for sha in chunk})
        if stop is not None:
            log.info("lookup stopped: %s", stop)  # every entry left carries this error; callers report it
            for sha in todo[start:]:
                answers.setdefault(sha, stop)
            break
        if progress is not None:
            progress(min(start + BY_HASH_BATCH, len(todo)), len(todo))
    return answers


def guess_version(path: str | os.PathLike, *, client: CivitaiClient | None = None) -> ModelVersion | None:
    """What a safetensors header *claims* the file is, looked up without hashing it: a first guess a UI
    may show while a big file is still being hashed. Never stored and never written to sidecars; only
    :func:`scan` (the real SHA-256) says what a file is. None when there is no claim or no match."""
    from .hashing import claimed_hashes

    try:
        claims = claimed_hashes(path)
    except OSError:
        return None
    claim = claims.get("AutoV3")
    if not claim:
        return None
    try:
        return (client or CivitaiClient()).version_by_hash(claim)
    except NotFound:
        return None
    except CivitaiError as exc:
        log.info("guess for %s failed: %s", path, exc)
        return None


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
        answers = resolve_hashes(client, ask, report=report, progress=progress, cancel=cancel)
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
            entry.warnings.extend(entry.sidecars.warnings)
        except OSError as exc:  # the file is still resolved; only its sidecars failed
            entry.warnings.append(f"sidecars not written: {exc}")
            log.warning("%s: sidecars not written: %s", entry.path, exc)

    with ThreadPoolExecutor(SIDECAR_WORKERS, thread_name_prefix="civitai-sidecars") as pool:
        for done, _ in enumerate(pool.map(one, resolved), 1):
            if progress is not None:
                progress(done, len(resolved))

