"""hash, scan, updates and triggers end to end against the fake Civitai server."""

from __future__ import annotations

import json

from civitai_companion.api import CivitaiClient
from civitai_companion.cli import library as cli_library
from civitai_companion.cli import main
from tests.fake_civitai import make_safetensors

RESOLVED_KEYS = {"path", "sha256", "status", "modelId", "modelVersionId", "modelName", "versionName", "type",
                 "baseModel", "trainedWords"}


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def install(fake, path, model, index=0):
    version = model["modelVersions"][index]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(fake.file_bytes(version["files"][0]["id"]))
    return version


def test_scan_json_a1111(fake_civitai, capsys, tmp_path):
    root = tmp_path / "webui"
    lora = fake_civitai.add_model(name="Json Lora", versions=2, base_model="Pony", trained_words=["pjx, glow"])
    old = install(fake_civitai, root / "models" / "Lora" / "pjx.safetensors", lora, index=1)
    (root / "embeddings").mkdir(parents=True)
    (root / "embeddings" / "own.pt").write_bytes(b"my own embedding")

    code, out, err = run(capsys, "scan", "--host", "a1111", "--root", str(root), "--json", "--no-previews")

    assert code == 0, err
    rows = {r["path"].rsplit("/", 1)[1]: r for r in json.loads(out)}
    assert set(rows["pjx.safetensors"]) == RESOLVED_KEYS | {"newerVersionId"}
    assert rows["pjx.safetensors"]["modelVersionId"] == old["id"]
    assert rows["pjx.safetensors"]["newerVersionId"] == lora["modelVersions"][0]["id"]
    assert rows["pjx.safetensors"]["trainedWords"] == ["pjx, glow"]
    assert rows["pjx.safetensors"]["sha256"] == old["files"][0]["hashes"]["SHA256"]
    assert rows["own.pt"] == {"path": str(root / "embeddings" / "own.pt"), "status": "unknown",
                              "sha256": rows["own.pt"]["sha256"]}
    assert json.loads((root / "models" / "Lora" / "pjx.json").read_text())["sd version"] == "SDXL"


