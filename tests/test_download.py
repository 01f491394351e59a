"""The download transaction against the fake Civitai: happy path, every fault mode, names, layouts, tokens."""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import threading

import pytest

from civitai_companion.download import stream as download_stream
from civitai_companion.api import (
    Archived,
    AuthRequired,
    CivitaiClient,
    DownloadsDisabled,
    EarlyAccess,
    ModelVersion,
    NotFound,
    RateLimited,
)
from civitai_companion.download import (
    DiskError,
    DownloadCancelled,
    Downloader,
    DownloadInterrupted,
    HashMismatch,
    NoMatchingFile,
    NotAModelFile,
    choose_file,
)
from civitai_companion.download.stream import PartState, part_path, state_path, write_state
from civitai_companion.library.hash_cache import HashCache
from civitai_companion.hosts import MODEL_TYPES, get_layout

SIZE = 300_000


@pytest.fixture
def client(fake_civitai):
    return CivitaiClient(base_url=fake_civitai.url, sleep=lambda seconds: None, max_tries=2)


@pytest.fixture
def models_root(tmp_path):
    return tmp_path / "models"


def make_downloader(client, root, *, host="standalone", **options):
    options.setdefault("sidecars", False)
    return Downloader(client, host=host, root=root, **options)


def add_version(fake, *, name="Test Lora", type="LORA", size=SIZE, **options):
    model = fake.add_model(name=name, type=type, file_sizes=(size,), **options)
    version = model["modelVersions"][0]
    return version["id"], version["files"][0]


def files_in(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def storage_requests(fake):
    return fake.requests_to("storage")


# -- the happy path ---------------------------------------------------------------------------------------
def test_download_puts_the_verified_file_in_the_layout_folder(fake_civitai, client, models_root):
    version_id, file = add_version(fake_civitai)
    result = make_downloader(client, models_root).download(version_id)
    assert result.path == models_root / "loras" / file["name"]
    assert result.path.read_bytes() == fake_civitai.file_bytes(file["id"])
    assert result.sha256 == file["hashes"]["SHA256"]
    assert result.to_json() == {"path": str(result.path), "sha256": file["hashes"]["SHA256"],
                                "modelVersionId": version_id, "bytes": len(fake_civitai.file_bytes(file["id"]))}
    assert files_in(result.path.parent) == [file["name"]]  # no .part, .part.json or .lock left


def test_download_records_the_hash_in_the_cache(fake_civitai, client, models_root, tmp_path):
    version_id, file = add_version(fake_civitai)
    cache = HashCache(tmp_path / "hashes.sqlite", use_sidecars=False)
    result = make_downloader(client, models_root, hash_cache=cache).download(version_id)
    assert cache.known(result.path)["SHA256"] == file["hashes"]["SHA256"]


def test_download_writes_sidecars(fake_civitai, client, models_root):
    version_id, file = add_version(fake_civitai)
    result = make_downloader(client, models_root, sidecars=True).download(version_id)
    info = result.path.with_name(result.path.stem + ".civitai.info")
    assert json.loads(info.read_text())["id"] == version_id


def test_a_sidecar_failure_does_not_fail_the_download(fake_civitai, client, models_root, monkeypatch):
    import civitai_companion.library.sidecars as sidecars

    def broken(*args, **kwargs):
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(sidecars, "write_sidecars", broken)
    version_id, file = add_version(fake_civitai)
    result = make_downloader(client, models_root, sidecars=True).download(version_id)
    assert result.path.read_bytes() == fake_civitai.file_bytes(file["id"])
    assert any("sidecars not written" in w for w in result.warnings)


def test_progress_events_cover_the_download(fake_civitai, client, models_root):
    version_id, file = add_version(fake_civitai)
    events = []
    make_downloader(client, models_root).download(version_id, progress=events.append)
    phases = [e.phase for e in events]
    assert "downloading" in phases and phases[-1] == "done"
    downloading = [e for e in events if e.phase == "downloading"]
    assert all(e.total == len(fake_civitai.file_bytes(file["id"])) for e in downloading)
    assert events[-1].bytes_done == events[-1].total == len(fake_civitai.file_bytes(file["id"]))


# -- tokens ----------------------------------------------------------------------------------------------------
def test_token_goes_to_civitai_and_never_to_storage(fake_civitai, client, models_root, monkeypatch):
    monkeypatch.setenv("CIVITAI_API_TOKEN", fake_civitai.token)
    version_id, _ = add_version(fake_civitai)
    make_downloader(client, models_root).download(version_id)
    api = fake_civitai.requests_to("api", path_prefix="/api/download/")
    assert [r.headers.get("Authorization") for r in api] == [f"Bearer {fake_civitai.token}"]
    stored = storage_requests(fake_civitai)
    assert stored and all("Authorization" not in r.headers for r in stored)
    assert all(fake_civitai.token not in r.path and fake_civitai.token not in str(r.query) for r in stored)


def test_token_is_never_logged_or_written(fake_civitai, client, models_root, monkeypatch, caplog):
    monkeypatch.setenv("CIVITAI_API_TOKEN", fake_civitai.token)
    version_id, file = add_version(fake_civitai)
    fake_civitai.set_fault(version_id, "drop", times=1, after_bytes=50_000)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(DownloadInterrupted) as info:
        make_downloader(client, models_root, max_resumes=0).download(version_id)
    record = state_path(models_root / "loras" / file["name"]).read_text()
    assert fake_civitai.token not in record and "http" not in record and "sig" not in record
    assert fake_civitai.token not in str(info.value)
    assert all(fake_civitai.token not in r.getMessage() for r in caplog.records)
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("civitai_companion")]
    assert ours and all("sig=" not in m or "sig=***" in m for m in ours)


