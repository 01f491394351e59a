"""The hash cache: hits for unchanged files, misses for changed ones, sidecars, recovery from damage."""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

import pytest

from civitai_companion.library.hash_cache import HashCache, sidecar_path, sidecar_record, sidecar_sha256
from civitai_companion.library.hash_batch import hash_files
from civitai_companion.library.hashing import hash_file

SHA_A = "A" * 64
SHA_B = "B" * 64


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.fixture
def cache(tmp_path):
    with HashCache(tmp_path / "state" / "hashes.sqlite") as c:
        yield c


@pytest.fixture
def model(tmp_path):
    return write(tmp_path / "model.safetensors", b"model bytes")


def test_put_then_get_returns_the_hashes(cache, model):
    cache.put(model, {"SHA256": SHA_A.lower(), "CRC32": "0d4a1185"})
    assert cache.get(model, ["SHA256", "CRC32"]) == {"SHA256": SHA_A, "CRC32": "0D4A1185"}


def test_get_is_a_miss_until_every_requested_kind_is_known(cache, model):
    cache.put(model, {"SHA256": SHA_A})
    assert cache.get(model, ["SHA256", "BLAKE3"]) is None


def test_autov2_comes_from_a_cached_sha256(cache, model):
    cache.put(model, {"SHA256": SHA_A})
    assert cache.get(model, "AutoV2") == {"AutoV2": SHA_A[:10]}


def test_a_kind_recorded_as_not_applying_counts_as_known(cache, model):
    cache.put(model, {"SHA256": SHA_A, "AutoV1": None})
    assert cache.get(model, ["SHA256", "AutoV1"]) == {"SHA256": SHA_A}


def test_new_kinds_are_merged_into_the_entry(cache, model):
    cache.put(model, {"SHA256": SHA_A})
    cache.put(model, {"BLAKE3": SHA_B})
    assert cache.get(model, ["SHA256", "BLAKE3"]) == {"SHA256": SHA_A, "BLAKE3": SHA_B}


