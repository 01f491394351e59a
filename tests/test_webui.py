"""The A1111/Forge adapter through the host shims: settings in shared.opts, the token kept out of them,
the login rule, list refreshes, the WebUI's hash cache, install.py. Gradio itself: tests/in_gradio/."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from civitai_companion.hosts import webui, webui_hashes
from civitai_companion.hosts.a1111 import A1111Layout
from civitai_companion.library.hash_cache import HashCache

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("civitai_test_shims", Path(__file__).parent / "shims" / "__init__.py")
shims = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(shims)

FAKE_GR = SimpleNamespace(Textbox="Textbox", CheckboxGroup="CheckboxGroup", Slider="Slider")


@pytest.fixture
def host(monkeypatch, tmp_path):
    shared, paths = shims.install_a1111(monkeypatch, tmp_path / "webui")
    os.makedirs(paths.data_path, exist_ok=True)
    monkeypatch.setattr(webui, "_service", None)
    webui.register_settings(shared=shared, gr=FAKE_GR)
    return shared


def test_settings_register_in_one_section(host):
    ours = {k: v for k, v in host.opts.data_labels.items() if k.startswith(webui.OPT)}
    assert set(ours) == {webui.OPT + key for key, _, _ in webui._option_specs()}
    assert {info.section for info in ours.values()} == {webui.SECTION}
    assert ours[webui.OPT + "token"].component_args["type"] == "password"
    assert host.opts.data[webui.OPT + "scan_on_start"] is False


def test_store_reads_and_writes_shared_opts(host):
    store = webui.OptsSettingsStore()
    store.save({"base_url": "http://127.0.0.1:9", "nsfw_level": 5, "folders": {"lora": "/x/loras"},
                "download_workers": 3, "write_sidecars": False})
    assert host.opts.data[webui.OPT + "nsfw_level"] == ["PG", "R"]
    assert host.opts.data[webui.OPT + "folders"] == "lora = /x/loras"
    saved = json.loads(Path(host.config_filename).read_text())
    assert saved[webui.OPT + "base_url"] == "http://127.0.0.1:9"
    loaded = store.load()
    assert loaded["nsfw_level"] == 5 and loaded["folders"] == {"lora": "/x/loras"}
    assert loaded["download_workers"] == 3 and loaded["write_sidecars"] is False


def test_token_from_settings_page_goes_to_a_private_file(host):
    assert host.opts.set(webui.OPT + "token", "abc123SECRET")
    assert host.opts.data[webui.OPT + "token"] == ""
    secrets = webui.OptsSettingsStore().secrets.path
    assert json.loads(secrets.read_text()) == {"token": "abc123SECRET"}
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert webui.OptsSettingsStore().load()["token"] == "abc123SECRET"
    host.opts.save(host.config_filename)
    assert "abc123SECRET" not in Path(host.config_filename).read_text()


def test_full_save_without_token_clears_it(host):
    store = webui.OptsSettingsStore()
    store.save({"token": "k1"})
    store.save({"base_url": ""})
    assert "token" not in store.load()


def test_settings_page_change_reaches_the_running_app(host, monkeypatch):
    seen = []
    monkeypatch.setattr(webui, "_service", SimpleNamespace(put_settings=lambda changes: seen.append(changes)))
    host.opts.set(webui.OPT + "preview_nsfw_level", ["PG", "PG-13"])
    host.opts.set(webui.OPT + "subfolder_template", " {baseModel} ")
    assert seen == [{"preview_nsfw_level": 3}, {"subfolder_template": "{baseModel}"}]


def test_bad_setting_is_refused_before_the_app_runs(host):
    with pytest.raises(Exception, match="subfolder_template"):
        host.opts.set(webui.OPT + "subfolder_template", "{nope}")


def test_key_left_in_config_json_moves_out(monkeypatch, tmp_path):
    shared, _ = shims.install_a1111(monkeypatch, tmp_path / "webui")
    monkeypatch.setattr(webui, "_service", None)
    shared.opts.data[webui.OPT + "token"] = "handwritten"
    webui.register_settings(shared=shared, gr=FAKE_GR)
    assert shared.opts.data[webui.OPT + "token"] == ""
    assert webui.OptsSettingsStore().load()["token"] == "handwritten"


def test_folder_lines_parse_and_bad_lines_are_skipped(caplog):
    assert webui.parse_folders("lora = D:\\loras\n# note\nnonsense\n vae=/v ") == {"lora": "D:\\loras", "vae": "/v"}
    assert "nonsense" in caplog.text


# -- the login rule ---------------------------------------------------------------------------------
class _Request:
    def __init__(self, headers=None, cookies=None):
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}
        self.cookies = cookies or {}


def _app(auth, users=None):
    def user(request):
        return (users or {}).get(request.cookies.get("access-token"))

    route = SimpleNamespace(path="/user", endpoint=user)
    return SimpleNamespace(auth=auth, router=SimpleNamespace(routes=[SimpleNamespace(path="/"), route]))


def _basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_no_login_means_open():
    assert webui.request_allowed(_app(None), _Request())


def test_login_session_is_checked_with_gradios_user_route():
    app = _app({"alice": "pw"}, users={"tok": "alice"})
    assert not webui.request_allowed(app, _Request())
    assert not webui.request_allowed(app, _Request(cookies={"access-token": "forged"}))
    assert webui.request_allowed(app, _Request(cookies={"access-token": "tok"}))


def test_login_without_a_user_route_refuses():
    app = SimpleNamespace(auth={"a": "b"}, router=SimpleNamespace(routes=[]))
    assert not webui.request_allowed(app, _Request(cookies={"access-token": "x"}))


def test_api_auth_for_machine_clients():
    app = _app({"alice": "pw"})
    assert webui.request_allowed(app, _Request(_basic("bot", "s3")), api_auth="x:y,bot:s3")
    assert not webui.request_allowed(app, _Request(_basic("bot", "nope")), api_auth="bot:s3")
    assert not webui.request_allowed(_app(None), _Request(_basic("bot", "nope")), api_auth="bot:s3")
    assert not webui.request_allowed(app, _Request({"Authorization": "Basic !!"}), api_auth="bot:s3")


# -- the WebUI's lists ---------------------------------------------------------------------------------
def test_refresh_after_download(host):
    from modules import shared_items, ui_extra_networks

    webui.refresh_lists("lora")
    webui.refresh_lists("vae")
    webui.refresh_lists("other")
    pages = {p.extra_networks_tabname: p.refreshed for p in ui_extra_networks.extra_pages}
    assert pages == {"lora": 1, "checkpoints": 0, "textual_inversion": 0, "hypernetworks": 0}
    assert shared_items.calls == ["vae"]


def test_refresh_failure_is_one_warning(host, monkeypatch, caplog):
    from modules import ui_extra_networks

    def broken():
        raise RuntimeError("page gone")

    monkeypatch.setattr(ui_extra_networks.extra_pages[3], "refresh", broken)
    webui.refresh_lists("lora")
    assert "page gone" in caplog.text and "refresh button" in caplog.text


# -- the WebUI's hash cache -----------------------------------------------------------------------------
def _model(host, folder, name, data=b"x" * 1000):
    from modules import paths

    path = Path(paths.models_path) / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_webui_hash_is_reused_only_when_it_still_describes_the_file(host):
    from modules import cache

    path = _model(host, "Stable-diffusion", "sub/model.safetensors")
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    hashes = cache.cache("hashes")
    hashes["checkpoint/sub/model.safetensors"] = {"mtime": path.stat().st_mtime, "sha256": sha}
    assert webui_hashes.read(path, "checkpoint") == {"SHA256": sha.upper()}
    hashes["checkpoint/sub/model.safetensors"] = {"mtime": path.stat().st_mtime - 5, "sha256": sha}
    assert webui_hashes.read(path, "checkpoint") == {}
    hashes["checkpoint/sub/model.safetensors"] = {"mtime": path.stat().st_mtime, "sha256": sha, "size": 3}
    assert webui_hashes.read(path, "checkpoint") == {}
    hashes["checkpoint/sub/model.safetensors"] = {"mtime": path.stat().st_mtime, "sha256": "not a hash"}
    assert webui_hashes.read(path, "checkpoint") == {}


def test_hash_of_the_file_name_is_refused(host):
    from modules import cache

    path = _model(host, "Lora", "style.pt")
    name_hash = hashlib.sha256(b"style.pt").hexdigest()
    cache.cache("hashes")["lora/style"] = {"mtime": path.stat().st_mtime, "sha256": name_hash}
    assert webui_hashes.read(path, "lora") == {}


def test_lora_safetensors_titles_differ_between_a1111_and_forge(tmp_path):
    path = tmp_path / "x.safetensors"
    assert webui_hashes.titles(path, "lora", forge=False) == [("hashes-addnet", "lora/x", "AddNet")]
    assert webui_hashes.titles(path, "lora", forge=True) == [("hashes-addnet", "lora/x", "SHA256")]
    assert webui_hashes.titles(tmp_path / "x.pt", "lora", forge=False) == [("hashes", "lora/x", "SHA256")]
    assert webui_hashes.titles(tmp_path / "e.pt", "embedding") == [("hashes", "textual_inversion/e", "SHA256")]


def _lora(host, name="style.safetensors"):
    """A small real safetensors file, with its whole-file SHA-256 and A1111's addnet hash."""
    header = b'{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}'
    tail = bytes(range(16)) * 100
    path = _model(host, "Lora", name, len(header).to_bytes(8, "little") + header + tail)
    return path, hashlib.sha256(path.read_bytes()).hexdigest(), hashlib.sha256(tail).hexdigest()


