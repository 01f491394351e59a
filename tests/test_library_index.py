"""The library index: rows like ``scan --json``, answered locally; rescans that ask Civitai nothing new."""

from __future__ import annotations

import json
import os
from pathlib import Path

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


# -- scans that use the index ------------------------------------------------------------------------------
from civitai_companion.api import CivitaiClient  # noqa: E402
from civitai_companion.cli import main  # noqa: E402
from civitai_companion.library import entries_for_paths, scan  # noqa: E402
from tests.fake_civitai import make_safetensors  # noqa: E402

BY_HASH = "/api/v1/model-versions/by-hash"


@pytest.fixture
def client(fake_civitai):
    return CivitaiClient(sleep=lambda _s: None)


def install(fake, path, model, index=0):
    version = model["modelVersions"][index]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(fake.file_bytes(version["files"][0]["id"]))
    return version


def api_requests(fake, prefix=""):
    return [r for r in fake.requests_to("api", path_prefix="/api/v1/" + prefix)]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def library_of(fake, folder, n=3):
    """``n`` resolved LoRAs (two versions each, the older one installed) and one file Civitai does not know."""
    models = [fake.add_model(name=f"Index Lora {i}", versions=2, trained_words=[f"word{i}"]) for i in range(n)]
    for i, model in enumerate(models):
        install(fake, folder / f"l{i}.safetensors", model, index=1)
    (folder / "mine.safetensors").write_bytes(make_safetensors(40, seed=99))
    return models


def by_name(report):
    return {e.path.name: e for e in report.entries}


def test_rescan_of_an_unchanged_library_asks_only_the_update_check(fake_civitai, client, tmp_path):
    models = library_of(fake_civitai, tmp_path / "lib")
    first = scan(entries_for_paths([tmp_path / "lib"]), client=client, previews=False, folders=[tmp_path / "lib"])
    assert first.count("resolved") == 3 and first.from_index == 0
    fake_civitai.clear_requests()

    second = scan(entries_for_paths([tmp_path / "lib"]), client=CivitaiClient(), previews=False,
                  folders=[tmp_path / "lib"])  # a new client: none of the first one's answers cached

    assert not api_requests(fake_civitai, "model-versions/by-hash")
    assert [r.path for r in api_requests(fake_civitai)] == ["/api/v1/models"]  # ceil(3 models / 100)
    assert second.files_hashed == 0 and second.from_index == 3  # the unknown file: the unknown-hash cache's TTL
    assert [e.to_json() for e in second.entries] == [e.to_json() for e in first.entries]
    assert by_name(second)["l0.safetensors"].to_json()["newerVersionId"] == models[0]["modelVersions"][0]["id"]


def test_rescan_with_no_updates_sends_nothing(fake_civitai, capsys, tmp_path):
    library_of(fake_civitai, tmp_path / "lib")
    code, first, err = run(capsys, "scan", str(tmp_path / "lib"), "--json", "--no-previews")
    assert code == 0, err
    fake_civitai.clear_requests()

    code, second, err = run(capsys, "scan", str(tmp_path / "lib"), "--json", "--no-previews", "--no-updates")

    assert code == 0, err
    assert fake_civitai.requests == []
    assert json.loads(second) == json.loads(first)  # what the last update check found is still reported
    code, table, err = run(capsys, "scan", str(tmp_path / "lib"), "--no-updates")
    assert table.splitlines()[-1] == "4 files: 3 resolved, 1 unknown; 3 with a newer version " \
                                     "(0 API requests; 3 from the library index)"


def test_refresh_asks_about_every_file_again(fake_civitai, client, tmp_path):
    library_of(fake_civitai, tmp_path / "lib")
    scan(entries_for_paths([tmp_path / "lib"]), client=client, sidecars=False, updates=False)
    fake_civitai.clear_requests()
    report = scan(entries_for_paths([tmp_path / "lib"]), client=client, sidecars=False, updates=False, refresh=True)
    [post] = [r for r in api_requests(fake_civitai, "model-versions/by-hash") if r.method == "POST"]
    assert len(json.loads(post.body)) == 4 and report.from_index == 0


