"""The library index: rows like ``scan --json``, answered locally; rescans that ask Civitai nothing new."""

from __future__ import annotations

import os

import pytest

from civitai_companion.api import ModelVersion
from civitai_companion.library.index import LibraryIndex, open_index


def row(path, **values):
    base = {"path": str(path), "sha256": values.pop("sha256", "AB" * 32), "status": values.pop("status", "resolved")}
    return {**base, **values}


@pytest.fixture
def index(tmp_path):
    with open_index(tmp_path / "library.sqlite") as opened:
        yield opened


def put_files(index, tmp_path, *rows):
    """Create each row's file and store the row with its stat."""
    for r in rows:
        path = tmp_path / r["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        r["path"] = str(path)
    index.put([(r, os.stat(r["path"])) for r in rows])


# -- the API others code against -------------------------------------------------------------------------
def test_open_index_lives_in_the_state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CIVITAI_COMPANION_HOME", str(tmp_path / "home"))
    with open_index() as index:
        assert index.path == tmp_path / "home" / "library.sqlite"
        assert index.rows() == [] and len(index) == 0


def test_rows_come_back_as_stored_sorted_by_path(index, tmp_path):
    b = row("b.safetensors", modelId=1, modelVersionId=11, modelName="B", versionName="v1", type="LORA",
            baseModel="SDXL 1.0", trainedWords=["bee"], kind="lora", preview=None)
    a = row("a.ckpt", status="unknown", kind="checkpoint", preview=None)
    put_files(index, tmp_path, b, a)
    assert index.rows() == [a, b]


def test_rows_filters(index, tmp_path):
    put_files(
        index, tmp_path,
        row("loras/pony.safetensors", type="LORA", kind="lora", baseModel="Pony", modelName="Glow Style",
            trainedWords=["glowing eyes"], modelVersionId=1, newerVersionId=2),
        row("loras/xl.safetensors", type="LORA", kind="lora", baseModel="SDXL 1.0", modelName="Sharp", modelVersionId=3),
        row("ckpt/base.safetensors", type="Checkpoint", kind="checkpoint", baseModel="SDXL 1.0", modelName="Base",
            modelVersionId=4),
        row("ckpt/mine.ckpt", status="unknown", kind="checkpoint"),
        row("ckpt/bad.ckpt", status="error", error="permission denied", kind="checkpoint"),
    )

    def names(**filters):
        return [os.path.basename(r["path"]) for r in index.rows(**filters)]

    assert names(types=["lora"]) == ["pony.safetensors", "xl.safetensors"]
    assert names(types=["checkpoint"], status="resolved") == ["base.safetensors"]
    assert names(base_models=["sdxl 1.0"]) == ["base.safetensors", "xl.safetensors"]
    assert names(status="unknown") == ["mine.ckpt"]
    assert names(status="error") == ["bad.ckpt"]
    assert names(status="update") == ["pony.safetensors"]
    assert names(query="GLOWING") == ["pony.safetensors"]
    assert names(query="mine") == ["mine.ckpt"]  # the file name counts too
    assert names(paths=[tmp_path / "ckpt"]) == ["bad.ckpt", "base.safetensors", "mine.ckpt"]
    assert names(paths=[tmp_path / "loras" / "xl.safetensors"]) == ["xl.safetensors"]
    assert names(paths=[tmp_path / "lor"]) == []  # a prefix of a folder name is not that folder
    assert names(paths=[]) == []
    with pytest.raises(ValueError, match="unknown status"):
        index.rows(status="pending")


def test_by_sha256_and_by_version(index, tmp_path):
    sha = "CD" * 32
    put_files(index, tmp_path, row("one.safetensors", sha256=sha, modelVersionId=7),
              row("two/one.safetensors", sha256=sha, modelVersionId=7), row("other.safetensors", modelVersionId=8))
    assert index.by_sha256(sha.lower())["modelVersionId"] == 7
    assert index.by_sha256("00" * 32) is None
    assert [os.path.basename(os.path.dirname(r["path"])) for r in index.by_version(7)] == [tmp_path.name, "two"]
    assert index.by_version(9) == []


def test_a_file_reached_by_two_paths_is_one_row(index, tmp_path):
    real = tmp_path / "comfy" / "models" / "loras"
    real.mkdir(parents=True)
    (real / "x.safetensors").write_bytes(b"x")
    (tmp_path / "webui-lora").symlink_to(real, target_is_directory=True)
    for path in (real / "x.safetensors", tmp_path / "webui-lora" / "x.safetensors"):
        index.put([(row(path, modelVersionId=5), os.stat(path))])
    assert len(index) == 1
    assert index.rows(paths=[real]) == index.rows(paths=[tmp_path / "webui-lora"]) != []


def test_record_download_is_a_resolved_row(index, tmp_path):
    path = tmp_path / "dl.safetensors"
    path.write_bytes(b"weights")
    (tmp_path / "dl.preview.png").write_bytes(b"\x89PNG")
    version = ModelVersion.from_api({
        "id": 21, "modelId": 2, "name": "v2", "baseModel": "Pony", "trainedWords": ["zap"],
        "model": {"name": "Zapper", "type": "LORA"},
        "files": [{"id": 5, "name": "dl.safetensors", "hashes": {"SHA256": "EF" * 32}}],
    })

    index.record_download(path, version, version.files[0], kind="lora")

    assert index.by_version(21) == [{
        "path": str(path), "sha256": "EF" * 32, "status": "resolved", "modelId": 2, "modelVersionId": 21,
        "modelName": "Zapper", "versionName": "v2", "type": "LORA", "baseModel": "Pony", "trainedWords": ["zap"],
        "kind": "lora", "preview": str(tmp_path / "dl.preview.png"),
    }]
    key, stored, _sidecars = index.known([path])[os.path.realpath(path)]
    assert key == (7, path.stat().st_mtime_ns, path.stat().st_ino) and stored["modelVersionId"] == 21


def test_drop_missing_keeps_what_was_found_and_other_folders(index, tmp_path):
    put_files(index, tmp_path, row("a/keep.safetensors"), row("a/gone.safetensors"), row("a/sub/gone.ckpt"),
              row("ab/other.safetensors"))
    dropped = index.drop_missing([tmp_path / "a"], keep=[tmp_path / "a" / "keep.safetensors"])
    assert dropped == 2
    assert sorted(os.path.basename(r["path"]) for r in index.rows()) == ["keep.safetensors", "other.safetensors"]


@pytest.mark.parametrize("damage", [b"this is not a database" * 100, b""])
def test_a_damaged_index_is_moved_aside_and_rebuilt(tmp_path, damage, caplog):
    path = tmp_path / "library.sqlite"
    with LibraryIndex(path) as index:
        put_files(index, tmp_path, row("a.safetensors"))
    path.write_bytes(damage)
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"library.sqlite{suffix}").unlink(missing_ok=True)

    with LibraryIndex(path) as index:
        assert index.rows() == []  # what was there is gone, and nothing failed
        put_files(index, tmp_path, row("b.safetensors"))
        assert [os.path.basename(r["path"]) for r in index.rows()] == ["b.safetensors"]
    if damage:
        assert any(p.name.startswith("library.sqlite.corrupt-") for p in tmp_path.iterdir())
        assert "damaged" in caplog.text


def test_an_index_of_another_shape_is_replaced(tmp_path):
    import sqlite3

    path = tmp_path / "library.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE files (real TEXT PRIMARY KEY, other TEXT)")
    conn.commit()
    conn.close()
    with LibraryIndex(path) as index:
        put_files(index, tmp_path, row("a.safetensors"))
        assert len(index.rows()) == 1


def test_an_unwritable_state_dir_fails_nothing(tmp_path, caplog):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the state dir should be")
    with LibraryIndex(blocker / "library.sqlite") as index:
        assert index.put([(row(tmp_path / "a.safetensors"), None)]) == 1
        assert index.rows() == [] and index.by_sha256("AB" * 32) is None
    assert "cannot be opened" in caplog.text