def test_our_hash_is_written_back_after_a_download(host):
    from modules import cache

    path = _model(host, "Stable-diffusion", "new.safetensors")
    sha = hashlib.sha256(path.read_bytes()).hexdigest().upper()
    with HashCache() as ours:
        ours.put(path, {"SHA256": sha})
    assert webui_hashes.write_back(path, "checkpoint")
    entry = cache.cache("hashes")["checkpoint/new.safetensors"]
    assert entry == {"mtime": path.stat().st_mtime, "sha256": sha.lower(), "size": path.stat().st_size}


def test_a1111_gets_the_addnet_hash_of_a_lora_and_forge_the_whole_file_hash(host, monkeypatch):
    """A1111 keys LoRA safetensors by the SHA-256 after the header: the hasher keeps it whole (AutoV3 is
    its first 12 characters), so the one pass that makes AutoV3 also fills A1111's cache."""
    from modules import cache

    from civitai_companion.library.hash_batch import hash_files
    from civitai_companion.library.hashing import scan_kinds

    path, whole, addnet = _lora(host)
    with HashCache() as ours:
        result = hash_files([path], ["SHA256"], cache=ours, also=lambda p: scan_kinds("lora"))[path]
    assert result["AddNet"] == addnet.upper() and result["AutoV3"] == addnet.upper()[:12]
    monkeypatch.setattr(webui_hashes, "_forge", lambda: False)
    assert webui_hashes.write_back(path, "lora")
    assert cache.cache("hashes-addnet")["lora/style"]["sha256"] == addnet
    monkeypatch.setattr(webui_hashes, "_forge", lambda: True)
    assert webui_hashes.write_back(path, "lora")
    assert cache.cache("hashes-addnet")["lora/style"]["sha256"] == whole


