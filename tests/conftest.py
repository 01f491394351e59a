"""Guards every test: no request without a timeout, no connection off this machine, a private state dir."""

from __future__ import annotations

import ipaddress
import socket

import pytest
import requests


def _is_local(address) -> bool:
    if isinstance(address, tuple):
        host = address[0]
    else:  # unix sockets and the like
        return True
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _guard_network(monkeypatch):
    """Fail any test that tries to reach a non-loopback address (tests never touch the internet)."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
            raise AssertionError(f"test tried to connect to {address!r}")
        return real_connect(self, address)

    def connect_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
            raise AssertionError(f"test tried to connect to {address!r}")
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


@pytest.fixture(autouse=True)
def _require_timeouts(monkeypatch):
    """DESIGN: every wait is bounded. A request sent without a timeout fails the test."""
    real_send = requests.Session.send

    def send(self, request, **kwargs):
        if kwargs.get("timeout") is None:
            raise AssertionError(f"request without a timeout: {request.method} {request.url}")
        return real_send(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", send)


@pytest.fixture(autouse=True)
def _private_state(tmp_path_factory, monkeypatch):
    """A fresh state dir and config dir per test; no token or base URL leaks in from the developer's shell."""
    home = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("CIVITAI_COMPANION_HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
    monkeypatch.setenv("CIVITAI_DISABLE_PROGRESS_BARS", "1")
    for name in ("CIVITAI_API_TOKEN", "CIVITAI_API_KEY", "CIVITAI_BASE_URL", "CIVITAI_COMPANION_MODELS"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return home


@pytest.fixture
def fake_civitai(monkeypatch):
    """A fresh fake Civitai (API + storage servers on 127.0.0.1) with CIVITAI_BASE_URL pointed at it."""
    from tests.fake_civitai import FakeCivitai

    with FakeCivitai() as fake:
        monkeypatch.setenv("CIVITAI_BASE_URL", fake.url)
        yield fake