def test_login_required_without_token(fake_civitai, client, models_root):
    version_id, _ = add_version(fake_civitai)
    fake_civitai.set_fault(version_id, "login_required")
    with pytest.raises(AuthRequired) as info:
        make_downloader(client, models_root).download(version_id)
    assert "login required" in str(info.value) and "CIVITAI_API_TOKEN" in str(info.value)
    assert not storage_requests(fake_civitai)


def test_login_required_with_a_rejected_token(fake_civitai, client, models_root, monkeypatch):
    monkeypatch.setenv("CIVITAI_API_TOKEN", "not-the-token")
    version_id, _ = add_version(fake_civitai)
    fake_civitai.set_fault(version_id, "login_required")
    with pytest.raises(AuthRequired) as info:
        make_downloader(client, models_root).download(version_id)
    assert "unauthorized" in str(info.value) and "not-the-token" not in str(info.value)


def test_login_required_is_lifted_by_a_valid_token(fake_civitai, client, models_root, monkeypatch):
    monkeypatch.setenv("CIVITAI_API_TOKEN", fake_civitai.token)
    version_id, file = add_version(fake_civitai)
    fake_civitai.set_fault(version_id, "login_required")
    result = make_downloader(client, models_root).download(version_id)
    assert result.sha256 == file["hashes"]["SHA256"]


# -- API refusals ----------------------------------------------------------------------------------------------
def test_downloads_disabled(fake_civitai, client, models_root):
    version_id, _ = add_version(fake_civitai)
    fake_civitai.set_fault(version_id, "downloads_disabled")
    with pytest.raises(DownloadsDisabled) as info:
        make_downloader(client, models_root).download(version_id)
    assert "disabled downloads" in str(info.value)


def test_early_access_names_the_deadline(fake_civitai, client, models_root):
    version_id, _ = add_version(fake_civitai)
    fake_civitai.set_fault(version_id, "early_access", deadline="2099-01-02T03:04:05.000Z")
    with pytest.raises(EarlyAccess) as info:
        make_downloader(client, models_root).download(version_id)
    assert "until 2 Jan 2099, 03:04 UTC" in str(info.value)
    assert info.value.deadline == "2099-01-02T03:04:05.000Z"


def test_archived(fake_civitai, client, models_root):
    version_id, _ = add_version(fake_civitai)
    fake_civitai.set_fault(version_id, "archived")
    with pytest.raises(Archived):
        make_downloader(client, models_root).download(version_id)