def test_a_downloaded_lora_gets_its_addnet_hash_made_for_a1111(host, monkeypatch):
    """A download is verified by its SHA-256 alone: A1111's addnet hash is made once, right after it."""
    from modules import cache

    path, whole, addnet = _lora(host)
    monkeypatch.setattr(webui_hashes, "_forge", lambda: False)
    with HashCache() as ours:
        ours.put(path, {"SHA256": whole})  # what a verified download leaves in our cache
    assert webui_hashes.write_back(path, "lora")
    assert cache.cache("hashes-addnet")["lora/style"]["sha256"] == addnet  # never the whole-file hash
    with HashCache() as ours:
        assert ours.known(path)["AddNet"] == addnet.upper() and ours.known(path)["AutoV3"] == addnet.upper()[:12]


def test_an_unhashed_file_is_not_read_for_the_webui(host, monkeypatch):
    """Without our SHA-256 (no verified download, no scan), nothing is hashed or written for the WebUI."""
    from modules import cache

    path, _, _ = _lora(host)
    monkeypatch.setattr(webui_hashes, "_forge", lambda: False)
    assert not webui_hashes.write_back(path, "lora")
    assert "lora/style" not in cache.cache("hashes-addnet")


def test_webui_hashes_seed_our_cache(host):
    from modules import cache

    path = _model(host, "hypernetworks", "h.pt")
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    cache.cache("hashes")["hypernet/h"] = {"mtime": path.stat().st_mtime, "sha256": sha}
    _model(host, "Stable-diffusion", "unknown.safetensors")
    assert webui_hashes.import_known() == 1
    with HashCache() as ours:
        assert ours.known(path)["SHA256"] == sha.upper()
    assert webui_hashes.import_known() == 0  # known now: not asked again


