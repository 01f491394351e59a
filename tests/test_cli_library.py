"""hash, scan, updates and triggers end to end against the fake Civitai server."""

from __future__ import annotations

import json
import os

import pytest

from civitai_companion.api import CivitaiClient
from civitai_companion.cli import library as cli_library
from civitai_companion.cli import main
from civitai_companion.cli import output
from civitai_companion.cli.output import print_table
from civitai_companion.library.sidecars import existing_previews
from tests.fake_civitai import make_safetensors

RESOLVED_KEYS = {"path", "sha256", "status", "modelId", "modelVersionId", "modelName", "versionName", "type",
                 "baseModel", "trainedWords", "kind", "preview"}


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
    assert set(rows["pjx.safetensors"]) == RESOLVED_KEYS | {"newerVersionId", "newerVersionName"}
    assert rows["pjx.safetensors"]["modelVersionId"] == old["id"]
    assert rows["pjx.safetensors"]["newerVersionId"] == lora["modelVersions"][0]["id"]
    assert rows["pjx.safetensors"]["trainedWords"] == ["pjx, glow"]
    assert rows["pjx.safetensors"]["sha256"] == old["files"][0]["hashes"]["SHA256"]
    assert rows["own.pt"] == {"path": str(root / "embeddings" / "own.pt"), "status": "unknown",
                              "sha256": rows["own.pt"]["sha256"], "kind": "embedding", "preview": None}
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


def test_triggers_uses_the_activation_text_the_user_edited(fake_civitai, capsys, tmp_path):
    lora = fake_civitai.add_model(name="Edit Lora", trained_words=["civitai word"])
    install(fake_civitai, tmp_path / "edit.safetensors", lora)
    assert run(capsys, "scan", str(tmp_path), "--no-previews")[0] == 0
    assert run(capsys, "triggers", str(tmp_path / "edit.safetensors"))[1] == "<lora:edit:1> civitai word\n"
    user = json.loads((tmp_path / "edit.json").read_text())
    (tmp_path / "edit.json").write_text(json.dumps({**user, "activation text": "my word", "preferred weight": 0.5}))
    code, out, err = run(capsys, "triggers", str(tmp_path / "edit.safetensors"))
    assert (code, out) == (0, "<lora:edit:0.5> my word\n"), err
    document = json.loads(run(capsys, "triggers", str(tmp_path / "edit.safetensors"), "--json")[1])
    assert (document["trainedWords"], document["activationText"]) == (["civitai word"], "my word")


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
    assert all(r["sha256"] and "refused the connection" in r["error"] for r in rows)
    assert err.count("\n") == 1 and err.startswith("error: 3 files: 127.0.0.1:9 refused the connection")
    assert "Traceback" not in err


def test_scan_of_a_missing_root_is_a_one_line_error(capsys, tmp_path):
    code, out, err = run(capsys, "scan", "--host", "comfyui", "--root", str(tmp_path / "nope"))
    assert (code, out) == (1, "")
    assert err == f"error: no such folder: {tmp_path / 'nope'}\n"


def test_hash_errors_read_like_sentences(capsys, tmp_path):
    code, out, err = run(capsys, "hash", str(tmp_path / "nope.bin"), str(tmp_path), "--json")
    assert code == 1
    assert [row["error"] for row in json.loads(out)] == [
        f"{tmp_path / 'nope.bin'} does not exist", f"{tmp_path} is a folder, not a file"]
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
    [preview] = existing_previews(tmp_path / "p.safetensors")
    assert preview.read_bytes() != mine and preview.stat().st_size > len(mine)
    [aside] = tmp_path.glob("p.preview.png.replaced-*")
    assert aside.read_bytes() == mine


def test_replace_previews_moves_the_users_png_aside_and_says_so(fake_civitai, capsys, tmp_path):
    lora = fake_civitai.add_model(name="Png Lora")
    install(fake_civitai, tmp_path / "one.safetensors", lora)
    mine = b"\x89PNG\r\n\x1a\n my own picture"
    (tmp_path / "one.png").write_bytes(mine)
    code, out, err = run(capsys, "scan", str(tmp_path), "--no-updates", "--replace-previews")
    assert code == 0, err
    [shown] = existing_previews(tmp_path / "one.safetensors")  # A1111 shows <name>.png first: it must be gone
    assert shown.name.startswith("one.preview.")
    [aside] = tmp_path.glob("one.png.replaced-*")
    assert aside.read_bytes() == mine
    assert "one.png" in err and aside.name in err


def test_scan_host_forge_writes_flux_and_fixes_what_an_a1111_scan_wrote(fake_civitai, capsys, tmp_path):
    root = tmp_path / "webui"
    flux = fake_civitai.add_model(name="Flux Lora", base_model="Flux.1 D")
    install(fake_civitai, root / "models" / "Lora" / "f.safetensors", flux)
    sidecar = root / "models" / "Lora" / "f.json"
    assert run(capsys, "scan", "--host", "a1111", "--root", str(root), "--no-previews")[0] == 0
    assert json.loads(sidecar.read_text())["sd version"] == "Unknown"
    code, out, err = run(capsys, "scan", "--host", "forge", "--root", str(root), "--no-previews", "--json")
    assert code == 0, err
    assert [row["status"] for row in json.loads(out)] == ["resolved"]
    assert json.loads(sidecar.read_text())["sd version"] == "Flux"