def test_touching_the_file_makes_the_entry_stale(cache, model):
    cache.put(model, {"SHA256": SHA_A})
    st = model.stat()
    os.utime(model, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert cache.get(model, "SHA256") is None


def test_an_entry_for_an_older_state_is_replaced_not_merged(cache, model):
    cache.put(model, {"SHA256": SHA_A})
    st = model.stat()
    os.utime(model, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    cache.put(model, {"BLAKE3": SHA_B})
    assert cache.get(model, "BLAKE3") == {"BLAKE3": SHA_B}
    assert cache.get(model, "SHA256") is None


def test_a_renamed_file_is_a_miss(cache, model, tmp_path):
    cache.put(model, {"SHA256": SHA_A})
    renamed = model.rename(tmp_path / "renamed.safetensors")
    assert cache.get(renamed, "SHA256") is None


def test_a_same_size_replacement_with_the_same_mtime_is_a_miss(cache, model, tmp_path):
    cache.put(model, {"SHA256": SHA_A})
    old = model.stat()
    replacement = write(tmp_path / "new.tmp", b"other bytes")
    assert replacement.stat().st_size == old.st_size
    os.utime(replacement, ns=(old.st_atime_ns, old.st_mtime_ns))
    os.replace(replacement, model)
    assert model.stat().st_ino != old.st_ino
    assert cache.get(model, "SHA256") is None


def test_an_unchanged_file_is_never_hashed_twice(cache, model):
    first = hash_files([model], cache=cache)
    second = hash_files([model], cache=cache)
    assert (first.stats.bytes_hashed, second.stats.bytes_hashed) == (model.stat().st_size, 0)
    assert second[model] == hash_file(model)


def test_a_touched_file_is_hashed_again(cache, model):
    hash_files([model], cache=cache)
    st = model.stat()
    os.utime(model, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    again = hash_files([model], cache=cache)
    assert again.stats.bytes_hashed == st.st_size


def test_forget_drops_the_entry(cache, model):
    cache.put(model, {"SHA256": SHA_A})
    cache.forget(model)
    assert cache.get(model, "SHA256") is None


def test_relative_and_absolute_paths_share_an_entry(cache, model, monkeypatch):
    monkeypatch.chdir(model.parent)
    cache.put(model.name, {"SHA256": SHA_A})
    assert cache.get(model, "SHA256") == {"SHA256": SHA_A}


def test_a_missing_file_is_a_miss_and_put_is_ignored(cache, tmp_path):
    gone = tmp_path / "gone.bin"
    cache.put(gone, {"SHA256": SHA_A})
    assert cache.get(gone, "SHA256") is None


def test_default_location_is_the_state_dir(tmp_path, monkeypatch, model):
    monkeypatch.setenv("CIVITAI_COMPANION_HOME", str(tmp_path / "home"))
    with HashCache() as cache:
        cache.put(model, {"SHA256": SHA_A})
        assert cache.path == tmp_path / "home" / "hashes.sqlite"
    assert (tmp_path / "home" / "hashes.sqlite").is_file()


def test_the_database_uses_wal_mode(cache, model):
    import sqlite3

    cache.put(model, {"SHA256": SHA_A})
    with sqlite3.connect(cache.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_entries_persist_across_instances(tmp_path, model):
    db = tmp_path / "hashes.sqlite"
    with HashCache(db) as first:
        first.put(model, {"SHA256": SHA_A})
    with HashCache(db) as second:
        assert second.get(model, "SHA256") == {"SHA256": SHA_A}


def test_a_corrupt_database_is_moved_aside_and_replaced(tmp_path, model, caplog):
    db = tmp_path / "hashes.sqlite"
    db.write_bytes(b"this is not a database" * 100)
    with caplog.at_level(logging.WARNING, logger="civitai_companion.library.hash_cache"), HashCache(db) as cache:
        assert cache.get(model, "SHA256") is None
        cache.put(model, {"SHA256": SHA_A})
        assert cache.get(model, "SHA256") == {"SHA256": SHA_A}
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("hashes.sqlite.corrupt-")]
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not a database")
    assert "damaged" in caplog.text


def test_an_unusable_location_never_fails_the_caller(tmp_path, model, caplog):
    blocker = write(tmp_path / "blocker", b"a file, not a directory")
    with caplog.at_level(logging.WARNING, logger="civitai_companion.library.hash_cache"):
        cache = HashCache(blocker / "hashes.sqlite")
        cache.put(model, {"SHA256": SHA_A})
        assert cache.get(model, "SHA256") is None
        assert hash_files([model], ["SHA256"], cache=cache)[model]["SHA256"] == hash_file(model, "SHA256")["SHA256"]
    assert "cannot be opened" in caplog.text


def test_concurrent_threads_share_one_cache(cache, tmp_path):
    files = [write(tmp_path / f"f{i}.bin", bytes([i]) * 10) for i in range(40)]
    errors = []

    def work(chunk):
        try:
            for path in chunk:
                cache.put(path, {"SHA256": SHA_A})
                cache.put(path, {"CRC32": "00000000"})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(files[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(cache.get(p, ["SHA256", "CRC32"]) is not None for p in files)


# -- .civitai.info sidecars ---------------------------------------------------------------------------------


def write_sidecar(model: Path, record: dict, files_sha: str | None = None) -> Path:
    info = {"id": 1, "files": [{"name": model.name, "hashes": {"SHA256": files_sha}}] if files_sha else []}
    info["extensions"] = {"civitai_companion": record}
    path = sidecar_path(model)
    path.write_text(json.dumps(info), encoding="utf-8")
    return path


def test_sidecar_path_replaces_the_last_extension(tmp_path):
    assert sidecar_path(tmp_path / "my.lora.safetensors") == tmp_path / "my.lora.civitai.info"


def test_a_matching_sidecar_answers_for_sha256_and_autov2(cache, model):
    write_sidecar(model, sidecar_record(model, SHA_A.lower(), model_url="https://civitai.com/models/1"))
    assert cache.get(model, ["SHA256", "AutoV2"]) == {"SHA256": SHA_A, "AutoV2": SHA_A[:10]}
    assert cache.get(model, ["SHA256", "BLAKE3"]) is None


def test_a_sidecar_spares_reading_the_file_for_sha256(cache, model):
    write_sidecar(model, sidecar_record(model, SHA_A))
    results = hash_files([model], ["SHA256"], cache=cache)
    assert results[model] == {"SHA256": SHA_A} and results.stats.bytes_hashed == 0


def test_a_sidecar_from_before_a_touch_is_ignored(cache, model):
    write_sidecar(model, sidecar_record(model, SHA_A))
    st = model.stat()
    os.utime(model, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert cache.get(model, "SHA256") is None


def test_a_same_size_replacement_is_hashed_again_despite_its_old_sidecar(cache, model, tmp_path):
    old_sha = hash_files([model], ["SHA256"], cache=cache)[model]["SHA256"]
    write_sidecar(model, sidecar_record(model, old_sha))
    old = model.stat()
    replacement = write(tmp_path / "new.tmp", b"other bytes")
    os.utime(replacement, ns=(old.st_atime_ns, old.st_mtime_ns))
    os.replace(replacement, model)
    assert sidecar_sha256(model) == old_sha  # size and mtime alone cannot tell
    again = hash_files([model], ["SHA256"], cache=cache)
    assert again[model]["SHA256"] == hash_file(model, "SHA256")["SHA256"] != old_sha
    assert again.stats.bytes_hashed == old.st_size


def test_a_copied_library_is_answered_by_its_sidecars(tmp_path, model):
    sha = hash_file(model, "SHA256")["SHA256"]
    write_sidecar(model, sidecar_record(model, sha))
    copy = tmp_path / "elsewhere" / model.name
    copy.parent.mkdir()
    copy.write_bytes(model.read_bytes())
    os.utime(copy, ns=(model.stat().st_atime_ns, model.stat().st_mtime_ns))  # as cp -p / rsync -a do
    sidecar_path(copy).write_bytes(sidecar_path(model).read_bytes())
    with HashCache(tmp_path / "other-machine.sqlite") as fresh:
        results = hash_files([copy], ["SHA256"], cache=fresh)
    assert results[copy] == {"SHA256": sha} and results.stats.bytes_hashed == 0


def test_a_sidecar_with_another_size_is_ignored(model):
    record = sidecar_record(model, SHA_A)
    record["size"] += 1
    write_sidecar(model, record, files_sha=SHA_A)
    assert sidecar_sha256(model, trust=True) is None


def test_trusted_sidecars_accept_a_copy_whose_mtime_changed(tmp_path, model):
    record = sidecar_record(model, SHA_A)
    record["mtime_ns"] -= 10**9
    write_sidecar(model, record, files_sha=SHA_A.lower())
    assert sidecar_sha256(model) is None
    with HashCache(tmp_path / "c.sqlite", trust_sidecars=True) as trusting:
        assert trusting.get(model, "SHA256") == {"SHA256": SHA_A}


def test_trusted_sidecars_still_need_civitai_to_agree(model):
    record = sidecar_record(model, SHA_A)
    record["mtime_ns"] -= 10**9
    write_sidecar(model, record, files_sha=SHA_B)
    assert sidecar_sha256(model, trust=True) is None


BROKEN_SIDECARS = [
    "not json",
    "[]",
    '{"extensions": {"other_tool": {}}}',
    '{"extensions": {"civitai_companion": {"sha256": "xyz"}}}',
]


@pytest.mark.parametrize("text", BROKEN_SIDECARS)
def test_foreign_or_broken_sidecars_are_ignored(cache, model, text):
    sidecar_path(model).write_text(text, encoding="utf-8")
    assert cache.get(model, "SHA256") is None


def test_sidecars_can_be_switched_off(tmp_path, model):
    write_sidecar(model, sidecar_record(model, SHA_A))
    with HashCache(tmp_path / "c.sqlite", use_sidecars=False) as cache:
        assert cache.get(model, "SHA256") is None


def test_put_many_writes_every_entry_and_skips_missing_files(cache, tmp_path):
    files = [write(tmp_path / f"m{i}.bin", bytes([i]) * 8) for i in range(3)]
    cache.put_many([(p, {"SHA256": SHA_A}, None) for p in files] + [(tmp_path / "gone.bin", {"SHA256": SHA_B}, None)])
    assert all(cache.get(p, ["SHA256"]) == {"SHA256": SHA_A} for p in files)
    assert cache.get(tmp_path / "gone.bin", ["SHA256"]) is None


def test_hash_files_caches_every_file_across_write_batches(tmp_path):
    from civitai_companion.library.hash_batch import CACHE_BATCH

    files = [write(tmp_path / f"f{i}.bin", i.to_bytes(4, "little")) for i in range(CACHE_BATCH + 7)]
    db = tmp_path / "state" / "hashes.sqlite"
    with HashCache(db) as first:
        hash_files(files, ["SHA256"], cache=first, workers=2)
    with HashCache(db) as second:
        again = hash_files(files, ["SHA256"], cache=second)
    assert again.stats.files_cached == len(files) and again.stats.bytes_hashed == 0


def test_files_hashed_before_a_cancel_are_still_cached(tmp_path):
    files = [write(tmp_path / f"c{i}.bin", bytes([i]) * 64) for i in range(20)]
    cancel = threading.Event()
    db = tmp_path / "state" / "hashes.sqlite"
    with HashCache(db) as cache:
        def stop_after_five(_bytes, _total, files_done, _files_total):
            if files_done >= 5:
                cancel.set()

        first = hash_files(files, ["SHA256"], cache=cache, workers=1, progress=stop_after_five, cancel=cancel)
    assert first.stats.cancelled and 5 <= first.stats.files_hashed < len(files)
    with HashCache(db) as cache:
        assert sum(cache.get(p, ["SHA256"]) is not None for p in files) == first.stats.files_hashed
