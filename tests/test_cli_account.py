"""``token`` saves a checked API key with mode 0600; ``me`` shows whose it is."""

from __future__ import annotations

import io
import json
import stat

from civitai_companion import config
from civitai_companion.cli import main


def run(capsys, monkeypatch, *argv, stdin=""):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_token_is_checked_saved_private_and_then_used(fake_civitai, capsys, monkeypatch):
    code, out, err = run(capsys, monkeypatch, "token", stdin=fake_civitai.token + "\n")
    assert code == 0, err
    path = config.token_file()
    assert path.read_text().strip() == fake_civitai.token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert fake_civitai.token not in out
    code, out, err = run(capsys, monkeypatch, "me", "--json")
    assert code == 0, err
    assert json.loads(out)["username"] == fake_civitai.me["username"]


def test_a_rejected_token_is_not_saved_nor_shown(fake_civitai, capsys, monkeypatch):
    code, out, err = run(capsys, monkeypatch, "token", stdin="wrong-key\n")
    assert code == 1 and err.startswith("error: unauthorized")
    assert "wrong-key" not in err + out
    assert not config.token_file().exists()


def test_forget_removes_the_file(fake_civitai, capsys, monkeypatch):
    config.save_token("x")
    code, _, _ = run(capsys, monkeypatch, "token", "--forget")
    assert code == 0 and not config.token_file().exists()


def test_me_without_a_token_says_how_to_get_one(fake_civitai, capsys, monkeypatch):
    code, _, err = run(capsys, monkeypatch, "me")
    assert code == 1 and "civitai-companion token" in err and len(err.splitlines()) == 1


def test_empty_input_is_an_error(capsys, monkeypatch):
    code, _, err = run(capsys, monkeypatch, "token", "--no-check", stdin="\n")
    assert code == 1 and err == "error: no token given\n"
