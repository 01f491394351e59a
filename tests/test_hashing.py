"""The six Civitai hash kinds, one read pass, claimed hashes and batch hashing."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import pytest

from civitai_companion.library import hash_batch, hashing
from civitai_companion.library.hash_batch import hash_files
from civitai_companion.library.hash_cache import HashCache
from civitai_companion.library.hashing import (
    ALL_KINDS,
    HashCancelled,
    HashError,
    claimed_hashes,
    hash_file,
)

VECTORS_FILE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "hash-vectors.json"
VECTORS = {
    "hello_world_txt": {
        "AutoV1": None,
        "AutoV2": "B94D27B993",
        "SHA256": "B94D27B9934D3E08A52E52D7DA7DABFAC484EFE37A5380EE9088F7ACE2EFCDE9",
        "CRC32": "85114A0D",
        "BLAKE3": "D74981EFA70A0C880B8D8C1985D075DBCBF679B99A5F9914E5AAF96B831A9E24",
        # The vector lists a value, marked "not meaningful": a text file is not safetensors, so none.
        "AutoV3": None,
    },
    "synthetic_safetensors_2.5MiB": {
        "AutoV1": "42DEB62E",
        "AutoV2": "CD99A29C24",
        "SHA256": "CD99A29C24DC21E7D6F6AA3FF09C3FF6C4D03B3B27E68881C20834020E0793C7",
        "CRC32": "E4405F82",
        "BLAKE3": "F21E15D9793779210CDBB9476DDB8C76210DFCABB6E4D35A8B66E96FA033544E",
        "AutoV3": "B28D970179E1",
    },
    "synthetic_safetensors_small": {
        "AutoV1": None,
        "AutoV2": "C01CB4D664",
        "SHA256": "C01CB4D66472A41D7564C1BAB275B9655DCD296866199E6F82C56D02E0F79C59",
        "CRC32": "C59D9745",
        "BLAKE3": "55315B4E1E1595FD834BE7EEA68121C6721E13823B74E1A5CBB1090A552140DD",
        "AutoV3": "0D356260EAF0",
    },
}


def make_safetensors(n: int, metadata: dict | None = None) -> bytes:
    """The ``_recipe`` of hash-vectors.json: header JSON padded to 8 bytes, then body byte i = (i*7+3) % 251."""
    tensor = {"dtype": "F32", "shape": [n], "data_offsets": [0, 4 * n]}
    header = {"__metadata__": metadata or {"format": "pt"}, "w": tensor}
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + bytes((i * 7 + 3) % 251 for i in range(4 * n))


VECTOR_BYTES = {
    "hello_world_txt": lambda: b"hello world",
    "synthetic_safetensors_2.5MiB": lambda: make_safetensors(655360),
    "synthetic_safetensors_small": lambda: make_safetensors(1024),
}


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


class CountingFile:
    """Wraps a file opened by hashing.py to count opens and bytes read through readinto."""

    opened: list[CountingFile] = []

    def __init__(self, f) -> None:
        self.f, self.calls, self.bytes = f, 0, 0
        CountingFile.opened.append(self)

    def readinto(self, view) -> int:
        n = self.f.readinto(view)
        self.calls += 1
        self.bytes += n or 0
        return n

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


@pytest.fixture
def counting_open(monkeypatch):
    CountingFile.opened = []
    monkeypatch.setattr(hashing, "open", lambda *a, **k: CountingFile(open(*a, **k)), raising=False)
    return CountingFile.opened


def test_vector_file_agrees_with_the_table_used_here():
    if not VECTORS_FILE.exists():
        pytest.skip("shared reference vectors not present")
    data = json.loads(VECTORS_FILE.read_text())
    for name, expected in VECTORS.items():
        for kind in ALL_KINDS:
            if not (name == "hello_world_txt" and kind == "AutoV3"):
                assert data[name][kind] == expected[kind], (name, kind)
        if "size_bytes" in data[name]:
            assert len(VECTOR_BYTES[name]()) == data[name]["size_bytes"]


@pytest.mark.parametrize("threads", [0, 1, 2, 4])
@pytest.mark.parametrize("buffer_size", [4096, 65536 + 8, hashing.DEFAULT_BUFFER_SIZE])
@pytest.mark.parametrize("name", sorted(VECTORS))
def test_every_kind_matches_every_vector(tmp_path, name, buffer_size, threads):
    path = write(tmp_path, "f.bin", VECTOR_BYTES[name]())
    got = hash_file(path, buffer_size=buffer_size, threads=threads)
    expected = {k: v for k, v in VECTORS[name].items() if v is not None}
    assert got == expected


@pytest.mark.parametrize("name", sorted(VECTORS))
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_each_kind_alone_matches_its_vector(tmp_path, name, kind):
    path = write(tmp_path, "f.bin", VECTOR_BYTES[name]())
    expected = VECTORS[name][kind]
    assert hash_file(path, [kind]) == ({kind: expected} if expected else {})


def test_autov1_is_absent_below_2_mib_and_present_at_2_mib(tmp_path):
    data = bytes(i % 256 for i in range(2 * 1024 * 1024))
    small = write(tmp_path, "small.bin", data[:-1])
    exact = write(tmp_path, "exact.bin", data)
    assert "AutoV1" not in hash_file(small)
    window = data[0x100000 : 0x100000 + 0x10000]
    assert hash_file(exact)["AutoV1"] == hashlib.sha256(window).hexdigest().upper()[:8]


@pytest.mark.parametrize("head", [b"hello world", b"PK\x03\x04" + bytes(60), struct.pack("<Q", 16) + b"[" + bytes(40)])
def test_a_file_that_is_not_safetensors_has_no_autov3(tmp_path, head):
    path = write(tmp_path, "model.ckpt", head)
    got = hash_file(path)
    assert "AutoV3" not in got
    assert got["SHA256"] == hashlib.sha256(head).hexdigest().upper()


def test_header_length_past_the_end_of_file_gives_no_autov3(tmp_path):
    path = write(tmp_path, "cut.safetensors", make_safetensors(1024)[:60])
    assert "AutoV3" not in hash_file(path)


@pytest.mark.parametrize("threads", [0, 2])
def test_autov3_starts_after_a_header_that_spans_several_buffers(tmp_path, threads):
    data = make_safetensors(5000, {"format": "pt", "note": "x" * 10000})
    header_len = struct.unpack("<Q", data[:8])[0]
    assert header_len > 2 * 4096
    path = write(tmp_path, "big_header.safetensors", data)
    got = hash_file(path, ["AutoV3"], buffer_size=4096, threads=threads)
    assert got == {"AutoV3": hashlib.sha256(data[8 + header_len :]).hexdigest().upper()[:12]}


@pytest.mark.parametrize("threads", [0, 1, 2])
def test_all_kinds_come_from_one_read_pass(tmp_path, counting_open, threads):
    data = make_safetensors(655360)
    path = write(tmp_path, "m.safetensors", data)
    hash_file(path, buffer_size=65536, threads=threads)
    assert len(counting_open) == 1
    assert counting_open[0].bytes == len(data)
    # one readinto per buffer plus the one that finds the end of the file
    assert counting_open[0].calls == -(-len(data) // 65536) + 1


def test_autov1_alone_reads_only_up_to_its_window(tmp_path, counting_open):
    path = write(tmp_path, "m.bin", bytes(3 * 1024 * 1024))
    assert set(hash_file(path, ["AutoV1"])) == {"AutoV1"}
    assert counting_open[0].bytes == 0x100000 + 0x10000


def test_kind_names_are_case_insensitive_and_unknown_ones_rejected(tmp_path):
    path = write(tmp_path, "f.txt", b"hello world")
    assert hash_file(path, ["sha256", "crc32"]) == {"SHA256": VECTORS["hello_world_txt"]["SHA256"], "CRC32": "85114A0D"}
    with pytest.raises(ValueError, match="unknown hash kind 'MD5'"):
        hash_file(path, ["MD5"])


def test_crc32_is_written_little_endian(tmp_path):
    path = write(tmp_path, "f.txt", b"hello world")
    assert hash_file(path, "CRC32")["CRC32"] == zlib.crc32(b"hello world").to_bytes(4, "little").hex().upper()


@pytest.mark.parametrize("threads", [0, 2])
def test_progress_reports_growing_byte_counts_up_to_the_size(tmp_path, threads):
    path = write(tmp_path, "m.bin", bytes(100_000))
    seen = []
    hash_file(path, progress=seen.append, buffer_size=4096, threads=threads)
    assert seen == sorted(seen)
    assert seen[-1] == 100_000
    assert len(seen) == 25


@pytest.mark.parametrize("threads", [0, 2])
def test_cancel_during_hashing_raises_hash_cancelled(tmp_path, threads, counting_open):
    path = write(tmp_path, "m.bin", bytes(1_000_000))
    cancel = threading.Event()

    def on_progress(done):
        if done >= 8192:
            cancel.set()

    with pytest.raises(HashCancelled):
        hash_file(path, progress=on_progress, cancel=cancel, buffer_size=4096, threads=threads)
    assert counting_open[0].bytes < 100_000


def test_cancel_already_set_reads_nothing(tmp_path, counting_open):
    path = write(tmp_path, "m.bin", b"data")
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(HashCancelled):
        hash_file(path, cancel=cancel)
    assert counting_open == []


def test_missing_file_error_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        hash_file(tmp_path / "gone.safetensors")
    assert "gone.safetensors" in str(info.value)


def test_directory_error_names_the_directory(tmp_path):
    with pytest.raises(IsADirectoryError) as info:
        hash_file(tmp_path)
    assert str(tmp_path) in str(info.value)


@pytest.mark.parametrize("threads", [0, 2])
def test_a_read_error_mid_file_names_the_file(tmp_path, monkeypatch, threads):
    path = write(tmp_path, "flaky.safetensors", bytes(50_000))

    class Failing(CountingFile):
        def readinto(self, view):
            if self.calls:
                raise OSError(5, "Input/output error")
            return super().readinto(view)

    monkeypatch.setattr(hashing, "open", lambda *a, **k: Failing(open(*a, **k)), raising=False)
    with pytest.raises(OSError) as info:
        hash_file(path, buffer_size=4096, threads=threads)
    assert info.value.errno == 5
    assert "flaky.safetensors" in str(info.value) and "Input/output error" in str(info.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(HashError, match="not a regular file"):
        hash_file(fifo)


def test_a_file_growing_while_hashed_is_an_error(tmp_path):
    path = write(tmp_path, "m.bin", bytes(20_000))

    def grow(done):
        if done == 4096:
            with open(path, "ab") as f:
                f.write(b"more")

    with pytest.raises(HashError, match="changed while it was being hashed"):
        hash_file(path, progress=grow, buffer_size=4096, threads=0)


def test_claimed_hashes_reads_kohya_metadata_first(tmp_path):
    tensor_sha = hashlib.sha256(b"tensors").hexdigest()
    other_sha = hashlib.sha256(b"other").hexdigest()
    meta = {"sshs_model_hash": tensor_sha, "modelspec.hash_sha256": "0x" + other_sha, "ss_other": "1"}
    path = write(tmp_path, "lora.safetensors", make_safetensors(16, meta))
    assert claimed_hashes(path) == {"AutoV3": tensor_sha[:12].upper()}


def test_claimed_hashes_reads_modelspec_as_the_tensor_hash(tmp_path):
    tensor_sha = hashlib.sha256(b"tensors").hexdigest()
    path = write(tmp_path, "lora.safetensors", make_safetensors(16, {"modelspec.hash_sha256": "0x" + tensor_sha}))
    assert claimed_hashes(path) == {"AutoV3": tensor_sha[:12].upper()}


def test_claimed_hashes_ignores_values_that_are_not_sha256(tmp_path):
    meta = {"sshs_model_hash": "abc", "modelspec.hash_sha256": "zz"}
    path = write(tmp_path, "lora.safetensors", make_safetensors(16, meta))
    assert claimed_hashes(path) == {}


@pytest.mark.parametrize(
    "data",
    [
        b"hello world",
        struct.pack("<Q", 8) + b"{broken ",
        struct.pack("<Q", 8) + b"[1,2,3] ",
        struct.pack("<Q", 16) + b'{"a":1}' + b" " * 9,
    ],
    ids=["text", "bad-json", "not-object", "no-metadata"],
)
def test_claimed_hashes_of_a_non_safetensors_or_malformed_file_is_empty(tmp_path, data):
    assert claimed_hashes(write(tmp_path, "x.safetensors", data)) == {}


def test_claimed_hashes_refuses_a_header_over_100_mib(tmp_path):
    path = tmp_path / "huge.safetensors"
    n = 100 * 1024 * 1024 + 8
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", n) + b"{")
        f.truncate(8 + n + 16)  # sparse: costs no disk
    assert claimed_hashes(path) == {}


def test_claimed_hashes_of_a_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        claimed_hashes(tmp_path / "nope.safetensors")


def test_hash_files_keeps_going_past_bad_files(tmp_path):
    good = write(tmp_path, "good.txt", b"hello world")
    missing = tmp_path / "missing.bin"
    results = hash_files([good, missing, tmp_path], workers=2)
    assert results[good]["SHA256"] == VECTORS["hello_world_txt"]["SHA256"]
    assert isinstance(results[missing], FileNotFoundError)
    assert isinstance(results[tmp_path], IsADirectoryError)
    assert (results.stats.files_hashed, results.stats.files_failed) == (1, 2)


def test_hash_files_reports_a_read_error_per_file(tmp_path, monkeypatch):
    good = write(tmp_path, "good.bin", b"a" * 5000)
    bad = write(tmp_path, "bad.bin", b"b" * 5000)
    real = hash_file

    def flaky(path, *args, **kwargs):
        if Path(path).name == "bad.bin":
            raise OSError(5, "Input/output error", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(hash_batch, "hash_file", flaky)
    results = hash_files([bad, good], ["SHA256"], workers=2)
    assert results[good] == {"SHA256": hashlib.sha256(b"a" * 5000).hexdigest().upper()}
    assert isinstance(results[bad], OSError) and "bad.bin" in str(results[bad])


def test_hash_files_progress_ends_at_the_totals(tmp_path):
    paths = [write(tmp_path, f"f{i}.bin", bytes(1000 * (i + 1))) for i in range(5)]
    calls = []
    lock = threading.Lock()

    def on_progress(*args):
        with lock:
            calls.append(args)

    results = hash_files(paths + [tmp_path / "missing"], workers=3, progress=on_progress)
    assert calls[-1] == (15_000, 15_000, 6, 6)
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)
    assert [c[2] for c in calls] == sorted(c[2] for c in calls)
    assert results.stats.bytes_hashed == 15_000


def test_hash_files_cancel_marks_unfinished_files(tmp_path):
    paths = [write(tmp_path, f"f{i}.bin", bytes(50_000)) for i in range(6)]
    cancel = threading.Event()

    def on_progress(done, total, files_done, files_total):
        if files_done >= 1:
            cancel.set()

    results = hash_files(paths, ["SHA256"], workers=1, progress=on_progress, cancel=cancel)
    cancelled = [p for p in paths if isinstance(results[p], HashCancelled)]
    assert results.stats.cancelled
    assert len(cancelled) == 5
    assert results.stats.bytes_hashed == 50_000


def test_hash_files_answers_unchanged_files_from_the_cache_without_reading(tmp_path, counting_open):
    paths = [write(tmp_path, f"f{i}.safetensors", make_safetensors(100 + i)) for i in range(4)]
    cache = HashCache(tmp_path / "cache.sqlite")
    first = hash_files(paths, cache=cache)
    opened = len(counting_open)
    again = hash_files(paths, cache=cache)
    assert dict(again) == dict(first)
    assert again.stats.bytes_hashed == 0 and again.stats.files_cached == 4
    assert len(counting_open) == opened == 4


def test_hash_files_computes_only_the_kinds_the_cache_lacks(tmp_path, monkeypatch):
    path = write(tmp_path, "f.txt", b"hello world")
    cache = HashCache(tmp_path / "cache.sqlite")
    hash_files([path], ["SHA256"], cache=cache)
    asked = []
    real = hash_file
    monkeypatch.setattr(hash_batch, "hash_file", lambda p, kinds, **kw: asked.append(kinds) or real(p, kinds, **kw))
    got = hash_files([path], ["SHA256", "AutoV2", "CRC32"], cache=cache)[path]
    assert asked == [("CRC32",)]
    assert got == {k: VECTORS["hello_world_txt"][k] for k in ("SHA256", "AutoV2", "CRC32")}
    assert cache.get(path, ["SHA256", "CRC32"]) == {k: VECTORS["hello_world_txt"][k] for k in ("SHA256", "CRC32")}


def test_hash_files_remembers_kinds_that_do_not_apply(tmp_path):
    path = write(tmp_path, "f.txt", b"hello world")
    cache = HashCache(tmp_path / "cache.sqlite")
    hash_files([path], cache=cache)
    again = hash_files([path], cache=cache)
    assert again.stats.bytes_hashed == 0
    assert "AutoV1" not in again[path] and "AutoV3" not in again[path]


def test_importing_the_module_loads_no_heavy_dependency():
    code = (
        "import sys, civitai_companion.library.hashing, civitai_companion.library.hash_batch, civitai_companion.library.hash_cache;"
        "print(sorted(m for m in ('blake3', 'sqlite3', 'concurrent.futures', 'hashlib') if m in sys.modules))"
    )
    root = Path(hashing.__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
