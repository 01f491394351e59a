"""The app served for real (uvicorn on 127.0.0.1, a free port) against the fake Civitai, for route tests."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from civitai_companion.app.routes import API_PREFIX

POLLS = 3000  # rounds of 10 ms: a bound on waiting, not a speed assertion


def wait(fetch, done):
    """``fetch()`` again every 10 ms until ``done(value)``; fails with the last value after POLLS rounds."""
    pause = threading.Event()
    value = None
    for _ in range(POLLS):
        value = fetch()
        if done(value):
            return value
        pause.wait(0.01)
    raise AssertionError(f"still waiting: {value}")


@dataclass
class RunningApp:
    url: str  # http://127.0.0.1:PORT
    service: Any
    server: Any
    thread: threading.Thread
    session: requests.Session

    @property
    def api(self) -> str:
        return self.url + API_PREFIX

    def request(self, method: str, path: str, **kw) -> requests.Response:
        kw.setdefault("timeout", 30)
        return self.session.request(method, f"{self.api}/{path}", **kw)

    def get(self, path: str, **kw) -> requests.Response:
        return self.request("GET", path, **kw)

    def send(self, method: str, path: str, body: Any = None, **kw) -> requests.Response:
        """A state-changing request as the page sends it: JSON, with the page's own Origin."""
        headers = {"Origin": self.url, **kw.pop("headers", {})}
        return self.request(method, path, json={} if body is None else body, headers=headers, **kw)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.session.close()


def start_app(service: Any, *, auth=None) -> RunningApp:
    import uvicorn

    from civitai_companion.app.asgi import create_app
    from civitai_companion.app.server import bind_socket

    sock = bind_socket("127.0.0.1", 0)
    app = create_app(service, auth=auth, page=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    server.install_signal_handlers = lambda: None  # not the main thread (uvicorn < 0.29 asks for this)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    started = threading.Event()
    while thread.is_alive() and not server.started:
        started.wait(0.01)
    if not server.started:
        raise RuntimeError("the app server did not start")
    session = requests.Session()
    session.trust_env = False
    return RunningApp(f"http://127.0.0.1:{sock.getsockname()[1]}", service, server, thread, session)


def make_service(tmp_path: Path, *, host: str = "comfyui", settings: dict | None = None, **kw):
    from civitai_companion.app.service import AppService, layout_factory_for
    from civitai_companion.app.settings import MemorySettingsStore

    root = tmp_path / host
    store = kw.pop("store", None) or MemorySettingsStore(settings)
    return AppService(layout_factory=layout_factory_for(host, str(root)), settings=store, host=host,
                      state_dir=str(tmp_path / "state"), **kw)


@pytest.fixture
def app(fake_civitai, monkeypatch, tmp_path):
    """The app (ComfyUI layout under tmp_path) served for real, against a fresh fake with a token set."""
    monkeypatch.setenv("CIVITAI_API_TOKEN", fake_civitai.token)
    service = make_service(tmp_path)
    running = start_app(service)
    try:
        yield running
    finally:
        running.stop()
        service.close()