def test_scan_defaults_to_the_standalone_layout(fake_civitai, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("CIVITAI_COMPANION_MODELS", str(tmp_path / "lib"))
    ckpt = fake_civitai.add_model(name="Standalone Ckpt", type="Checkpoint")
    install(fake_civitai, tmp_path / "lib" / "checkpoints" / "s.safetensors", ckpt)
    code, out, err = run(capsys, "scan", "--json", "--no-sidecars", "--no-updates")
    assert code == 0, err
    [row] = json.loads(out)
    assert (row["status"], row["type"], row["modelId"]) == ("resolved", "Checkpoint", ckpt["id"])
    assert "newerVersionId" not in row
    assert sorted(p.name for p in (tmp_path / "lib" / "checkpoints").iterdir()) == ["s.safetensors"]


def test_scan_table_and_error_exit_code(fake_civitai, capsys, tmp_path):
    lora = fake_civitai.add_model(name="Table Lora")
    install(fake_civitai, tmp_path / "t.safetensors", lora)
    code, out, err = run(capsys, "scan", str(tmp_path / "t.safetensors"), str(tmp_path / "missing.safetensors"),
                         "--no-sidecars")
    assert code == 1
    lines = out.strip().splitlines()
    assert lines[0].split()[:3] == ["STATUS", "FILE", "MODEL"]
    assert any(line.startswith("resolved") and "Table Lora" in line for line in lines)
    assert any(line.startswith("error") and "no such file" in line for line in lines)
    assert lines[-1] == "2 files: 1 resolved, 0 unknown, 1 error (2 API requests)"  # by-hash, /models?ids=


def test_hash_json_keys_are_civitais(fake_civitai, capsys, tmp_path):
    model = fake_civitai.add_model(name="Big Hash", file_sizes=(2_300_000,))
    version = install(fake_civitai, tmp_path / "big.safetensors", model)
    code, out, err = run(capsys, "hash", str(tmp_path / "big.safetensors"), "--json")
    assert code == 0, err
    [row] = json.loads(out)
    assert row["path"] == str(tmp_path / "big.safetensors")
    assert row["hashes"] == version["files"][0]["hashes"]
    assert set(row["hashes"]) == {"SHA256", "AutoV1", "AutoV2", "AutoV3", "CRC32", "BLAKE3"}


def test_hash_missing_file_fails_with_one_line(capsys, tmp_path):
    (tmp_path / "ok.bin").write_bytes(b"hello world")
    code, out, err = run(capsys, "hash", str(tmp_path / "ok.bin"), str(tmp_path / "nope.bin"))
    assert code == 1
    assert "CRC32" in out and "85114A0D" in out
    assert err.count("\n") == 1 and "nope.bin" in err


def test_updates_json_lists_only_outdated(fake_civitai, capsys, tmp_path):
    two = fake_civitai.add_model(name="Two Versions", versions=2)
    one = fake_civitai.add_model(name="One Version")
    old = install(fake_civitai, tmp_path / "old.safetensors", two, index=1)
    install(fake_civitai, tmp_path / "cur.safetensors", one)
    code, out, err = run(capsys, "updates", str(tmp_path), "--json")
    assert code == 0, err
    [row] = json.loads(out)
    assert (row["modelVersionId"], row["newerVersionId"]) == (old["id"], two["modelVersions"][0]["id"])
    assert row["newerVersionName"] == two["modelVersions"][0]["name"]
    assert not list(tmp_path.glob("*.civitai.info"))  # updates writes no sidecars


def test_triggers_from_sidecars_without_network(fake_civitai, capsys, tmp_path):
    lora = fake_civitai.add_model(name="Trig Lora", trained_words=["trig, Trig", "glow"])
    install(fake_civitai, tmp_path / "trig.safetensors", lora)
    assert run(capsys, "scan", str(tmp_path), "--no-previews")[0] == 0
    (tmp_path / "trig.json").write_text(
        json.dumps({**json.loads((tmp_path / "trig.json").read_text()), "preferred weight": 0.6}))
    fake_civitai.clear_requests()
    code, out, err = run(capsys, "triggers", str(tmp_path / "trig.safetensors"))
    assert code == 0, err
    assert out == "<lora:trig:0.6> trig, glow\n"
    assert not fake_civitai.requests_to("api")


def test_triggers_looks_up_a_file_without_sidecars(fake_civitai, capsys, tmp_path):
    emb = fake_civitai.add_model(name="Neg Emb", type="TextualInversion", trained_words=["negemb"])
    install(fake_civitai, tmp_path / "negemb.safetensors", emb)
    code, out, err = run(capsys, "triggers", str(tmp_path / "negemb.safetensors"), "--syntax", "comfyui", "--json")
    assert code == 0, err
    assert json.loads(out)["prompt"] == "embedding:negemb, negemb"


def test_triggers_unknown_file_is_a_one_line_error(fake_civitai, capsys, tmp_path):
    (tmp_path / "x.safetensors").write_bytes(make_safetensors(16, seed=11))
    code, out, err = run(capsys, "triggers", str(tmp_path / "x.safetensors"))
    assert code == 1 and out == ""
    assert err.startswith("error: x.safetensors is not on Civitai") and err.count("\n") == 1


def test_scan_without_network_reports_each_file_and_one_line_per_reason(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(cli_library, "make_client", lambda args: CivitaiClient(base_url=args.base_url,
                                                                                sleep=lambda _s: None))
    for i in range(3):
        (tmp_path / f"m{i}.safetensors").write_bytes(make_safetensors(16, seed=20 + i))
    code, out, err = run(capsys, "scan", str(tmp_path), "--json", "--base-url", "http://127.0.0.1:9")
    assert code == 1
    rows = json.loads(out)
    assert [r["status"] for r in rows] == ["error"] * 3
    assert all(r["sha256"] and "connection failed" in r["error"] for r in rows)
    assert err.count("\n") == 1 and err.startswith("error: 3 files: connection failed")
    assert "Traceback" not in err


def test_scan_of_a_missing_root_is_a_one_line_error(capsys, tmp_path):
    code, out, err = run(capsys, "scan", "--host", "comfyui", "--root", str(tmp_path / "nope"))
    assert (code, out) == (1, "")
    assert err == f"error: no such folder: {tmp_path / 'nope'}\n"


def test_hash_errors_read_like_sentences(capsys, tmp_path):
    code, out, err = run(capsys, "hash", str(tmp_path / "nope.bin"), str(tmp_path), "--json")
    assert code == 1
    assert [row["error"] for row in json.loads(out)] == [
        f"No such file or directory: {tmp_path / 'nope.bin'}", f"Is a directory: {tmp_path}"]
    assert "[Errno" not in err and err.count("\n") == 2


def test_triggers_of_a_folder_is_a_one_line_error(capsys, tmp_path):
    code, out, err = run(capsys, "triggers", str(tmp_path))
    assert (code, out) == (1, "")
    assert err.startswith("error: ") and "folder" in err and err.count("\n") == 1


def test_scan_keeps_the_users_preview_unless_asked_to_replace_it(fake_civitai, capsys, tmp_path):
    lora = fake_civitai.add_model(name="Preview Lora")
    install(fake_civitai, tmp_path / "p.safetensors", lora)
    mine = b"\x89PNG\r\n\x1a\n my own picture"
    (tmp_path / "p.preview.png").write_bytes(mine)
    assert run(capsys, "scan", str(tmp_path), "--no-updates")[0] == 0
    assert (tmp_path / "p.preview.png").read_bytes() == mine
    assert run(capsys, "scan", str(tmp_path), "--no-updates", "--replace-previews")[0] == 0
    [preview] = tmp_path.glob("p.preview.*")
    assert preview.read_bytes() != mine and preview.stat().st_size > len(mine)
