"""``civitai-companion ui`` as a user runs it: a real process, its URL, Ctrl-C, and a hard kill mid-download."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from civitai_companion.cli import build_parser
from tests.app_harness import wait

ROOT = Path(__file__).resolve().parents[1]


class UiProcess:
    def __init__(self, env: dict, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "civitai_companion", "ui", "--port", "0", *args],
                                     cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.first_line = self.proc.stdout.readline()
        assert "running at http://127.0.0.1:" in self.first_line, self.first_line + self.proc.stderr.read()
        self.url = self.first_line.split("running at ", 1)[1].split()[0].rstrip("/")
        self.session = requests.Session()
        self.session.trust_env = False

    def api(self, method: str, path: str, **kw) -> requests.Response:
        if method != "GET":
            kw.setdefault("json", {})
            kw.setdefault("headers", {"Origin": self.url})
        return self.session.request(method, f"{self.url}/civitai-companion/api/{path}", timeout=30, **kw)

    def stop(self, sig=signal.SIGINT) -> tuple[int, str]:
        self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=60)
        self.session.close()
        return self.proc.returncode, self.first_line + out + err


@pytest.fixture
def ui_env(fake_civitai, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVITAI_")}
    env.update(CIVITAI_BASE_URL=fake_civitai.url, CIVITAI_API_TOKEN=fake_civitai.token,
               CIVITAI_COMPANION_HOME=str(tmp_path / "state"), XDG_CONFIG_HOME=str(tmp_path / "config"),
               CIVITAI_DISABLE_PROGRESS_BARS="1", NO_PROXY="127.0.0.1,localhost",
               PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    return env


def test_ui_prints_its_url_serves_the_page_and_stops_on_ctrl_c(ui_env, tmp_path):
    ui = UiProcess(ui_env, "--host", "comfyui", "--root", str(tmp_path / "ComfyUI"))
    try:
        page = ui.session.get(ui.url + "/", timeout=30)
        assert page.status_code == 200 and "<civitai-companion" in page.text
        settings = ui.api("GET", "settings").json()
        assert settings["host"] == "comfyui" and settings["models_dir"] == str(tmp_path / "ComfyUI" / "models")
        port = ui.url.rsplit(":", 1)[1]
        assert ui.api("GET", "settings", headers={"Host": f"localhost:{port}"}).status_code == 200
        rebound = ui.api("GET", "settings", headers={"Host": f"evil.example:{port}"})  # DNS rebinding
        assert rebound.status_code == 400 and "token" not in rebound.text
    finally:
        code, output = ui.stop()
    assert code == 0 and output.rstrip().endswith("stopped"), output
    assert "Traceback" not in output


def test_ui_binds_loopback_unless_listen(ui_env):
    ui = UiProcess(ui_env)
    try:
        assert ui.url.startswith("http://127.0.0.1:")
    finally:
        ui.stop()
    args = build_parser().parse_args(["ui", "--listen"])
    assert args.listen and args.port == 7865 and not args.open


def test_ctrl_c_mid_download_leaves_it_queued_and_the_next_start_finishes_it(fake_civitai, ui_env, tmp_path):
    model = fake_civitai.add_model(name="Interrupted Lora", file_sizes=(2_000_000,))
    version, file = model["modelVersions"][0], model["modelVersions"][0]["files"][0]
    fake_civitai.set_fault(version["id"], "slow", delay=0.02)
    root = str(tmp_path / "ComfyUI")
    ui = UiProcess(ui_env, "--host", "comfyui", "--root", root)
    job = ui.api("POST", "downloads", json={"versionId": version["id"]}).json()["id"]
    wait(lambda: ui.api("GET", "downloads").json()[0], lambda d: d["bytes"] > 100_000)
    code, output = ui.stop(signal.SIGINT)
    assert code == 0 and "1 download(s) will resume" in output, output
    saved = json.loads((tmp_path / "state" / "downloads.json").read_text())
    assert saved["jobs"][0]["status"] == "pending"
    fake_civitai.clear_faults()
    again = UiProcess(ui_env, "--host", "comfyui", "--root", root)
    try:
        done = wait(lambda: again.api("GET", "downloads").json()[0], lambda d: d["state"] in ("done", "failed"))
    finally:
        again.stop()
    assert done["id"] == job and done["state"] == "done" and done["resumed"]
    assert hashlib.sha256(Path(done["path"]).read_bytes()).hexdigest().upper() == file["hashes"]["SHA256"]


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_a_killed_server_resumes_its_queue_and_never_places_a_corrupt_file(fake_civitai, ui_env, tmp_path):
    model = fake_civitai.add_model(name="Killed Lora", file_sizes=(2_000_000,))
    version, file = model["modelVersions"][0], model["modelVersions"][0]["files"][0]
    fake_civitai.set_fault(version["id"], "slow", delay=0.02)
    root = tmp_path / "ComfyUI"
    ui = UiProcess(ui_env, "--host", "comfyui", "--root", str(root))
    ui.api("POST", "downloads", json={"versionId": version["id"]})
    wait(lambda: ui.api("GET", "downloads").json()[0], lambda d: d["bytes"] > 100_000)
    ui.stop(signal.SIGKILL)
    loras = root / "models" / "loras"
    assert not (loras / file["name"]).exists()  # only the .part: never a half file under the real name
    assert list(loras.glob("*.part"))
    fake_civitai.clear_faults()
    fake_civitai.clear_requests()
    again = UiProcess(ui_env, "--host", "comfyui", "--root", str(root))
    try:
        done = wait(lambda: again.api("GET", "downloads").json()[0], lambda d: d["state"] in ("done", "failed"))
    finally:
        again.stop()
    assert done["state"] == "done" and done["resumed"], done
    assert hashlib.sha256((loras / file["name"]).read_bytes()).hexdigest().upper() == file["hashes"]["SHA256"]
    ranges = [r.headers.get("Range") for r in fake_civitai.requests_to("storage")]
    assert any(value and not value.startswith("bytes=0-") for value in ranges)


def test_ui_without_the_app_extra_says_how_to_get_it(monkeypatch, capsys):
    import builtins

    from civitai_companion.cli import main

    real_import = builtins.__import__

    def no_uvicorn(name, *args, **kw):
        if name == "uvicorn":
            raise ImportError("no uvicorn")
        return real_import(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", no_uvicorn)
    assert main(["ui", "--port", "0"]) == 1
    assert 'pip install "civitai-companion[app]"' in capsys.readouterr().err


def test_a_port_in_use_is_one_line(ui_env):
    import socket

    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    try:
        proc = subprocess.run([sys.executable, "-m", "civitai_companion", "ui", "--port", str(port)], cwd=ROOT,
                              env=ui_env, capture_output=True, text=True, timeout=60)
    finally:
        holder.close()
    assert proc.returncode == 1 and f"port {port} is already in use" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
