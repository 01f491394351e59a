"""The download queue: workers, cancel, progress, and surviving a restart."""

from __future__ import annotations

import json
import logging
import threading

import pytest

from civitai_companion.api import CivitaiClient
from civitai_companion.download import Downloader
from civitai_companion.download.queue import DownloadQueue
from civitai_companion.download.stream import part_path, state_path


@pytest.fixture
def client(fake_civitai):
    return CivitaiClient(base_url=fake_civitai.url, sleep=lambda seconds: None, max_tries=2)


@pytest.fixture
def downloader(client, tmp_path):
    return Downloader(client, host="standalone", root=tmp_path / "models", sidecars=False, max_resumes=0)


def add_version(fake, name, size=200_000):
    model = fake.add_model(name=name, type="LORA", file_sizes=(size,))
    version = model["modelVersions"][0]
    return version["id"], version["files"][0]


def test_queue_downloads_every_job(fake_civitai, downloader, tmp_path):
    versions = [add_version(fake_civitai, f"Queued {i}") for i in range(3)]
    with DownloadQueue(downloader, state_file=tmp_path / "q.json") as queue:
        jobs = [queue.submit(str(version_id)) for version_id, _ in versions]
        assert queue.wait(timeout=60)
        done = {j.id: j for j in queue.jobs()}
    for job, (version_id, file) in zip(jobs, versions):
        assert done[job.id].status == "done" and done[job.id].sha256 == file["hashes"]["SHA256"]
        assert done[job.id].version_id == version_id


def test_at_most_two_downloads_run_at_once(fake_civitai, downloader, tmp_path):
    versions = [add_version(fake_civitai, f"Parallel {i}", size=600_000) for i in range(4)]
    for version_id, _ in versions:
        fake_civitai.set_fault(version_id, "slow", delay=0.005)
    running, peak = set(), [0]
    guard = threading.Lock()

    def on_progress(job, event):
        with guard:
            if event.phase == "downloading":
                running.add(job.id)
            elif event.phase in ("done", "failed", "cancelled"):
                running.discard(job.id)
            peak[0] = max(peak[0], len(running))

    with DownloadQueue(downloader, state_file=tmp_path / "q.json", progress=on_progress) as queue:
        for version_id, _ in versions:
            queue.submit(version_id)
        assert queue.wait(timeout=120)
        assert all(j.status == "done" for j in queue.jobs())
    assert peak[0] == 2


def test_same_request_twice_is_one_job(fake_civitai, downloader, tmp_path):
    version_id, _ = add_version(fake_civitai, "Twice")
    queue = DownloadQueue(downloader, state_file=tmp_path / "q.json", autostart=False)
    first = queue.submit(version_id)
    second = queue.submit(str(version_id))
    third = queue.submit(version_id, overwrite=True)
    assert first.id == second.id != third.id
    queue.close()


def test_pending_jobs_survive_a_restart(fake_civitai, downloader, tmp_path):
    version_id, file = add_version(fake_civitai, "Later")
    queue = DownloadQueue(downloader, state_file=tmp_path / "q.json", autostart=False)
    job = queue.submit(version_id)
    queue.close()
    with DownloadQueue(downloader, state_file=tmp_path / "q.json") as again:
        assert again.wait(timeout=60)
        assert again.get(job.id).status == "done"


def test_progress_reaches_the_callback(fake_civitai, downloader, tmp_path):
    version_id, file = add_version(fake_civitai, "Progress")
    events = []
    with DownloadQueue(downloader, state_file=tmp_path / "q.json", progress=lambda job, ev: events.append((job.id, ev))) as queue:
        job = queue.submit(version_id)
        assert queue.wait(timeout=60)
    phases = [ev.phase for job_id, ev in events if job_id == job.id]
    assert phases[0] == "queued" and "downloading" in phases and phases[-1] == "done"


def test_failed_job_records_the_reason(fake_civitai, downloader, tmp_path):
    version_id, _ = add_version(fake_civitai, "Fails")
    fake_civitai.set_fault(version_id, "downloads_disabled")
    with DownloadQueue(downloader, state_file=tmp_path / "q.json") as queue:
        job = queue.submit(version_id)
        assert queue.wait(timeout=60)
        failed = queue.get(job.id)
    assert failed.status == "failed" and "disabled downloads" in failed.error


def test_cancel_a_running_job_discards_its_part(fake_civitai, downloader, tmp_path):
    version_id, file = add_version(fake_civitai, "Cancelled", size=2_000_000)
    fake_civitai.set_fault(version_id, "slow", delay=0.02)
    cancelled = []

    def on_progress(job, event):  # cancel from inside the download: deterministic
        if event.phase == "downloading" and event.bytes_done > 0 and not cancelled:
            cancelled.append(queue.cancel(job.id))

    with DownloadQueue(downloader, state_file=tmp_path / "q.json", progress=on_progress) as queue:
        job = queue.submit(version_id)
        assert queue.wait(timeout=60)
        assert cancelled == [True]
        assert queue.get(job.id).status == "cancelled"
    target = tmp_path / "models" / "loras" / file["name"]
    assert not part_path(target).exists() and not state_path(target).exists() and not target.exists()


