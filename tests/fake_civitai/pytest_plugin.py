"""pytest fixtures for the fake Civitai; register with `pytest_plugins = ["tests.fake_civitai.pytest_plugin"]`."""

from __future__ import annotations

import pytest

from .server import FakeCivitai


@pytest.fixture
def fake_civitai():
    """A fresh, started fake per test (building and starting it takes well under a second)."""
    with FakeCivitai() as fake:
        yield fake


@pytest.fixture
def fake_civitai_env(fake_civitai, monkeypatch, tmp_path):
    """The fake plus the environment the project reads: base URL, token and a private state dir."""
    monkeypatch.setenv("CIVITAI_BASE_URL", fake_civitai.url)
    monkeypatch.setenv("CIVITAI_API_TOKEN", fake_civitai.token)
    monkeypatch.delenv("CIVITAI_API_KEY", raising=False)
    monkeypatch.setenv("CIVITAI_COMPANION_HOME", str(tmp_path / "civitai-companion-home"))
    return fake_civitai