def test_names_come_from_the_update_check(fake_civitai, client, tmp_path):
    [model] = library_of(fake_civitai, tmp_path / "lib", n=1)
    scan(entries_for_paths([tmp_path / "lib"]), client=client, previews=False)
    fake_civitai.models[model["id"]]["name"] = "Renamed On Civitai"
    fake_civitai.clear_requests()

    report = scan(entries_for_paths([tmp_path / "lib"]), client=CivitaiClient(), previews=False)

    assert not api_requests(fake_civitai, "model-versions/by-hash")
    assert by_name(report)["l0.safetensors"].to_json()["modelName"] == "Renamed On Civitai"
    with open_index() as index:
        assert index.by_version(model["modelVersions"][1]["id"])[0]["modelName"] == "Renamed On Civitai"
    info = json.loads((tmp_path / "lib" / "l0.civitai.info").read_text())
    assert info["model"]["name"] == "Renamed On Civitai"  # the sidecars follow


@pytest.mark.parametrize("change", ["replaced", "renamed", "touched"])
def test_a_changed_file_is_hashed_and_resolved_again(fake_civitai, client, tmp_path, change):
    a, b = (fake_civitai.add_model(name=f"Change {n}") for n in "ab")
    path = tmp_path / "lib" / "x.safetensors"
    install(fake_civitai, path, a)
    scan(entries_for_paths([tmp_path / "lib"]), client=client, sidecars=False, updates=False,
         folders=[tmp_path / "lib"])
    fake_civitai.clear_requests()
    expected = a
    if change == "replaced":
        replacement = tmp_path / "new.safetensors"
        install(fake_civitai, replacement, b)
        os.replace(replacement, path)
        expected = b
    elif change == "renamed":
        path = path.rename(path.with_name("y.safetensors"))
    else:
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))

    report = scan(entries_for_paths([tmp_path / "lib"]), client=client, sidecars=False, updates=False,
                  folders=[tmp_path / "lib"])

    [entry] = report.entries
    assert report.files_hashed == 1 and entry.status == "resolved" and entry.version.model_id == expected["id"]
    assert len(api_requests(fake_civitai, "model-versions/by-hash")) == 1
    with open_index() as index:
        assert [r["path"] for r in index.rows()] == [str(path)]  # a renamed file's old row is gone


def test_a_vanished_file_is_dropped_on_the_next_scan_of_its_folder(fake_civitai, capsys, tmp_path):
    library_of(fake_civitai, tmp_path / "lib", n=2)
    other = fake_civitai.add_model(name="Elsewhere")
    install(fake_civitai, tmp_path / "elsewhere" / "e.safetensors", other)
    for folder in ("lib", "elsewhere"):
        assert run(capsys, "scan", str(tmp_path / folder), "--no-sidecars", "--no-updates")[0] == 0
    (tmp_path / "lib" / "l1.safetensors").unlink()
    code, out, err = run(capsys, "library", "--json")
    assert len(json.loads(out)) == 4  # the index only learns it at the next scan of that folder

    assert run(capsys, "scan", str(tmp_path / "lib"), "--no-sidecars", "--no-updates")[0] == 0

    code, out, err = run(capsys, "library", "--json")
    assert sorted(os.path.basename(r["path"]) for r in json.loads(out)) == ["e.safetensors", "l0.safetensors",
                                                                             "mine.safetensors"]


def test_a_file_named_on_the_command_line_that_is_gone_is_dropped(fake_civitai, capsys, tmp_path):
    library_of(fake_civitai, tmp_path, n=1)
    assert run(capsys, "scan", str(tmp_path / "l0.safetensors"), "--no-sidecars", "--no-updates")[0] == 0
    (tmp_path / "l0.safetensors").unlink()
    assert run(capsys, "scan", str(tmp_path / "l0.safetensors"), "--no-sidecars", "--no-updates")[0] == 1
    assert json.loads(run(capsys, "library", "--json")[1]) == []


