"""The app's long work, in threads: downloads through the core's persistent queue, scans of the library.

A route only queues; :meth:`Jobs.downloads` and :meth:`Jobs.scans` report progress for the page to poll.
The download queue is the one the CLI uses (``downloads.json`` in the state dir), so a download cut by a
crash or Ctrl-C is pending again when the app next starts and resumes from its ``.part``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..download import Downloader, DownloadQueue
from ..download.queue import QUEUE_FILE_NAME
from .routes import ApiError

log = logging.getLogger(__name__)

STATES = {"pending": "queued", "running": "running", "done": "done", "failed": "failed", "cancelled": "cancelled"}
MAX_SCANS = 20  # finished scans kept for the page


class _AppDownloader(Downloader):
    """The core's downloader, reading the app's current layout and sidecar setting, and telling the app
    (and through it the host) about every file it puts in place."""

    def __init__(self, service: Any, jobs: "Jobs") -> None:
        self._service = service
        self._jobs = jobs
        super().__init__(service.job_client, host=service.host)

    @property
    def layout(self):  # type: ignore[override]
        return self._service.layout()

    @property
    def sidecars(self) -> bool:  # type: ignore[override]
        return bool(self._service.setting("write_sidecars"))

    @sidecars.setter
    def sidecars(self, _value: bool) -> None:
        pass

    def run(self, plan, **kw):  # type: ignore[override]
        result = super().run(plan, **kw)
        self._jobs.file_added(result.path, plan)
        return result


@dataclass
class ScanJob:
    id: str
    state: str = "queued"  # queued, running, done, failed, cancelled
    phase: str | None = None  # hash, resolve, updates, sidecars
    done: int = 0
    total: int = 0
    error: str | None = None
    files: int = 0
    resolved: int = 0
    unknown: int = 0
    errors: int = 0
    started: float = 0.0
    finished: float | None = None


class Jobs:
    def __init__(self, service: Any, *, start: bool = True) -> None:
        self.service = service
        self._progress: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.queue = DownloadQueue(_AppDownloader(service, self), workers=service.setting("download_workers") or 2,
                                   state_file=service.state_dir / QUEUE_FILE_NAME, progress=self._on_progress,
                                   autostart=start)
        self._scans: dict[str, ScanJob] = {}
        self._scan_cancel: dict[str, threading.Event] = {}
        self._scan_thread: threading.Thread | None = None

    def close(self) -> None:
        for event in list(self._scan_cancel.values()):
            event.set()
        self.queue.close(timeout=10.0)
        thread = self._scan_thread
        if thread is not None:
            thread.join(10.0)

    def set_workers(self, workers: int) -> None:
        self.queue.workers = max(self.queue.workers, int(workers))  # running threads are not stopped
        if self.queue.autostart:
            self.queue.start()

    # -- downloads -----------------------------------------------------------------------------------------
    def _on_progress(self, job, event) -> None:
        with self._lock:
            self._progress[job.id] = (event.speed, event.eta, event.phase)

    def file_added(self, path: Path, plan: Any) -> None:
        """A verified file is in place (the transaction has indexed it): tell the host, from the download
        thread, so it can refresh its model lists."""
        callback = self.service.on_file_added
        if callback is None:
            return
        from ..hosts.base import kind_for

        try:
            callback(Path(path), kind_for(plan.version.model.type, plan.file.type, warn=False))
        except Exception as exc:  # noqa: BLE001 - a host's refresh failing must not fail the download
            log.warning("the host's file-added hook failed: %s", exc)

    def downloads(self) -> list[dict]:
        with self._lock:
            progress = dict(self._progress)
        out = []
        for job in self.queue.jobs():
            speed, eta, phase = progress.get(job.id, (None, None, job.phase))
            running = job.status == "running"
            out.append({
                "id": job.id, "ref": job.ref, "versionId": job.version_id or _int(job.ref), "fileId": job.file_id,
                "fileName": job.name, "state": STATES.get(job.status, job.status), "phase": phase if running else None,
                "bytes": job.bytes_done, "total": job.total, "speed": speed if running else None,
                "eta": eta if running else None, "path": job.path, "folder": job.folder, "error": job.error,
                "skipped": job.skipped, "resumed": job.resumed, "created": job.created, "updated": job.updated,
            })
        return out

    def start_download(self, body: dict) -> dict:
        version_id = _body_id(body, "versionId", required=True)
        file_id = _body_id(body, "fileId", required=False)
        options = {"file_id": file_id} if file_id is not None else {}
        job = self.queue.submit(str(version_id), **options)
        return {"id": job.id}

    def _job(self, job_id: str):
        job = self.queue.get(job_id)
        if job is None:
            raise ApiError(404, "not_found", f"no download {job_id!r}")
        return job

    def cancel_download(self, job_id: str) -> dict:
        job = self._job(job_id)
        if not self.queue.cancel(job_id):
            raise ApiError(409, "not_active", f"the download is {STATES.get(job.status, job.status)}, not queued or running")
        return {"id": job_id, "cancelled": True}

    def retry_download(self, job_id: str) -> dict:
        job = self._job(job_id)
        if not self.queue.retry(job_id):
            raise ApiError(409, "not_retryable", f"the download is {STATES.get(job.status, job.status)}; only failed "
                           "or cancelled downloads can be retried")
        return {"id": job_id}

    def clear_downloads(self) -> dict:
        return {"cleared": self.queue.clear_finished()}

    # -- scans ---------------------------------------------------------------------------------------------
    def scans(self) -> list[dict]:
        with self._lock:
            jobs = sorted(self._scans.values(), key=lambda j: j.started)
            return [asdict(j) for j in jobs]

    def start_scan(self, body: dict) -> dict:
        """Scan the layout's folders (one scan at a time: asking again gives the running scan's id)."""
        refresh = body.get("refresh", False)
        if not isinstance(refresh, bool):
            raise ApiError(400, "bad_request", "refresh is true or false")
        with self._lock:
            running = next((j for j in self._scans.values() if j.state in ("queued", "running")), None)
            if running is not None:
                return {"id": running.id}
            job = ScanJob(id=uuid.uuid4().hex[:12], started=time.time())
            self._scans[job.id] = job
            cancel = self._scan_cancel[job.id] = threading.Event()
            finished = sorted((j for j in self._scans.values() if j.finished), key=lambda j: j.finished or 0)
            for old in finished[: max(0, len(finished) - MAX_SCANS)]:
                del self._scans[old.id]
        thread = threading.Thread(target=self._scan, args=(job, cancel, refresh), name="civitai-scan", daemon=True)
        self._scan_thread = thread
        thread.start()
        return {"id": job.id}

    def cancel_scan(self, job_id: str) -> dict:
        with self._lock:
            job = self._scans.get(job_id)
            if job is None:
                raise ApiError(404, "not_found", f"no scan {job_id!r}")
            if job.state not in ("queued", "running"):
                raise ApiError(409, "not_active", f"the scan is {job.state}")
            self._scan_cancel[job_id].set()
        return {"id": job_id, "cancelled": True}

    def _scan(self, job: ScanJob, cancel: threading.Event, refresh: bool) -> None:
        from ..library.scanner import find_model_files, scan

        def progress(phase: str, done: int, total: int) -> None:
            with self._lock:
                job.phase, job.done, job.total = phase, done, total

        service = self.service
        with self._lock:
            job.state = "running"
        try:
            folders = service.layout().scan_folders()
            entries = find_model_files(folders)
            with self._lock:
                job.files = len(entries)
            _hook(service.before_scan, entries)
            preview_mask = service.setting("preview_nsfw_level") or 1
            # The scanner records what it finds in the state dir's library index, which the Library view reads.
            report = scan(entries, client=service.job_client, host=service.host,
                          folders=[p for paths in folders.values() for p in paths],
                          sidecars=bool(service.setting("write_sidecars")), refresh=refresh,
                          max_nsfw_level=1 << (preview_mask.bit_length() - 1), progress=progress, cancel=cancel)
        except Exception as exc:  # noqa: BLE001 - the scan's failure is its one-line error
            log.info("library scan failed: %s", exc)
            with self._lock:
                job.state, job.error, job.finished = "failed", " ".join(str(exc).split()) or type(exc).__name__, time.time()
            return
        finally:
            self._scan_cancel.pop(job.id, None)
        with self._lock:
            job.resolved, job.unknown = report.count("resolved"), report.count("unknown")
            job.errors = report.count("error")
            job.state = "cancelled" if report.cancelled else "done"
            job.finished = time.time()
        _hook(service.after_scan, entries)


def _hook(hook, entries) -> None:
    """A host's scan hook is a shortcut: its failure is logged, never the scan's."""
    if hook is None:
        return
    try:
        hook(entries)
    except Exception as exc:  # noqa: BLE001
        log.warning("Civitai Companion: the host's scan hook failed: %s", exc)


def _int(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() else None


def _body_id(body: dict, key: str, *, required: bool) -> int | None:
    value = body.get(key)
    if value is None:
        if required:
            raise ApiError(400, "bad_request", f"{key} is required")
        return None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 2_147_483_647:
        raise ApiError(400, "bad_request", f"{key} must be a Civitai id")
    return value
