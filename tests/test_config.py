import os
import stat

import pytest

from civitai_companion import config


def test_base_url_default_and_env_read_when_used(monkeypatch):
    assert config.base_url() == "https://civitai.com"
    monkeypatch.setenv("CIVITAI_BASE_URL", "https://civitai.red/")
    assert config.base_url() == "https://civitai.red"
    assert config.base_url("http://127.0.0.1:9") == "http://127.0.0.1:9"


def test_token_precedence(monkeypatch):
    config.save_token("from-file")
    assert config.api_token() == "from-file"
    monkeypatch.setenv("CIVITAI_API_KEY", "from-key")
    assert config.api_token() == "from-key"
    monkeypatch.setenv("CIVITAI_API_TOKEN", "from-token")
    assert config.api_token() == "from-token"
    assert config.api_token("explicit") == "explicit"


def test_token_file_is_private():
    path = config.save_token("secret")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.skipif(os.name != "posix", reason="permission bits are POSIX")
def test_token_file_readable_by_others_is_ignored(caplog):
    path = config.save_token("secret")
    os.chmod(path, 0o644)
    assert config.api_token() is None
    assert "chmod 600" in caplog.text
    assert "secret" not in caplog.text


def test_home_dir_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("CIVITAI_COMPANION_HOME", str(tmp_path / "h"))
    assert config.home_dir() == tmp_path / "h"


def test_progress_flag(monkeypatch):
    monkeypatch.setenv("CIVITAI_DISABLE_PROGRESS_BARS", "0")
    assert not config.progress_disabled()
    monkeypatch.setenv("CIVITAI_DISABLE_PROGRESS_BARS", "1")
    assert config.progress_disabled()
