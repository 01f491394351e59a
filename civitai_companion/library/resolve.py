"""From SHA-256 to Civitai version: batched lookups, the single-GET fall-back, and the unknown-hash cache.

``resolve_hashes`` asks ``POST /model-versions/by-hash`` 100 hashes at a time; only what a refused batch
left is asked one GET at a time. ``UnknownCache`` remembers hashes Civitai did not know, so a rescan does
not ask about them again within its TTL. ``guess_version`` looks up what a safetensors header claims,
as a first guess only.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Callable, Iterable

from .. import config
from ..api import CivitaiClient, CivitaiError, ModelVersion, NetworkError, NotFound, RateLimited, UnknownRoute
from ..api.client import BY_HASH_BATCH

log = logging.getLogger(__name__)

UNKNOWN_TTL_ENV = "CIVITAI_COMPANION_UNKNOWN_TTL"
DEFAULT_UNKNOWN_TTL = 24 * 3600.0


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


def _match(versions: Iterable[ModelVersion], wanted: Iterable[str]) -> dict[str, ModelVersion]:
    """SHA-256 -> the first version that lists a file with exactly that hash."""
    wanted = set(wanted)
    found: dict[str, ModelVersion] = {}
    for version in versions:
        for f in version.files:
            if f.sha256 in wanted and f.sha256 not in found:
                found[f.sha256] = version
    return found


# The batch route itself refused (a mirror without it, a changed API): only then ask one hash at a time.
ROUTE_REFUSED = frozenset({400, 404, 405})
# Single GETs stop after this many failures in a row: the site is down, more requests would only fail too.
MAX_SINGLE_FAILURES = 3


def route_refused(exc: BaseException) -> bool:
    """True when the answer says "no such route here" rather than "not now" (5xx, 429, network)."""
    return isinstance(exc, CivitaiError) and getattr(exc, "status", None) in ROUTE_REFUSED


def _one_by_one(client: CivitaiClient, hashes: list[str], on_request: Callable[[], object], cancel):
    """Single GETs, for a site whose batch route is refused: ``(answers, error that stopped them)``.
    They stop early when the site cannot answer at all (network, rate limit, no API route, several
    failures in a row)."""
    answers: dict = {}
    failures = 0
    for i, sha in enumerate(hashes):
        if cancel is not None and cancel.is_set():
            break
        on_request()
        try:
            version = client.version_by_hash(sha)
        except UnknownRoute as exc:
            stop = exc
        except NotFound:
            answers[sha], failures = None, 0
            continue
        except (NetworkError, RateLimited) as exc:
            stop = exc
        except CivitaiError as exc:
            answers[sha], failures = exc, failures + 1
            if failures < MAX_SINGLE_FAILURES:
                continue
            stop = exc
        else:
            answers[sha], failures = (version if version.file_by_sha256(sha) is not None else None), 0
            continue
        for rest in hashes[i:]:
            answers.setdefault(rest, stop)
        return answers, stop
    return answers, None


def resolve_hashes(
    client: CivitaiClient,
    hashes: Iterable[str],
    *,
    on_request: Callable[[], object] | None = None,
    progress: Callable[[int, int], object] | None = None,
    cancel: threading.Event | None = None,
) -> dict[str, "ModelVersion | None | CivitaiError"]:
    """SHA-256 -> its version, None (Civitai does not know it) or the error that stopped the lookup.

    A batch that fails with 5xx, 429 or a network error has already been retried as a batch, with
    bounded back-off, by the transport; the lookup then stops, and every hash left carries that one
    error (a wrong ``CIVITAI_BASE_URL`` or an outage costs a handful of requests, not one per file).
    Only a refused route (400, 404, 405) is answered with single GETs, for this and later batches.
    """
    on_request = on_request or (lambda: None)
    todo = list(dict.fromkeys(h.upper() for h in hashes))
    answers: dict = {}
    singles = False
    for start in range(0, len(todo), BY_HASH_BATCH):
        if cancel is not None and cancel.is_set():
            break
        chunk = todo[start : start + BY_HASH_BATCH]
        stop = None
        if not singles:
            on_request()
            try:
                found = _match(client.versions_by_hashes(chunk), chunk)
            except CivitaiError as exc:
                if not route_refused(exc):
                    stop = exc
                else:
                    log.info("the batch lookup route was refused (%s); asking one hash at a time", exc)
                    singles = True
            else:
                answers.update({sha: found.get(sha) for sha in chunk})
        if singles and stop is None:
            single, stop = _one_by_one(client, chunk, on_request, cancel)
            answers.update(single)
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