def test_a_scan_seeds_from_the_webui_and_gives_its_hashes_back(host, monkeypatch):
    """Around a scan in the WebUI: A1111's addnet hash of a LoRA spares the scan the second pass (only
    the SHA-256 is read), and the checkpoint the WebUI had not hashed gets our SHA-256 afterwards."""
    from modules import cache

    from civitai_companion.library import hashing
    from civitai_companion.library.scanner import find_model_files, scan

    monkeypatch.setattr(webui_hashes, "_forge", lambda: False)
    lora, whole, addnet = _lora(host)
    cache.cache("hashes-addnet")["lora/style"] = {"mtime": lora.stat().st_mtime, "sha256": addnet}
    checkpoint = _model(host, "Stable-diffusion", "base.safetensors")
    asked = []
    real_hash_file = hashing.hash_file

    def spy(path, kinds, **kw):
        asked.append((Path(path).name, tuple(kinds)))
        return real_hash_file(path, kinds, **kw)

    monkeypatch.setattr("civitai_companion.library.hash_batch.hash_file", spy)
    entries = find_model_files(A1111Layout().scan_folders())
    webui_hashes.import_known(entries)
    scan(entries, offline=True, index=False, sidecars=False)
    webui_hashes.export_known(entries)
    assert ("style.safetensors", ("SHA256", "AutoV1", "AutoV2")) in asked
    sha = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    assert cache.cache("hashes")["checkpoint/base.safetensors"]["sha256"] == sha
    assert cache.cache("hashes-addnet")["lora/style"]["sha256"] == addnet  # unchanged: it was right
    with HashCache() as ours:
        assert ours.known(lora)["SHA256"] == whole.upper()


# -- install.py -------------------------------------------------------------------------------------------
def _install_module(monkeypatch):
    spec = importlib.util.spec_from_file_location("civitai_install", ROOT / "install.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_install_does_nothing_when_all_is_present(monkeypatch):
    names = [line.split(">")[0].split("=")[0].strip() for line in (ROOT / "requirements.txt").read_text().split()]
    launch = shims.install_launch(monkeypatch, installed=names)
    _install_module(monkeypatch).main()
    assert launch.pip_calls == []


def test_install_installs_only_what_is_missing(monkeypatch):
    names = [line.split(">")[0].split("=")[0].strip() for line in (ROOT / "requirements.txt").read_text().split()]
    launch = shims.install_launch(monkeypatch, installed=[n for n in names if n != "blake3"])
    _install_module(monkeypatch).main()
    assert [command for command, _ in launch.pip_calls] == ['install "blake3>=0.3"']


def test_install_without_a1111_is_harmless(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "install.py")], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60, env={**os.environ, "PYTHONPATH": ""})
    assert result.returncode == 0
    assert "not inside AUTOMATIC1111" in result.stderr
