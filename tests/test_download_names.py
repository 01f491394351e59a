"""File names from the network, the path lock, the .part record and the hashing pipeline, without a server."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from civitai_companion.download.errors import DownloadBusy
from civitai_companion.download.lock import PathLock
from civitai_companion.download.names import (
    MAX_NAME_BYTES,
    candidate_names,
    content_disposition_filename,
    in_folder,
    safe_filename,
)
from civitai_companion.download.progress import ProgressMeter
from civitai_companion.download.stream import (
    PartState,
    WriteFailed,
    find_state,
    hash_prefix,
    read_state,
    state_path,
    stream_into,
    write_state,
)


# -- Content-Disposition -------------------------------------------------------------------------------------
@pytest.mark.parametrize("header, name", [
    ('attachment; filename="model.safetensors"', "model.safetensors"),
    ("attachment; filename=model.safetensors", "model.safetensors"),
    ('attachment; filename="a \\"quoted\\" name.ckpt"', 'a "quoted" name.ckpt'),
    ('attachment; filename="semi;colon.pt"', "semi;colon.pt"),
    ("attachment; filename=\"fallback.bin\"; filename*=UTF-8''na%C3%AFve%20%E2%82%AC.safetensors", "naïve €.safetensors"),
    ("attachment; filename*=UTF-8''first.pt; filename=\"second.pt\"", "first.pt"),
    ("attachment; filename*=iso-8859-1'en'caf%E9.pt", "café.pt"),
    ("attachment; filename*=UTF-8''bad%FF.pt; filename=\"good.pt\"", "good.pt"),
    ("attachment", None),
    ("", None),
    (None, None),
])
def test_content_disposition_filename(header, name):
    assert content_disposition_filename(header) == name


# -- safe names ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, safe", [
    ("model.safetensors", "model.safetensors"),
    ("../../etc/passwd", "passwd"),
    ("C:\\Windows\\System32\\evil.dll", "evil.dll"),
    ("/absolute/path/x.ckpt", "x.ckpt"),
    ("CON.safetensors", "_CON.safetensors"),
    ("com1", "_com1"),
    ("lpt9.txt", "_lpt9.txt"),
    ('a<b>c:d"e|f?g*h.pt', "a_b_c_d_e_f_g_h.pt"),
    ("tab\there\x00.pt", "tabhere.pt"),
    ("evil\u202egnp.exe", "evilgnp.exe"),
    ("..", "fallback.bin"),
    ("...safetensors", "_.safetensors"),
    ("trailing dots. . .", "trailing dots"),
    ("model.safetensors.part", "model.safetensors.part_"),
    ("", "fallback.bin"),
    (None, "fallback.bin"),
])
def test_safe_filename(raw, safe):
    assert safe_filename(raw, fallback="fallback.bin") == safe


def test_long_names_keep_their_extension():
    name = safe_filename("ü" * 400 + ".safetensors")
    assert name.endswith(".safetensors") and len(name.encode("utf-8")) <= MAX_NAME_BYTES
    name.encode("utf-8").decode("utf-8")  # not cut inside a character


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=0, max_size=400))
def test_any_name_is_one_harmless_component(tmp_path_factory, raw):
    name = safe_filename(raw)
    assert name and "/" not in name and "\\" not in name and name not in (".", "..")
    assert not name.startswith(".") and len(name.encode("utf-8")) <= MAX_NAME_BYTES
    assert not any(ord(c) < 32 for c in name)
    folder = tmp_path_factory.getbasetemp()
    assert in_folder(folder, folder / name)


def test_numbered_candidates():
    assert list(candidate_names("a.safetensors", limit=3)) == ["a.safetensors", "a (1).safetensors", "a (2).safetensors"]
    assert list(candidate_names("noext", limit=2)) == ["noext", "noext (1)"]


def test_in_folder_follows_the_path_but_not_the_entry(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "link").symlink_to(outside)
    (folder / "model.pt").symlink_to(outside / "model.pt")
    assert in_folder(folder, folder / "x.pt")
    assert in_folder(folder, folder / "model.pt")  # the user's symlink is an entry of the folder
    assert not in_folder(folder, folder / "link" / "x.pt")
    assert not in_folder(folder, folder / ".." / "x.pt")
    assert not in_folder(folder, folder / "..")


# -- the .part record ----------------------------------------------------------------------------------------
def test_part_state_round_trip_has_no_url(tmp_path):
    target = tmp_path / "m.safetensors"
    state = PartState(12, 34, target.name, 1000, "AB" * 32, 5.0)
    write_state(target, state)
    text = state_path(target).read_text()
    assert "http" not in text
    assert read_state(state_path(target)) == state
    assert find_state(tmp_path, 12, 34) == (target, state)
    assert find_state(tmp_path, 12, 35) is None


def test_unreadable_part_state_is_ignored(tmp_path):
    state_path(tmp_path / "x.pt").write_text("{not json")
    assert find_state(tmp_path, 1, 2) is None


# -- the pipeline --------------------------------------------------------------------------------------------
def test_stream_into_hashes_what_it_writes(tmp_path):
    chunks = [os.urandom(100_000) for _ in range(20)]
    path = tmp_path / "out.part"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    hasher = hashlib.sha256()
    try:
        end = stream_into(iter(chunks), fd, hasher, depth=2)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    assert end == len(data) and path.read_bytes() == data
    assert hasher.hexdigest() == hashlib.sha256(data).hexdigest()


def test_stream_into_keeps_what_arrived_before_a_network_error(tmp_path):
    def chunks():
        yield b"a" * 1000
        yield b"b" * 1000
        raise ConnectionError("dropped")

    path = tmp_path / "out.part"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        with pytest.raises(ConnectionError):
            stream_into(chunks(), fd, hashlib.sha256())
    finally:
        os.close(fd)
    assert path.read_bytes() == b"a" * 1000 + b"b" * 1000


def test_stream_into_reports_disk_errors(tmp_path, monkeypatch):
    import errno

    from civitai_companion.download import stream as download_stream

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(download_stream, "write_chunk", full)
    fd = os.open(tmp_path / "out.part", os.O_WRONLY | os.O_CREAT)
    try:
        with pytest.raises(WriteFailed) as info:
            stream_into(iter([b"x" * 10] * 100), fd, hashlib.sha256(), depth=1)
    finally:
        os.close(fd)
    assert info.value.original.errno == errno.ENOSPC


def test_hash_prefix_continues_a_sha256(tmp_path):
    data = os.urandom(300_000)
    path = tmp_path / "x.part"
    path.write_bytes(data)
    hasher = hashlib.sha256()
    assert hash_prefix(path, hasher, length=100_000) == 100_000
    hasher.update(data[100_000:])
    assert hasher.hexdigest() == hashlib.sha256(data).hexdigest()


# -- progress ------------------------------------------------------------------------------------------------
def test_progress_meter_speed_and_eta():
    now = [0.0]
    events = []
    meter = ProgressMeter(events.append, min_interval=0.0, clock=lambda: now[0])
    meter.set_phase("downloading", done=0, total=1000)
    for step in range(1, 5):
        now[0] = float(step)
        meter.update(step * 100)
    last = events[-1]
    assert last.bytes_done == 400 and last.speed == pytest.approx(100.0) and last.eta == pytest.approx(6.0)


def test_progress_meter_throttles():
    now = [0.0]
    events = []
    meter = ProgressMeter(events.append, min_interval=1.0, clock=lambda: now[0])
    meter.set_phase("downloading", done=0, total=100)
    for step in range(10):
        now[0] = step * 0.01
        meter.update(step)
    assert len(events) == 1  # only the phase change; the updates all came within the interval


# -- the lock ------------------------------------------------------------------------------------------------
def test_lock_file_of_a_live_process_makes_it_busy(tmp_path):
    import socket

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        target = tmp_path / "m.safetensors"
        Path(str(target) + ".lock").write_text(f"{socket.gethostname()} {child.pid} 1 1.0")
        with pytest.raises(DownloadBusy) as info:
            with PathLock(target):
                pass
        assert "m.safetensors" in str(info.value)
    finally:
        child.kill()
        child.wait()


def test_lock_file_of_a_dead_process_is_taken_over(tmp_path):
    import socket

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    target = tmp_path / "m.safetensors"
    lock_file = Path(str(target) + ".lock")
    lock_file.write_text(f"{socket.gethostname()} {child.pid} 1 1.0")
    with PathLock(target):
        assert str(os.getpid()) in lock_file.read_text()
    assert not lock_file.exists()


def test_threads_take_the_lock_in_turn(tmp_path):
    target = tmp_path / "m.safetensors"
    inside, overlaps = [0], []
    guard = threading.Lock()

    def work():
        with PathLock(target):
            with guard:
                inside[0] += 1
                overlaps.append(inside[0])
            threading.Event().wait(0.01)
            with guard:
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == [1, 1, 1, 1]