def test_not_found(fake_civitai, client, models_root):
    version_id, _ = add_version(fake_civitai)
    fake_civitai.set_fault(version_id, "not_found")
    with pytest.raises(NotFound) as info:
        make_downloader(client, models_root).download(version_id)
    assert str(version_id) in str(info.value)


def test_rate_limit_with_a_long_retry_after_fails_at_once(fake_civitai, client, models_root):
    version_id, _ = add_version(fake_civitai)
    fake_civitai.set_fault(version_id, "rate_limited", retry_after=120)
    with pytest.raises(RateLimited) as info:
        make_downloader(client, models_root).download(version_id)
    assert info.value.retry_after == 120 and "retry after 120" in str(info.value)
    assert len(fake_civitai.requests_to("api", path_prefix="/api/download/")) == 1


def test_rate_limit_with_a_short_retry_after_is_retried(fake_civitai, models_root):
    waits = []
    client = CivitaiClient(base_url=fake_civitai.url, sleep=waits.append, max_tries=3)
    version_id, file = add_version(fake_civitai)
    fake_civitai.set_fault(version_id, "rate_limited", times=1, retry_after=2)
    result = make_downloader(client, models_root).download(version_id)
    assert result.sha256 == file["hashes"]["SHA256"] and waits == [2.0]


def test_login_page_is_never_saved_as_a_model(fake_civitai, client, models_root):
    version_id, _ = add_version(fake_civitai)
    fake_civitai.set_fault(version_id, "html_login")
    with pytest.raises(NotAModelFile) as info:
        make_downloader(client, models_root).download(version_id)
    assert "web page" in str(info.value)
    assert files_in(models_root / "loras") == []


def test_html_body_without_an_html_content_type_is_never_saved(fake_civitai, client, models_root):
    model = fake_civitai.add_model(name="Sneaky", type="LORA", file_sizes=(5000,))
    version_id = model["modelVersions"][0]["id"]
    page = b"<!DOCTYPE html><html><body>Sign in to Civitai</body></html>"
    added = fake_civitai.add_file(version_id, name="sneaky.safetensors", data=page,
                                  metadata={"format": "SafeTensor", "size": "pruned", "fp": "fp16"})
    with pytest.raises(NotAModelFile):
        make_downloader(client, models_root).download(version_id, file_id=added["id"])
    assert files_in(models_root / "loras") == []


def test_expired_signed_url_is_resolved_again(fake_civitai, client, models_root):
    version_id, file = add_version(fake_civitai)
    fake_civitai.set_fault(version_id, "expire_urls", times=1)
    result = make_downloader(client, models_root).download(version_id)
    assert result.sha256 == file["hashes"]["SHA256"]
    assert len(fake_civitai.requests_to("api", path_prefix="/api/download/")) == 2


# -- broken transfers --------------------------------------------------------------------------------------
def test_dropped_connection_resumes_with_range(fake_civitai, client, models_root):
    version_id, file = add_version(fake_civitai)
    fake_civitai.set_fault(version_id, "drop", times=1, after_bytes=100_000)
    result = make_downloader(client, models_root).download(version_id)
    size = len(fake_civitai.file_bytes(file["id"]))
    assert result.path.read_bytes() == fake_civitai.file_bytes(file["id"])
    assert [r.headers.get("Range") for r in storage_requests(fake_civitai)] == [None, "bytes=100000-"]
    assert result.transferred == size and result.resumed


def test_interrupted_download_keeps_the_part_and_says_how_to_resume(fake_civitai, client, models_root):
    version_id, file = add_version(fake_civitai)
    fake_civitai.set_fault(version_id, "drop", times=1, after_bytes=100_000)
    target = models_root / "loras" / file["name"]
    with pytest.raises(DownloadInterrupted) as info:
        make_downloader(client, models_root, max_resumes=0).download(version_id)
    assert "run the same command again to resume" in str(info.value)
    assert part_path(target).stat().st_size == 100_000
    assert json.loads(state_path(target).read_text())["modelVersionId"] == version_id
    assert not target.exists()


