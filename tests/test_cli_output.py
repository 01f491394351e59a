"""Tables: whole values when piped, descriptions cut before paths and URLs in a terminal, wide characters
counted as the terminal shows them."""

from __future__ import annotations

import pytest

from civitai_companion.cli import main, output
from civitai_companion.cli.output import print_table, width


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


LONG_URL = "https://image.civitai.com/xG1nkqKTMzGDvpLrqFT7WA/" + "a" * 60 + "/width=450/1234.jpeg"
LONG_PATH = "models/Lora/some/deep/folder/" + "A_Very_Long_Model_File_Name_" * 3 + ".safetensors"


def test_piped_tables_print_whole_urls_and_paths_however_narrow_the_terminal(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    print_table(("ID", "USER", "URL"), [(1, "someone with a long name " * 3, LONG_URL)], cuttable=(1,))
    print_table(("FILE", "MODEL"), [(LONG_PATH, "a model name " * 5)], cuttable=(1,), cut_left=(0,))
    out = capsys.readouterr().out
    assert LONG_URL in out and LONG_PATH in out and "…" not in out


def test_search_and_scan_output_piped_is_not_cut(fake_civitai, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("COLUMNS", "40")
    name = "An Extremely Long Model Name That Would Never Fit In Forty Columns"
    model = fake_civitai.add_model(name=name, file_sizes=(5000,))
    code, out, _ = run(capsys, "search", "--ids", str(model["id"]))
    assert code == 0 and name in out and "…" not in out
    file = model["modelVersions"][0]["files"][0]
    target = tmp_path / "loras" / ("deep_" * 12) / file["name"]
    target.parent.mkdir(parents=True)
    target.write_bytes(fake_civitai.file_bytes(file["id"]))
    code, out, _ = run(capsys, "scan", str(tmp_path), "--no-sidecars", "--no-updates")
    assert code == 0 and str(target) in out and "…" not in out  # outside the cwd: the whole absolute path


def test_in_a_terminal_descriptions_give_room_before_urls(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setattr(output, "_is_terminal", lambda: True)
    print_table(("ID", "USER", "URL"), [(1, "someone with a long name " * 3, LONG_URL)], cuttable=(1,))
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].endswith(LONG_URL)  # never cut, even when the line is too wide for it
    assert "…" in lines[1].split(LONG_URL)[0]  # the user name was cut instead


def test_in_a_terminal_a_path_is_cut_from_the_left_and_keeps_its_file_name(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "90")
    monkeypatch.setattr(output, "_is_terminal", lambda: True)
    print_table(("STATUS", "FILE", "MODEL"), [("resolved", LONG_PATH, "Model")], cuttable=(2,), cut_left=(1,))
    cell = capsys.readouterr().out.splitlines()[1].split()[1]
    assert cell.startswith("…/") and cell.endswith("/" + LONG_PATH.rsplit("/", 1)[1])


@pytest.mark.parametrize("text, columns", [("abc", 3), ("🦊 Fox", 6), ("狐狸", 4), ("é", 1), ("e\u0301", 1)])
def test_width_counts_terminal_columns(text, columns):
    assert width(text) == columns


def test_wide_characters_do_not_shift_the_columns(capsys):
    print_table(("NAME", "TYPE", "ID"), [("🦊 Fox", "LORA", 1), ("狐狸 two", "LORA", 2), ("plain", "LORA", 3)])
    lines = capsys.readouterr().out.splitlines()
    starts = {width(line.split("LORA")[0]) for line in lines[1:]}
    assert len(starts) == 1 and width(lines[0].split("TYPE")[0]) in starts


def test_a_cut_wide_name_still_fits_its_column(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "20")
    monkeypatch.setattr(output, "_is_terminal", lambda: True)
    print_table(("NAME", "ID"), [("🦊🦊🦊🦊🦊🦊🦊🦊🦊🦊🦊🦊", 1), ("x", 2)], cuttable=(0,))
    lines = capsys.readouterr().out.splitlines()
    assert all(width(line) <= 20 for line in lines)
    assert width(lines[1].rsplit(" ", 1)[0].rstrip()) <= 17 and lines[1].endswith("1")