def test_scan_has_one_way_to_say_forge(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["scan", "--forge"])
    assert exited.value.code == 2 and "unrecognized arguments: --forge" in capsys.readouterr().err


def test_scan_table_shows_paths_from_the_root_and_keeps_the_file_name(fake_civitai, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setattr(output, "_is_terminal", lambda: True)
    root = tmp_path / "webui"
    ckpt = fake_civitai.add_model(name="Amber Fox Checkpoint", type="Checkpoint")
    lora = fake_civitai.add_model(name="Short")
    name = "Amber_Fox_Checkpoint_v1_with_a_really_long_name.safetensors"
    install(fake_civitai, root / "models" / "Stable-diffusion" / name, ckpt)
    install(fake_civitai, root / "models" / "Lora" / "s.safetensors", lora)
    code, out, err = run(capsys, "scan", "--host", "a1111", "--root", str(root), "--no-sidecars", "--no-updates")
    assert code == 0, err
    assert str(tmp_path) not in out
    rows = {line.split()[1].rsplit("/", 1)[-1]: line.split()[1] for line in out.splitlines()[1:-1]}
    assert rows["s.safetensors"] == "models/Lora/s.safetensors"
    assert rows[name].startswith("…/") and rows[name].endswith("/" + name)  # cut on the left, never the name
    assert all(len(line) <= 120 for line in out.splitlines()[:-1])


def test_print_table_cuts_path_columns_from_the_left_but_never_the_file_name(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "30")
    monkeypatch.setattr(output, "_is_terminal", lambda: True)
    print_table(("FILE", "X"), [("models/Stable-diffusion/Amber_Fox.safetensors", "y")], cut_left=(0,))
    print_table(("FILE", "X"), [("Amber_Fox_Checkpoint_v1_extra_long.safetensors", "y")], cut_left=(0,))
    print_table(("NAME", "X"), [("Amber_Fox_Checkpoint_v1_extra_long.safetensors", "y")], cuttable=(0,))
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "…/Amber_Fox.safetensors".ljust(27) + "  y"  # 30 columns: 27 + 2 + 1
    assert lines[3] == "Amber_Fox_Checkpoint_v1_extra_long.safetensors  y"  # too wide, but whole
    assert lines[5] == "Amber_Fox_Checkpoint_v1_ex…  y"  # a description: cut on the right


def test_print_table_cuts_a_long_message_before_the_path(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(output, "_is_terminal", lambda: True)
    path = "models/Stable-diffusion/Amber_Fox_Checkpoint_v1.safetensors"
    print_table(("STATUS", "FILE", "MODEL"), [("error", path, "could not read the file: " + "x" * 100)],
                cuttable=(2,), cut_left=(1,))
    row = capsys.readouterr().out.splitlines()[1]
    assert len(row) == 80
    assert row.split()[1] == path and row.endswith("…")


@pytest.mark.parametrize("count, line", [
    (1, "no updates: the 1 model file Civitai knows is at its newest version"),
    (2, "no updates: the 2 model files Civitai knows are at their newest version"),
])
def test_updates_with_nothing_to_update_reads_well(fake_civitai, capsys, tmp_path, count, line):
    for i in range(count):
        install(fake_civitai, tmp_path / f"m{i}.safetensors", fake_civitai.add_model(name=f"Current {i}"))
    code, out, err = run(capsys, "updates", str(tmp_path))
    assert (code, out) == (0, line + "\n"), err


def test_updates_when_civitai_knows_no_file(fake_civitai, capsys, tmp_path):
    (tmp_path / "own.safetensors").write_bytes(make_safetensors(16, seed=31))
    code, out, err = run(capsys, "updates", str(tmp_path))
    assert (code, out) == (0, "no updates: no model file here was identified on Civitai\n"), err
    (tmp_path / "empty").mkdir()
    code, out, err = run(capsys, "updates", str(tmp_path / "empty"))
    assert (code, out) == (0, "no model files found\n"), err


def test_scan_reports_a_broken_link_as_an_error(fake_civitai, capsys, tmp_path):
    os.symlink(tmp_path / "deleted.safetensors", tmp_path / "link.safetensors")
    code, out, err = run(capsys, "scan", str(tmp_path), "--json")
    assert code == 1
    [row] = json.loads(out)
    assert row["status"] == "error" and row["error"].startswith("broken link") and "deleted" in row["error"]
    assert err == f"error: {tmp_path / 'link.safetensors'}: broken link to {tmp_path / 'deleted.safetensors'}\n"