def test_a_new_run_resumes_the_part(fake_civitai, client, models_root):
    version_id, file = add_version(fake_civitai)
    fake_civitai.set_fault(version_id, "drop", times=1, after_bytes=100_000)
    with pytest.raises(DownloadInterrupted):
        make_downloader(client, models_root, max_resumes=0).download(version_id)
    result = make_downloader(client, models_root).download(version_id)
    assert result.path.read_bytes() == fake_civitai.file_bytes(file["id"])
    assert storage_requests(fake_civitai)[-1].headers.get("Range") == "bytes=100000-"
    assert result.transferred == len(fake_civitai.file_bytes(file["id"])) - 100_000
    assert files_in(result.path.parent) == [file["name"]]


def test_server_ignoring_range_restarts_from_zero(fake_civitai, client, models_root):
    version_id, file = add_version(fake_civitai)
    fake_civitai.set_fault(version_id, "drop", times=1, after_bytes=100_000)
    with pytest.raises(DownloadInterrupted):
        make_downloader(client, models_root, max_resumes=0).download(version_id)
    fake_civitai.set_fault(version_id, "ignore_range", times=1)
    result = make_downloader(client, models_root).download(version_id)
    assert result.path.read_bytes() == fake_civitai.file_bytes(file["id"])
    assert result.transferred == len(fake_civitai.file_bytes(file["id"]))


def test_416_with_a_complete_part_finishes_without_downloading(fake_civitai, client, models_root):
    version_id, file = add_version(fake_civitai)
    data = fake_civitai.file_bytes(file["id"])
    target = models_root / "loras" / file["name"]
    target.parent.mkdir(parents=True)
    part_path(target).write_bytes(data)
    write_state(target, PartState(version_id, file["id"], target.name, len(data), file["hashes"]["SHA256"], 1.0))
    result = make_downloader(client, models_root).download(version_id)
    assert result.path == target and target.read_bytes() == data and result.transferred == 0
    assert storage_requests(fake_civitai)[-1].headers.get("Range") == f"bytes={len(data)}-"
    assert files_in(target.parent) == [target.name]


def test_416_with_a_wrong_part_starts_over(fake_civitai, client, models_root):
    version_id, file = add_version(fake_civitai)
    data = fake_civitai.file_bytes(file["id"])
    target = models_root / "loras" / file["name"]
    target.parent.mkdir(parents=True)
    part_path(target).write_bytes(b"\0" * len(data))
    write_state(target, PartState(version_id, file["id"], target.name, len(data), file["hashes"]["SHA256"], 1.0))
    result = make_downloader(client, models_root).download(version_id)
    assert target.read_bytes() == data and result.transferred == len(data)


def test_wrong_bytes_leave_nothing_behind(fake_civitai, client, models_root):
    version_id, file = add_version(fake_civitai)
    fake_civitai.set_fault(version_id, "wrong_bytes")
    with pytest.raises(HashMismatch) as info:
        make_downloader(client, models_root).download(version_id)
    assert "SHA-256 mismatch" in str(info.value) and "nothing was kept" in str(info.value)
    assert files_in(models_root / "loras") == []


def test_slow_server_hits_the_read_timeout_and_is_resumable(fake_civitai, client, models_root):
    version_id, file = add_version(fake_civitai)
    fake_civitai.set_fault(version_id, "slow", delay=2.0)
    downloader = make_downloader(client, models_root, max_resumes=0, timeout=(5.0, 0.3))
    with pytest.raises(DownloadInterrupted) as info:
        downloader.download(version_id)
    assert "timed out" in str(info.value) and "resume" in str(info.value)
    assert not (models_root / "loras" / file["name"]).exists()


def test_part_of_a_file_civitai_replaced_is_discarded(fake_civitai, client, models_root):
    version_id, file = add_version(fake_civitai)
    target = models_root / "loras" / file["name"]
    target.parent.mkdir(parents=True)
    part_path(target).write_bytes(b"old bytes")
    write_state(target, PartState(version_id, file["id"], target.name, 1000, "AB" * 32, 1.0))
    result = make_downloader(client, models_root).download(version_id)
    assert result.path.read_bytes() == fake_civitai.file_bytes(file["id"])
    assert storage_requests(fake_civitai)[-1].headers.get("Range") is None


