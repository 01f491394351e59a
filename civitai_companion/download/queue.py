"""A queue of downloads: a few at once, cancellable, and remembered across restarts.

Jobs live in ``<state dir>/downloads.json``, rewritten atomically on every status change, so a crash or
a restart loses nothing: pending jobs, and jobs that were running (their ``.part`` is on disk), are
pending again when the queue is next opened and resume with ``Range``. One process owns the file at a
time (the CLI, or the host app); progress is not persisted, the ``.part`` itself is the progress.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

from .. import config, safe_json
from .transaction import Downloader
from .errors import DownloadCancelled
from .progress import DownloadProgress
from .stream import find_state, remove_partial

log = logging.getLogger(__name__)

QUEUE_FILE_NAME = "downloads.json"
DEFAULT_WORKERS = 2
MAX_FINISHED = 200  # finished jobs kept for the history view
ACTIVE = ("pending", "running")
OPTION_KEYS = ("file_id", "format", "size", "fp", "folder", "overwrite")


@dataclass
class DownloadJob:
    """One queued download; ``status`` is pending, running, done, failed or cancelled."""

    id: str
    ref: str
    options: dict = field(default_factory=dict)
    status: str = "pending"
    phase: str | None = None
    error: str | None = None
    version_id: int | None = None
    file_id: int | None = None
    folder: str | None = None
    layout: str | None = None  # whose folders a job without a folder option belongs in
    name: str | None = None
    path: str | None = None
    sha256: str | None = None
    skipped: bool = False  # done: the file was already there, nothing was downloaded
    resumed: bool = False  # done: a partial file was finished
    bytes_done: int = 0
    total: int | None = None
    created: float = 0.0
    updated: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> "DownloadJob | None":
        """A job from the queue file; a field of the wrong type (a hand-edited or damaged file) gets its
        default, and a status we do not know becomes ``failed`` rather than being run blindly."""
        if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not isinstance(data.get("ref"), str):
            return None
        values = {}
        for f in fields(cls):
            if f.name in data and _fits(data[f.name], _FIELD_TYPES[f.name]):
                values[f.name] = data[f.name]
        job = cls(**values)
        job.options = {k: v for k, v in job.options.items() if k in OPTION_KEYS}
        if data.get("status", job.status) not in STATUSES:
            job.status, job.error = "failed", job.error or f"unknown status {data.get('status')!r} in the queue file"
        return job


STATUSES = ("pending", "running", "done", "failed", "cancelled")
# What each field of a saved job may hold (JSON types; None only where the field allows it).
_FIELD_TYPES: dict[str, tuple] = {
    "id": (str,), "ref": (str,), "options": (dict,), "status": (str,), "phase": (str, type(None)),
    "error": (str, type(None)), "version_id": (int, type(None)), "file_id": (int, type(None)),
    "folder": (str, type(None)), "layout": (str, type(None)), "name": (str, type(None)),
    "path": (str, type(None)), "sha256": (str, type(None)), "skipped": (bool,), "resumed": (bool,),
    "bytes_done": (int,), "total": (int, type(None)),
    "created": (int, float), "updated": (int, float),
}


def _fits(value: Any, types: tuple) -> bool:
    return isinstance(value, types) and (bool in types or not isinstance(value, bool))


class DownloadQueue:
    """Worker threads (``workers`` at once) running a :class:`Downloader`; thread-safe.

    ``progress(job, event)`` gets every :class:`DownloadProgress` of every job (from worker threads),
    plus an event whose ``phase`` is the new status whenever a job is queued, fails or is cancelled.
    With ``autostart=False`` nothing runs until :meth:`start`.
    """

    def __init__(
        self,
        downloader: Downloader | None = None,
        *,
        workers: int = DEFAULT_WORKERS,
        state_file: str | os.PathLike | None = None,
        progress: Callable[[DownloadJob, DownloadProgress], object] | None = None,
        autostart: bool = True,
    ) -> None:
        self._downloader = downloader
        self.workers = max(1, int(workers))
        self.state_file = Path(state_file) if state_file is not None else config.home_dir() / QUEUE_FILE_NAME
        self.progress = progress
        self.autostart = autostart
        self._jobs: dict[str, DownloadJob] = {}
        self._cancels: dict[str, threading.Event] = {}
        self._discard: set[str] = set()
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._closing = False
        self._save_lock = threading.Lock()
        self._load()
        if autostart and self.pending():
            self.start()

    @property
    def downloader(self) -> Downloader:
        """The downloader jobs run with (a default one, made when first needed)."""
        if self._downloader is None:
            self._downloader = Downloader()
        return self._downloader

    # -- public interface ----------------------------------------------------------------------------------
    def submit(self, ref: str | int, **options: Any) -> DownloadJob:
        """Queue a download (options: file_id, format, size, fp, folder, overwrite); the same active
        request twice gives the same job."""
        unknown = set(options) - set(OPTION_KEYS)
        if unknown:
            raise TypeError(f"unknown download option(s): {', '.join(sorted(unknown))}")
        clean = {k: (str(v) if k == "folder" else v) for k, v in options.items() if v is not None and v is not False}
        with self._cond:
            for job in self._jobs.values():
                if job.status in ACTIVE and job.ref == str(ref) and job.options == clean:
                    return job
            now = time.time()
            job = DownloadJob(id=uuid.uuid4().hex[:12], ref=str(ref), options=clean, created=now, updated=now,
                              layout=None if "folder" in clean else self._layout_key())
            self._jobs[job.id] = job
            self._cond.notify_all()
        self._save()
        self._emit(job, DownloadProgress("queued"))
        if self.autostart:
            self.start()
        return job

    def start(self) -> None:
        """Start the worker threads (idempotent)."""
        with self._cond:
            if self._closing:
                raise RuntimeError("the download queue is closed")
            self._threads = [t for t in self._threads if t.is_alive()]
            while len(self._threads) < self.workers:
                thread = threading.Thread(target=self._work, name=f"civitai-download-{len(self._threads) + 1}", daemon=True)
                self._threads.append(thread)
                thread.start()

    def jobs(self) -> list[DownloadJob]:
        """Copies of every job, oldest first."""
        with self._cond:
            return [DownloadJob(**asdict(j)) for j in sorted(self._jobs.values(), key=lambda j: j.created)]

    def get(self, job_id: str) -> DownloadJob | None:
        with self._cond:
            job = self._jobs.get(job_id)
            return DownloadJob(**asdict(job)) if job else None

    def pending(self) -> list[DownloadJob]:
        """Jobs this queue is running or will run (not those queued for another app's folders)."""
        key = self._layout_key()
        return [j for j in self.jobs() if j.status == "running" or self._runnable(j, key)]

    def cancel(self, job_id: str, *, discard: bool = True) -> bool:
        """Cancel a pending or running job; ``discard`` also deletes its partial file. False if not active."""
        with self._cond:
            job = self._jobs.get(job_id)
            if job is None or job.status not in ACTIVE:
                return False
            if job.status == "pending":
                self._finish(job, "cancelled")
                if discard:
                    _discard_partial(job)  # left by an earlier run, if any
            else:
                if discard:
                    self._discard.add(job_id)
                self._cancels.setdefault(job_id, threading.Event()).set()
                return True
        self._save()
        self._emit(job, DownloadProgress("cancelled"))
        return True

    def retry(self, job_id: str) -> bool:
        """Queue a failed or cancelled job again (its ``.part``, if kept, resumes)."""
        with self._cond:
            job = self._jobs.get(job_id)
            if job is None or job.status in ACTIVE or job.status == "done" or self._closing:
                return False
            job.status, job.error, job.updated = "pending", None, time.time()
            self._cond.notify_all()
        self._save()
        if self.autostart:
            self.start()
        return True

    def cancel_all(self, *, discard: bool = True) -> int:
        """Cancel every pending or running job, whoever queued it."""
        return sum(self.cancel(job.id, discard=discard) for job in self.jobs() if job.status in ACTIVE)

    def clear_finished(self) -> int:
        """Forget done, failed and cancelled jobs."""
        with self._cond:
            gone = [i for i, j in self._jobs.items() if j.status not in ACTIVE]
            for job_id in gone:
                del self._jobs[job_id]
        self._save()
        return len(gone)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no job is pending or running; False if ``timeout`` ran out first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        key = self._layout_key()
        with self._cond:
            while any(j.status == "running" or self._runnable(j, key) for j in self._jobs.values()):
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining if remaining is not None else 1.0)
        return True

    def close(self, *, timeout: float | None = 30.0) -> None:
        """Stop the workers. Running jobs stop where they are and stay pending (with their ``.part``),
        so the next queue on the same file resumes them."""
        with self._cond:
            self._closing = True
            for job in self._jobs.values():
                if job.status == "running":
                    self._cancels.setdefault(job.id, threading.Event()).set()
            self._cond.notify_all()
        for thread in list(self._threads):
            thread.join(timeout)
        self._save()

    def __enter__(self) -> "DownloadQueue":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- workers -----------------------------------------------------------------------------------------------
    def _layout_key(self) -> str | None:
        """"host:models folder" of this queue's layout, so a job queued by one app never lands in another's."""
        try:
            layout = self.downloader.layout
            return f"{layout.name}:{layout.models_dir()}"
        except Exception:  # noqa: BLE001 - no layout (e.g. host not running): jobs need a folder then
            return None

    def _runnable(self, job: DownloadJob, key: str | None) -> bool:
        return job.status == "pending" and (job.layout is None or job.layout == key)

    def _next(self) -> DownloadJob | None:
        key = self._layout_key()
        with self._cond:
            while not self._closing:
                job = next((j for j in sorted(self._jobs.values(), key=lambda j: j.created) if self._runnable(j, key)), None)
                if job is not None:
                    job.status, job.updated, job.error = "running", time.time(), None
                    self._cancels[job.id] = threading.Event()
                    return job
                self._cond.wait(0.5)
        return None

    def _work(self) -> None:
        while True:
            job = self._next()
            if job is None:
                return
            self._save()
            self._run(job)

    def _run(self, job: DownloadJob) -> None:
        cancel = self._cancels[job.id]
        plan = None

        def on_progress(event: DownloadProgress) -> None:
            job.phase, job.bytes_done, job.total = event.phase, event.bytes_done, event.total
            self._emit(job, event)

        try:
            plan = self.downloader.plan(job.ref, **{k: v for k, v in job.options.items() if k != "overwrite"})
            job.version_id, job.file_id, job.folder, job.name = plan.version.id, plan.file.id, str(plan.folder), plan.name
            result = self.downloader.run(plan, overwrite=bool(job.options.get("overwrite")), progress=on_progress, cancel=cancel)
        except DownloadCancelled:
            with self._cond:
                if self._closing and job.id not in self._discard:
                    job.status = "pending"  # resumes when the queue is opened again
                    self._cond.notify_all()
                else:
                    self._finish(job, "cancelled")
            if job.id in self._discard:
                _discard_partial(job)
            self._emit(job, DownloadProgress("cancelled", job.bytes_done, job.total, name=job.name))
        except Exception as exc:  # noqa: BLE001 - a job's failure is recorded, the worker goes on
            log.info("download of %s failed: %s", job.ref, exc)  # the job says it; whoever queued it reports it
            with self._cond:
                self._finish(job, "failed", error=str(exc))
            self._emit(job, DownloadProgress("failed", job.bytes_done, job.total, name=job.name))
        else:
            with self._cond:
                job.path, job.sha256, job.bytes_done, job.total = str(result.path), result.sha256, result.size, result.size
                job.skipped, job.resumed = result.skipped, result.resumed
                self._finish(job, "done")
        finally:
            self._cancels.pop(job.id, None)
            self._discard.discard(job.id)
        self._save()

    def _finish(self, job: DownloadJob, status: str, *, error: str | None = None) -> None:
        """Set a final status (caller holds the condition) and wake ``wait``."""
        job.status, job.error, job.updated = status, error, time.time()
        finished = sorted((j for j in self._jobs.values() if j.status not in ACTIVE), key=lambda j: j.updated)
        for old in finished[: max(0, len(finished) - MAX_FINISHED)]:
            del self._jobs[old.id]
        self._cond.notify_all()

    def _emit(self, job: DownloadJob, event: DownloadProgress) -> None:
        if self.progress is None:
            return
        try:
            self.progress(job, event)
        except Exception as exc:  # noqa: BLE001 - a broken UI callback must not kill a worker
            log.warning("download progress callback failed: %s", exc)

    # -- persistence ---------------------------------------------------------------------------------------
    def _load(self) -> None:
        try:
            data = safe_json.read_file(self.state_file)
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("cannot read the download queue %s: %s", self.state_file, exc.strerror or exc)
            return
        except ValueError:
            data = None
        items = data.get("jobs") if isinstance(data, dict) else None
        if not isinstance(items, list):
            aside = self.state_file.with_name(self.state_file.name + ".bad")
            n = 1
            while os.path.lexists(aside):  # an earlier damaged copy is kept too
                aside = self.state_file.with_name(f"{self.state_file.name}.bad-{n}")
                n += 1
            log.warning("the download queue %s is unreadable; moved it to %s", self.state_file, aside.name)
            try:
                os.replace(self.state_file, aside)
            except OSError:
                pass
            return
        for item in items:
            job = DownloadJob.from_json(item)
            if job is None:
                continue
            if job.status == "running":
                job.status = "pending"  # the process ended mid-download; its .part resumes
            self._jobs[job.id] = job

    def _save(self) -> None:
        with self._cond:
            document = {"version": 1, "jobs": [j.to_json() for j in sorted(self._jobs.values(), key=lambda j: j.created)]}
        with self._save_lock:
            try:
                self.state_file.parent.mkdir(parents=True, exist_ok=True)
                tmp = self.state_file.with_name(f".{self.state_file.name}.{os.getpid()}.tmp")
                with open(tmp, "w", encoding="utf-8") as fh:
                    json.dump(document, fh, indent=1)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.state_file)
            except OSError as exc:
                log.warning("cannot save the download queue %s: %s", self.state_file, exc.strerror or exc)


def _discard_partial(job: DownloadJob) -> None:
    """Delete the ``.part`` of a cancelled job, found by its version and file id in its folder."""
    if job.version_id is None or not job.folder:
        return
    found = find_state(Path(job.folder), job.version_id, job.file_id)
    if found is not None:
        remove_partial(found[0])