def test_cancel_all_stops_pending_jobs(fake_civitai, downloader, tmp_path):
    versions = [add_version(fake_civitai, f"Pending {i}") for i in range(3)]
    state_file = tmp_path / "q.json"
    queue = DownloadQueue(downloader, state_file=state_file, autostart=False)
    for version_id, _ in versions:
        queue.submit(version_id)
    assert queue.cancel_all() == 3
    assert [j.status for j in queue.jobs()] == ["cancelled"] * 3
    assert queue.wait(timeout=1)
    queue.close()
    assert [j["status"] for j in json.loads(state_file.read_text())["jobs"]] == ["cancelled"] * 3
    assert not fake_civitai.requests_to("storage")


def test_queue_survives_a_restart_and_resumes_the_part(fake_civitai, downloader, tmp_path):
    version_id, file = add_version(fake_civitai, "Restart", size=8_000_000)
    fake_civitai.set_fault(version_id, "slow", delay=0.02)
    state_file = tmp_path / "q.json"
    started = threading.Event()

    def on_progress(job, event):
        if event.phase == "downloading" and event.bytes_done > 0:
            started.set()

    queue = DownloadQueue(downloader, state_file=state_file, progress=on_progress)
    job = queue.submit(version_id)
    assert started.wait(30)
    queue.close()  # like quitting the app mid-download
    saved = json.loads(state_file.read_text())["jobs"]
    assert [(j["id"], j["status"]) for j in saved] == [(job.id, "pending")]
    target = tmp_path / "models" / "loras" / file["name"]
    kept = part_path(target).stat().st_size
    assert kept > 0

    fake_civitai.clear_faults()
    fake_civitai.clear_requests()
    with DownloadQueue(downloader, state_file=state_file) as again:
        assert again.wait(timeout=60)
        finished = again.get(job.id)
    assert finished.status == "done" and target.read_bytes() == fake_civitai.file_bytes(file["id"])
    assert fake_civitai.requests_to("storage")[0].headers.get("Range") == f"bytes={kept}-"


def test_an_unreadable_queue_file_is_moved_aside(downloader, tmp_path):
    state_file = tmp_path / "q.json"
    state_file.write_text("{broken")
    queue = DownloadQueue(downloader, state_file=state_file, autostart=False)
    assert queue.jobs() == []
    assert (tmp_path / "q.json.bad").read_text() == "{broken"
    queue.close()


def test_unknown_options_are_refused(downloader, tmp_path):
    queue = DownloadQueue(downloader, state_file=tmp_path / "q.json", autostart=False)
    with pytest.raises(TypeError):
        queue.submit(1, colour="blue")
    queue.close()


def test_retry_requeues_a_failed_job(fake_civitai, downloader, tmp_path):
    version_id, file = add_version(fake_civitai, "Retry")
    fake_civitai.set_fault(version_id, "archived", times=1)
    with DownloadQueue(downloader, state_file=tmp_path / "q.json") as queue:
        job = queue.submit(version_id)
        assert queue.wait(timeout=60) and queue.get(job.id).status == "failed"
        assert queue.retry(job.id)
        assert queue.wait(timeout=60)
        assert queue.get(job.id).status == "done"


def test_jobs_of_another_layout_are_left_for_their_owner(fake_civitai, client, tmp_path):
    version_id, _ = add_version(fake_civitai, "Elsewhere")
    state_file = tmp_path / "q.json"
    comfy = Downloader(client, host="comfyui", root=tmp_path / "comfy", sidecars=False)
    queue = DownloadQueue(comfy, state_file=state_file, autostart=False)
    job = queue.submit(version_id)
    queue.close()
    a1111 = Downloader(client, host="a1111", root=tmp_path / "webui", sidecars=False)
    with DownloadQueue(a1111, state_file=state_file) as other:
        assert other.pending() == [] and other.wait(timeout=5)
        assert other.get(job.id).status == "pending"
    with DownloadQueue(comfy, state_file=state_file) as owner:
        assert owner.wait(timeout=60)
        done = owner.get(job.id)
    assert done.status == "done" and done.path.startswith(str(tmp_path / "comfy"))
    assert not fake_civitai.requests_to("storage")[1:]


def test_a_job_remembers_whether_the_file_was_already_there(fake_civitai, downloader, tmp_path):
    version_id, _ = add_version(fake_civitai, "Twice")
    with DownloadQueue(downloader, state_file=tmp_path / "q.json") as queue:
        first = queue.submit(version_id)
        assert queue.wait(timeout=60)
        queue.clear_finished()
        second = queue.submit(version_id)
        assert queue.wait(timeout=60)
        jobs = {job.id: job for job in queue.jobs()}
    assert jobs[second.id].skipped and not jobs[second.id].resumed
    assert first.id not in jobs


def test_a_failed_job_is_not_logged_as_a_warning(fake_civitai, downloader, tmp_path, caplog):
    version_id, _ = add_version(fake_civitai, "Fails quietly")
    fake_civitai.set_fault(version_id, "downloads_disabled")
    with caplog.at_level(logging.WARNING, logger="civitai_companion"):
        with DownloadQueue(downloader, state_file=tmp_path / "q.json") as queue:
            job = queue.submit(version_id)
            assert queue.wait(timeout=60)
            assert queue.get(job.id).status == "failed"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