def test_cancel_keeps_the_part(fake_civitai, client, models_root):
    version_id, file = add_version(fake_civitai, size=3_000_000)
    fake_civitai.set_fault(version_id, "slow", delay=0.01)
    cancel = threading.Event()

    def on_progress(event):
        if event.phase == "downloading" and event.bytes_done > 0:
            cancel.set()

    with pytest.raises(DownloadCancelled):
        make_downloader(client, models_root, chunk_size=64 * 1024).download(
            version_id, progress=on_progress, cancel=cancel)
    target = models_root / "loras" / file["name"]
    assert part_path(target).exists() and state_path(target).exists() and not target.exists()


# -- the disk ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "disk full"), (errno.EACCES, "permission denied")])
def test_disk_errors_remove_the_part(fake_civitai, client, models_root, monkeypatch, code, words):
    def refuse(fd, data):
        raise OSError(code, "refused")

    monkeypatch.setattr(download_stream, "write_chunk", refuse)
    version_id, file = add_version(fake_civitai)
    with pytest.raises(DiskError) as info:
        make_downloader(client, models_root).download(version_id)
    assert words in str(info.value) and "\n" not in str(info.value)
    assert files_in(models_root / "loras") == []


def test_unwritable_folder_is_a_clean_error(fake_civitai, client, tmp_path):
    blocker = tmp_path / "models"
    blocker.write_text("a file where the folder should be")
    version_id, _ = add_version(fake_civitai)
    with pytest.raises(DiskError) as info:
        make_downloader(client, blocker).download(version_id)
    assert str(blocker) in str(info.value)


# -- names and existing files ----------------------------------------------------------------------------------
def test_existing_file_with_the_same_hash_is_not_downloaded(fake_civitai, client, models_root):
    version_id, file = add_version(fake_civitai)
    target = models_root / "loras" / file["name"]
    target.parent.mkdir(parents=True)
    target.write_bytes(fake_civitai.file_bytes(file["id"]))
    fake_civitai.clear_requests()
    result = make_downloader(client, models_root).download(version_id)
    assert result.skipped and result.path == target and result.transferred == 0
    assert not storage_requests(fake_civitai)
    assert not fake_civitai.requests_to("api", path_prefix="/api/download/")


def test_same_name_different_content_gets_a_unique_name(fake_civitai, client, models_root):
    version_id, file = add_version(fake_civitai)
    mine = models_root / "loras" / file["name"]
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"my own file")
    result = make_downloader(client, models_root).download(version_id)
    stem, ext = file["name"].rsplit(".", 1)
    assert result.path.name == f"{stem} (1).{ext}"
    assert mine.read_bytes() == b"my own file"
    assert result.path.read_bytes() == fake_civitai.file_bytes(file["id"])


def test_overwrite_replaces_a_different_file(fake_civitai, client, models_root):
    version_id, file = add_version(fake_civitai)
    mine = models_root / "loras" / file["name"]
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"my own file")
    result = make_downloader(client, models_root).download(version_id, overwrite=True)
    assert result.path == mine and mine.read_bytes() == fake_civitai.file_bytes(file["id"])


def test_a_symlink_to_the_same_file_counts_as_already_there(fake_civitai, client, models_root, tmp_path):
    version_id, file = add_version(fake_civitai)
    elsewhere = tmp_path / "other-drive" / file["name"]
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(fake_civitai.file_bytes(file["id"]))
    link = models_root / "loras" / file["name"]
    link.parent.mkdir(parents=True)
    link.symlink_to(elsewhere)
    fake_civitai.clear_requests()
    result = make_downloader(client, models_root).download(version_id)
    assert result.skipped and result.path == link and link.is_symlink()
    assert not storage_requests(fake_civitai)


def test_a_symlink_to_a_different_file_is_left_alone(fake_civitai, client, models_root, tmp_path):
    version_id, file = add_version(fake_civitai)
    elsewhere = tmp_path / "other-drive" / file["name"]
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(b"the user's own model")
    link = models_root / "loras" / file["name"]
    link.parent.mkdir(parents=True)
    link.symlink_to(elsewhere)
    result = make_downloader(client, models_root).download(version_id)
    stem, ext = file["name"].rsplit(".", 1)
    assert result.path == link.with_name(f"{stem} (1).{ext}")
    assert result.path.read_bytes() == fake_civitai.file_bytes(file["id"])
    assert link.is_symlink() and elsewhere.read_bytes() == b"the user's own model"


