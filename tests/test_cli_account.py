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


def test_forget_without_a_saved_token_says_so(capsys, monkeypatch):
    code, out, err = run(capsys, monkeypatch, "token", "--forget")
    assert (code, out, err) == (0, "no saved token\n", "")


def test_forget_json_is_a_json_document(capsys, monkeypatch):
    config.save_token("x")
    code, out, err = run(capsys, monkeypatch, "token", "--forget", "--json")
    assert code == 0, err
    assert json.loads(out) == {"path": str(config.token_file()), "removed": True}


def test_a_rejected_saved_token_points_at_the_token_file(fake_civitai, capsys, monkeypatch):
    config.save_token("stale-saved-key")
    code, out, err = run(capsys, monkeypatch, "me")
    assert code == 1 and err.startswith("error: unauthorized") and len(err.splitlines()) == 1
    assert str(config.token_file()) in err and "civitai-companion token" in err
    assert "CIVITAI_API_TOKEN" not in err and "stale-saved-key" not in err + out


def test_a_rejected_token_from_the_environment_points_at_the_variable(fake_civitai, capsys, monkeypatch):
    config.save_token(fake_civitai.token)  # the variable wins over the file, so the variable is to blame
    monkeypatch.setenv("CIVITAI_API_KEY", "stale-env-key")
    code, out, err = run(capsys, monkeypatch, "me")
    assert code == 1 and "check CIVITAI_API_KEY" in err and "stale-env-key" not in err + out


def test_a_rejected_new_key_is_blamed_on_the_key_typed(fake_civitai, capsys, monkeypatch):
    monkeypatch.setenv("CIVITAI_API_TOKEN", fake_civitai.token)
    code, out, err = run(capsys, monkeypatch, "token", stdin="wrong-key\n")
    assert code == 1 and err.startswith("error: unauthorized") and "CIVITAI_API_TOKEN" not in err
    assert "not saved" in err and "wrong-key" not in err + out