def test_offline_never_touches_the_network(fake_civitai, capsys, tmp_path, monkeypatch):
    [model] = library_of(fake_civitai, tmp_path / "lib", n=1)
    assert run(capsys, "scan", str(tmp_path / "lib"), "--no-previews")[0] == 0
    copied = tmp_path / "lib" / "copy.safetensors"  # a new file, known from its own sidecar
    copied.write_bytes((tmp_path / "lib" / "l0.safetensors").read_bytes())
    (tmp_path / "lib" / "new.safetensors").write_bytes(make_safetensors(50, seed=5))
    monkeypatch.setenv("CIVITAI_BASE_URL", "http://127.0.0.1:9")  # nothing listens: any request would fail
    fake_civitai.clear_requests()

    code, out, err = run(capsys, "scan", str(tmp_path / "lib"), "--offline", "--json")

    assert code == 0, err
    assert fake_civitai.requests == [] and err == ""
    rows = {os.path.basename(r["path"]): r for r in json.loads(out)}
    assert rows["l0.safetensors"]["modelId"] == model["id"]
    assert rows["l0.safetensors"]["newerVersionId"] == model["modelVersions"][0]["id"]  # as last checked
    assert rows["copy.safetensors"]["modelVersionId"] == model["modelVersions"][1]["id"]  # same SHA-256
    assert rows["new.safetensors"]["status"] == rows["mine.safetensors"]["status"] == "unknown"
    assert run(capsys, "scan", str(tmp_path / "lib"), "--offline", "--refresh")[0] == 1


def test_a_download_is_indexed_without_a_lookup(fake_civitai, capsys, tmp_path):
    from civitai_companion.download import Downloader

    model = fake_civitai.add_model(name="Downloaded Lora")
    version = model["modelVersions"][0]
    downloader = Downloader(CivitaiClient(sleep=lambda _s: None), host="comfyui", root=tmp_path / "ComfyUI")
    result = downloader.download(version["id"])
    fake_civitai.clear_requests()

    with open_index() as index:
        [row] = index.by_version(version["id"])
    assert (row["path"], row["sha256"], row["status"], row["kind"]) == (
        str(result.path), version["files"][0]["hashes"]["SHA256"], "resolved", "lora")
    code, out, err = run(capsys, "scan", "--host", "comfyui", "--root", str(tmp_path / "ComfyUI"), "--json",
                         "--no-updates")
    assert code == 0, err
    assert fake_civitai.requests == []  # neither hashed again nor asked about
    assert json.loads(out) == [row]


def test_a_damaged_index_does_not_stop_a_scan(fake_civitai, client, tmp_path, caplog):
    library_of(fake_civitai, tmp_path / "lib", n=1)
    scan(entries_for_paths([tmp_path / "lib"]), client=client, sidecars=False, updates=False)
    with open_index() as index:
        path = index.path
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"\0garbage" * 512)
    fake_civitai.clear_requests()

    report = scan(entries_for_paths([tmp_path / "lib"]), client=client, sidecars=False, updates=False)

    assert report.count("resolved") == 1 and report.from_index == 0  # asked again, since nothing is known
    assert "damaged" in caplog.text
    with open_index() as index:
        assert len(index.rows()) == 2  # rebuilt