HOSTILE_FILE_NAMES = [
    "CON.safetensors",
    "x<>:\"|?*.safetensors",
    "back\\slash\\..\\evil.safetensors",
    "\u202etxt.safetensors",
    "ctrl\x01\x1f.safetensors",
    "..safetensors",
    "é" * 200 + ".safetensors",
]


@pytest.mark.parametrize("name", HOSTILE_FILE_NAMES)
def test_hostile_file_names_land_inside_the_folder(fake_civitai, client, models_root, name):
    model = fake_civitai.add_model(name="Hostile", type="LORA", file_sizes=(5000,))
    version_id = model["modelVersions"][0]["id"]
    added = fake_civitai.add_file(version_id, name=name, size=5000,
                                  metadata={"format": "SafeTensor", "size": "pruned", "fp": "fp16"})
    result = make_downloader(client, models_root).download(version_id, file_id=added["id"])
    folder = (models_root / "loras").resolve()
    assert result.path.resolve().parent == folder
    assert result.path.read_bytes() == fake_civitai.file_bytes(added["id"])
    assert len(result.path.name.encode("utf-8")) <= 255 and result.path.name.endswith(".safetensors")
    assert not any(c in result.path.name for c in '<>:"|?*\\/\x01\u202e')
    assert result.path.name.split(".")[0].upper() != "CON"


HOSTILE_DISPOSITIONS = [
    'attachment; filename="../../../outside.safetensors"',
    'attachment; filename="/etc/outside.safetensors"',
    'attachment; filename="C:\\\\Windows\\\\outside.safetensors"',
    "attachment; filename*=UTF-8''..%2F..%2Foutside.safetensors",
    'attachment; filename="NUL"',
]


@pytest.mark.parametrize("header", HOSTILE_DISPOSITIONS)
def test_hostile_content_disposition_lands_inside_the_folder(fake_civitai, client, models_root, monkeypatch, header):
    from tests.fake_civitai import downloads as fake_downloads

    monkeypatch.setattr(fake_downloads, "_content_disposition", lambda name: header)
    version_id, file = add_version(fake_civitai)
    result = make_downloader(client, models_root).download(version_id)
    assert result.path.resolve().parent == (models_root / "loras").resolve()
    assert result.path.read_bytes() == fake_civitai.file_bytes(file["id"])
    assert not (models_root.parent / "outside.safetensors").exists()


def test_content_disposition_name_is_used(fake_civitai, client, models_root, monkeypatch):
    from tests.fake_civitai import downloads as fake_downloads

    monkeypatch.setattr(fake_downloads, "_content_disposition",
                        lambda name: "attachment; filename=\"x.bin\"; filename*=UTF-8''na%C3%AFve.safetensors")
    version_id, _ = add_version(fake_civitai)
    result = make_downloader(client, models_root).download(version_id)
    assert result.path.name == "naïve.safetensors"


# -- layouts -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("host", ["a1111", "comfyui"])
@pytest.mark.parametrize("model_type", [t.name for t in MODEL_TYPES])
def test_every_type_lands_in_its_layout_folder(fake_civitai, client, tmp_path, host, model_type):
    version_id, file = add_version(fake_civitai, name=f"{model_type} model", type=model_type, size=5000)
    root = tmp_path / host
    result = make_downloader(client, root, host=host).download(version_id)
    assert result.path.parent == get_layout(host, root).folder_for(model_type, "Model")


@pytest.mark.parametrize("host, model_type, folder", [
    ("a1111", "LORA", "models/Lora"),
    ("a1111", "Checkpoint", "models/Stable-diffusion"),
    ("comfyui", "LORA", "models/loras"),
    ("comfyui", "Checkpoint", "models/checkpoints"),
])
def test_well_known_folders(fake_civitai, client, tmp_path, host, model_type, folder):
    version_id, file = add_version(fake_civitai, type=model_type, size=5000)
    result = make_downloader(client, tmp_path, host=host).download(version_id)
    assert result.path == tmp_path / folder / file["name"]


