"""What the README says the command line prints is what it prints."""

from __future__ import annotations

import re
from pathlib import Path

from civitai_companion.cli import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(text: str) -> str:
    return " ".join(text.split())


def add_version(fake, name="Readme Lora"):
    model = fake.add_model(name=name, file_sizes=(20_000,))
    return model["id"], model["modelVersions"][0]["id"]


def test_the_already_there_wording_is_the_programs(fake_civitai, capsys, tmp_path):
    _, version_id = add_version(fake_civitai)
    argv = ("download", str(version_id), "--host", "standalone", "--root", str(tmp_path))
    assert run(capsys, *argv)[0] == 0
    code, out, _ = run(capsys, *argv)
    said = re.search(r"\(\S+ \S+, (.*)\)$", out.strip()).group(1)
    assert code == 0 and said == "already there with the same SHA-256, nothing downloaded"
    assert README.count(f"`{said}`") >= 1 and "already there (same SHA-256)" not in README
    assert "`PATH (SIZE, SHA-256 verified)`" in README


def test_the_bad_sidecar_name_is_the_programs(fake_civitai, capsys, tmp_path):
    model = fake_civitai.add_model(name="Bad Info", file_sizes=(5000,))
    file = model["modelVersions"][0]["files"][0]
    path = tmp_path / "loras" / file["name"]
    path.parent.mkdir()
    path.write_bytes(fake_civitai.file_bytes(file["id"]))
    info = path.with_name(path.name.removesuffix(".safetensors") + ".civitai.info")
    info.write_text("{not json")
    code, _, err = run(capsys, "scan", str(tmp_path), "--no-previews", "--no-updates")
    assert code == 0, err
    moved = [p.name for p in path.parent.iterdir() if ".bad-" in p.name]
    assert len(moved) == 1 and re.fullmatch(re.escape(info.name) + r"\.bad-\d{8}-\d{6}", moved[0])
    assert "`<file>.bad-<YYYYMMDD-HHMMSS>`" in README


def test_what_show_and_version_print_is_what_the_readme_says(fake_civitai, capsys):
    model_id, version_id = add_version(fake_civitai)
    _, shown, _ = run(capsys, "show", str(model_id))
    _, version, _ = run(capsys, "version", str(version_id))
    assert "VERSION  NAME  BASE MODEL  PUBLISHED" in shown and "TRAINED WORDS" in shown
    assert re.search(r"FILE +NAME +TYPE +FORMAT +FP +SIZE +SHA256", version)
    text = one_line(README)
    assert "`show` prints the model and a table of its versions" in text
    assert "`version`/`lookup` print the version and a table of its files" in text
    assert "`show`/`version` list the file ids" not in text


def test_the_quoted_usage_errors_are_the_programs(fake_civitai, capsys):
    _, _, err = run(capsys, "search", "--type", "lora")
    quoted = "error: argument --type: unknown model type 'lora'; did you mean LORA?"
    assert err.startswith(quoted) and f"`{quoted}`" in one_line(README)


def test_the_quoted_mismatch_error_has_the_programs_shape(fake_civitai, capsys, tmp_path):
    named, _ = add_version(fake_civitai, name="Named")
    owner, version_id = add_version(fake_civitai, name="Its Name")
    code, _, err = run(capsys, "download", f"civitai:{named}@{version_id}", "--host", "standalone",
                       "--root", str(tmp_path))
    shape = (f"'civitai:{named}@{version_id}' names model {named}, but version {version_id} belongs to model "
             f"{owner}, Its Name (to download that version, give its id alone: {version_id})")
    assert code == 1 and err == f"error: {shape}\n"
    quoted = "'civitai:123@456' names model 123, but version 456 belongs to model 789, Its Name (to download that " \
             "version, give its id alone: 456)"
    assert quoted in one_line(README)