def test_a_failing_batch_is_retried_as_a_batch_never_file_by_file(fake_civitai, client, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(250):
        (folder / f"f{i:03}.safetensors").write_bytes(make_safetensors(4, seed=1000 + i))
    fake_civitai.set_api_fault(BY_HASH, 503, times=None)

    report = scan(entries_for_paths([folder]), client=client, sidecars=False, updates=False)

    posts = api_requests(fake_civitai, "model-versions/by-hash")
    assert len(posts) == 5 and all(r.method == "POST" for r in posts)  # one batch and its retries
    assert report.count("error") == 250 and len({e.error for e in report.entries}) == 1


def test_a_failing_batch_is_one_error_line(fake_civitai, capsys, tmp_path, monkeypatch):
    from civitai_companion.cli import library as cli_library

    monkeypatch.setattr(cli_library, "make_client", lambda args: CivitaiClient(sleep=lambda _s: None))
    for i in range(120):
        (tmp_path / f"f{i:03}.safetensors").write_bytes(make_safetensors(4, seed=2000 + i))
    fake_civitai.set_api_fault(BY_HASH, 500, times=None)

    code, out, err = run(capsys, "scan", str(tmp_path), "--no-sidecars")

    assert code == 1
    assert len(api_requests(fake_civitai)) == 5
    [line] = err.strip().splitlines()
    assert line.startswith("error: 120 files: Civitai server error 500")


# -- the library command -----------------------------------------------------------------------------------
def test_library_lists_what_scan_reported_without_a_request(fake_civitai, capsys, tmp_path):
    root = tmp_path / "webui"
    lora = fake_civitai.add_model(name="Listed Lora", base_model="Pony", trained_words=["sparkle"], versions=2)
    ckpt = fake_civitai.add_model(name="Listed Ckpt", type="Checkpoint", base_model="SDXL 1.0")
    install(fake_civitai, root / "models" / "Lora" / "sp.safetensors", lora, index=1)
    install(fake_civitai, root / "models" / "Stable-diffusion" / "xl.safetensors", ckpt)
    (root / "models" / "Lora" / "own.safetensors").write_bytes(make_safetensors(8, seed=3))
    code, scanned, err = run(capsys, "scan", "--host", "a1111", "--root", str(root), "--json", "--no-previews")
    assert code == 0, err
    fake_civitai.clear_requests()

    code, listed, err = run(capsys, "library", "--host", "a1111", "--root", str(root), "--json")

    assert code == 0, err
    assert fake_civitai.requests == []
    assert json.loads(listed) == sorted(json.loads(scanned), key=lambda r: r["path"])

    def names(*argv):
        return [os.path.basename(r["path"]) for r in json.loads(run(capsys, "library", "--json", *argv)[1])]

    assert names("--type", "LORA") == ["own.safetensors", "sp.safetensors"]
    assert names("--type", "checkpoint") == ["xl.safetensors"]
    assert names("--base-model", "Pony", "--base-model", "SDXL 1.0") == ["sp.safetensors", "xl.safetensors"]
    assert names("--status", "unknown") == ["own.safetensors"]
    assert names("--status", "update") == ["sp.safetensors"]
    assert names("--query", "sparkle") == ["sp.safetensors"]
    assert names(str(root / "models" / "Stable-diffusion")) == ["xl.safetensors"]
    (tmp_path / "elsewhere").mkdir()
    assert names("--host", "comfyui", "--root", str(tmp_path / "elsewhere")) == []

    code, table, err = run(capsys, "library", "--host", "a1111", "--root", str(root))
    lines = table.splitlines()
    assert lines[0].split() == ["STATUS", "FILE", "MODEL", "VERSION", "BASE", "MODEL", "NEWER"]
    assert any("Listed Lora" in line and f"({lora['modelVersions'][0]['id']})" in line for line in lines)
    assert lines[-1] == "3 files: 2 resolved, 1 unknown; 1 with a newer version"


def test_library_before_any_scan_says_what_to_do(capsys):
    code, out, err = run(capsys, "library")
    assert (code, err) == (0, "") and "run 'civitai-companion scan'" in out
    assert run(capsys, "library", "--json")[1] == "[]\n"
    with pytest.raises(SystemExit) as stopped:
        main(["library", "--status", "nonsense"])
    assert stopped.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_sidecars_asked_for_later_are_written_then_never_asked_again(fake_civitai, capsys, tmp_path):
    library_of(fake_civitai, tmp_path, n=1)
    assert run(capsys, "scan", str(tmp_path), "--no-sidecars", "--no-updates")[0] == 0
    assert not (tmp_path / "l0.civitai.info").exists()
    fake_civitai.clear_requests()

    assert run(capsys, "scan", str(tmp_path), "--no-updates", "--no-previews")[0] == 0  # now with sidecars

    assert (tmp_path / "l0.civitai.info").is_file() and (tmp_path / "l0.json").is_file()
    assert len(api_requests(fake_civitai, "model-versions/by-hash")) == 1  # the version body they need
    fake_civitai.clear_requests()
    assert run(capsys, "scan", str(tmp_path), "--no-updates", "--no-previews")[0] == 0
    assert fake_civitai.requests == []


def test_a_scan_given_an_empty_index_records_into_it(fake_civitai, client, tmp_path):
    library_of(fake_civitai, tmp_path / "lib", n=1)
    with LibraryIndex(tmp_path / "given.sqlite") as given:
        assert len(given) == 0  # empty, so falsy: it must still be the index the scan writes
        scan(entries_for_paths([tmp_path / "lib"]), client=client, previews=False, folders=[tmp_path / "lib"],
             index=given)
        assert [r["status"] for r in given.rows()] == ["resolved", "unknown"]