@pytest.mark.parametrize("host, file_type, folder", [
    ("a1111", "VAE", "models/VAE"),  # the VAE file of a checkpoint goes to the VAE folder
    ("comfyui", "VAE", "models/vae"),
    ("comfyui", "Diffusion Model", "models/diffusion_models"),
    ("comfyui", "UNet", "models/diffusion_models"),
    ("comfyui", "Text Encoder", "models/text_encoders"),
    ("a1111", "Text Encoder", "models/text_encoder"),
])
def test_file_type_of_a_checkpoint_picks_the_folder(fake_civitai, client, tmp_path, host, file_type, folder):
    version_id, _ = add_version(fake_civitai, name="Split Checkpoint", type="Checkpoint", size=5000)
    part = fake_civitai.add_file(version_id, name="split-part.safetensors", type=file_type, size=3000)
    result = make_downloader(client, tmp_path, host=host).download(version_id, file_id=part["id"])
    assert result.path == tmp_path / folder / "split-part.safetensors"
    assert result.path.read_bytes() == fake_civitai.file_bytes(part["id"])


def test_subfolder_template_is_applied(fake_civitai, client, models_root):
    version_id, file = add_version(fake_civitai, name="My/Model", base_model="SDXL 1.0")
    downloader = make_downloader(client, models_root, subfolder_template="{baseModel}/{modelName}")
    result = downloader.download(version_id)
    assert result.path.parent.parent.parent == models_root / "loras"
    assert result.path.resolve().is_relative_to((models_root / "loras").resolve())


# -- concurrency -----------------------------------------------------------------------------------------------
def test_two_threads_on_one_file_download_it_once(fake_civitai, client, models_root):
    version_id, file = add_version(fake_civitai, size=2_000_000)
    downloader = make_downloader(client, models_root)
    results, errors = [], []

    def run():
        try:
            results.append(downloader.download(version_id))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(r.skipped for r in results) == [False, True]
    assert len({r.path for r in results}) == 1
    assert len(storage_requests(fake_civitai)) == 1


# -- choosing the file -----------------------------------------------------------------------------------------
def _version(files):
    return ModelVersion.from_api({"id": 9, "files": files})


FILES = [
    {"id": 1, "name": "a.safetensors", "type": "Model", "primary": True,
     "metadata": {"format": "SafeTensor", "size": "pruned", "fp": "fp16"}},
    {"id": 2, "name": "b.safetensors", "type": "Model",
     "metadata": {"format": "SafeTensor", "size": "full", "fp": "fp32"}},
    {"id": 3, "name": "c.ckpt", "type": "Model", "metadata": {"format": "PickleTensor", "size": "full", "fp": "fp32"}},
]


def test_choose_primary_by_default():
    assert choose_file(_version(FILES)).id == 1


def test_choose_by_file_id():
    assert choose_file(_version(FILES), file_id=3).id == 3


def test_choose_by_format_size_fp():
    assert choose_file(_version(FILES), format="safetensor", size="full", fp="fp32").id == 2


def test_choose_without_a_match_lists_the_files():
    with pytest.raises(NoMatchingFile) as info:
        choose_file(_version(FILES), fp="bf16")
    assert "fp=bf16" in str(info.value) and "3 (Model, PickleTensor, full, fp32)" in str(info.value)


def test_choose_from_a_version_without_files():
    with pytest.raises(NoMatchingFile):
        choose_file(_version([]))


def test_sha256_of_the_download_matches_hashlib(fake_civitai, client, models_root):
    version_id, file = add_version(fake_civitai, size=3_500_000)
    result = make_downloader(client, models_root, chunk_size=256 * 1024).download(version_id)
    assert result.sha256 == hashlib.sha256(result.path.read_bytes()).hexdigest().upper()


def test_forge_host_writes_flux_as_sd_version(fake_civitai, client, models_root):
    version_id, _ = add_version(fake_civitai, name="Flux Lora", base_model="Flux.1 D")
    result = make_downloader(client, models_root, host="forge", sidecars=True).download(version_id)
    user_json = result.path.with_name(result.path.stem + ".json")
    assert json.loads(user_json.read_text())["sd version"] == "Flux"
