"""Scanning a library against the fake Civitai: finding files, batched resolve, fall-back, caches, errors."""

from __future__ import annotations

import hashlib

import json
import os
import threading

import pytest

from civitai_companion.api import CivitaiClient, CivitaiError
from civitai_companion.library.hash_cache import HashCache
from civitai_companion.hosts import get_layout
from civitai_companion.library import entries_for_paths, find_model_files, is_model_file, scan
from civitai_companion.library.resolve import UnknownCache, guess_version, resolve_hashes
from tests.fake_civitai import make_safetensors

BY_HASH = "/api/v1/model-versions/by-hash"


@pytest.fixture
def client(fake_civitai):
    return CivitaiClient(sleep=lambda _s: None)


def install(fake, path, model, index=0):
    """Put the real bytes of a fake-server file at ``path``; returns the version dict."""
    version = model["modelVersions"][index]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(fake.file_bytes(version["files"][0]["id"]))
    return version


def posts(fake):
    return [r for r in fake.requests_to("api", path_prefix=BY_HASH) if r.method == "POST"]


def gets(fake):
    return [r for r in fake.requests_to("api", path_prefix=BY_HASH + "/") if r.method == "GET"]


def by_name(report):
    return {e.path.name: e for e in report.entries}


def test_is_model_file():
    good = ["a.safetensors", "b.CKPT", "c.pt", "d.pth", "e.bin", "f.sft", "g.gguf"]
    bad = ["a.safetensors.part", "a.civitai.info", "a.json", "a.preview.png", ".a.safetensors", "a.txt"]
    assert all(is_model_file(n) for n in good) and not any(is_model_file(n) for n in bad)


def test_find_skips_hidden_dirs_and_dedupes_links_and_overlaps(tmp_path):
    lora = tmp_path / "Lora"
    (lora / "sub").mkdir(parents=True)
    (lora / ".trash").mkdir()
    (lora / "a.safetensors").write_bytes(b"a")
    (lora / "sub" / "b.pt").write_bytes(b"b")
    (lora / ".trash" / "c.safetensors").write_bytes(b"c")
    (lora / "d.safetensors.part").write_bytes(b"d")
    os.symlink(lora / "a.safetensors", lora / "a-link.safetensors")
    os.symlink(lora, tmp_path / "LyCORIS")  # the same folder again through a link
    entries = find_model_files({"lora": [lora, tmp_path / "LyCORIS", lora / "sub", tmp_path / "missing"]})
    assert sorted(e.path.name for e in entries) == ["a.safetensors", "b.pt"]
    assert {e.kind for e in entries} == {"lora"}


def test_a_broken_link_is_an_error_not_skipped(tmp_path):
    (tmp_path / "ok.safetensors").write_bytes(b"a")
    os.symlink(tmp_path / "gone.safetensors", tmp_path / "dangling.safetensors")
    entries = {e.path.name: e for e in find_model_files({"lora": [tmp_path]})}
    assert sorted(entries) == ["dangling.safetensors", "ok.safetensors"]
    assert entries["ok.safetensors"].status == "pending"
    assert entries["dangling.safetensors"].status == "error"
    assert entries["dangling.safetensors"].error.startswith("broken link")
    assert "gone.safetensors" in entries["dangling.safetensors"].error


def test_scan_a1111_tree_in_one_batch(fake_civitai, client, tmp_path):
    root = tmp_path / "webui"
    lora = fake_civitai.add_model(name="Ink Lora", type="LORA", base_model="SDXL 1.0", trained_words=["ink, sketch"])
    ckpt = fake_civitai.add_model(name="Real Ckpt", type="Checkpoint", base_model="SD 1.5", file_sizes=(8192,))
    emb = fake_civitai.add_model(name="Bad Hands", type="TextualInversion", file_name="badhands.pt")
    install(fake_civitai, root / "models" / "Lora" / "ink.safetensors", lora)
    install(fake_civitai, root / "models" / "Stable-diffusion" / "real.safetensors", ckpt)
    install(fake_civitai, root / "embeddings" / "badhands.pt", emb)
    (root / "models" / "Lora" / "mine.safetensors").write_bytes(make_safetensors(64, seed=99))
    fake_civitai.clear_requests()

    entries = find_model_files(get_layout("a1111", root).scan_folders())
    report = scan(entries, client=client, updates=False, previews=False)

    found = by_name(report)
    assert {n: (e.kind, e.status) for n, e in found.items()} == {
        "ink.safetensors": ("lora", "resolved"),
        "mine.safetensors": ("lora", "unknown"),
        "real.safetensors": ("checkpoint", "resolved"),
        "badhands.pt": ("embedding", "resolved"),
    }
    assert found["ink.safetensors"].version.id == lora["modelVersions"][0]["id"]
    assert found["badhands.pt"].version.model_id == emb["id"]
    assert len(posts(fake_civitai)) == 1 and not gets(fake_civitai)
    assert len(json.loads(posts(fake_civitai)[0].body)) == 4
    assert report.requests == 1
    user = json.loads((root / "models" / "Lora" / "ink.json").read_text())
    assert user["activation text"] == "ink, sketch" and user["sd version"] == "SDXL"
    assert (root / "models" / "Stable-diffusion" / "real.civitai.info").is_file()
    assert not (root / "models" / "Lora" / "mine.civitai.info").exists()


def test_scan_comfyui_tree_with_previews_and_updates(fake_civitai, client, tmp_path):
    root = tmp_path / "ComfyUI"
    lora = fake_civitai.add_model(name="Neon Lora", type="LORA", versions=2)
    ckpt = fake_civitai.add_model(name="Flat Ckpt", type="Checkpoint", base_model="Illustrious")
    vae = fake_civitai.add_model(name="Clear VAE", type="VAE")
    old = install(fake_civitai, root / "models" / "loras" / "styles" / "neon.safetensors", lora, index=1)
    install(fake_civitai, root / "models" / "checkpoints" / "flat.safetensors", ckpt)
    install(fake_civitai, root / "models" / "vae" / "clear.safetensors", vae)
    fake_civitai.clear_requests()

    entries = find_model_files(get_layout("comfyui", root).scan_folders())
    report = scan(entries, client=client, host="comfyui")

    found = by_name(report)
    assert {n: (e.kind, e.status) for n, e in found.items()} == {
        "neon.safetensors": ("lora", "resolved"),
        "flat.safetensors": ("checkpoint", "resolved"),
        "clear.safetensors": ("vae", "resolved"),
    }
    assert found["neon.safetensors"].version.id == old["id"]
    assert found["neon.safetensors"].newer.id == lora["modelVersions"][0]["id"]
    assert found["flat.safetensors"].newer is None
    api = fake_civitai.requests_to("api", path_prefix="/api/v1/")
    assert [(r.method, r.path) for r in api] == [("POST", BY_HASH), ("GET", "/api/v1/models")]
    assert report.requests == 2
    previews = list((root / "models" / "loras" / "styles").glob("neon.preview.*"))
    assert len(previews) == 1 and previews[0].suffix in (".jpg", ".png", ".webp")
    images = fake_civitai.requests_to("api", path_prefix="/images/")
    assert images and all("Authorization" not in r.headers for r in images)


def test_resolve_batches_of_100(fake_civitai, client):
    model = fake_civitai.add_model(name="Batch Lora")
    real = model["modelVersions"][0]["files"][0]["hashes"]["SHA256"]
    hashes = [f"{i:064X}" for i in range(1, 250)] + [real]
    answers = resolve_hashes(client, hashes)
    sizes = [len(json.loads(r.body)) for r in posts(fake_civitai)]
    assert sizes == [100, 100, 50]
    assert answers[real].id == model["modelVersions"][0]["id"]
    assert sum(1 for v in answers.values() if v is None) == 249


@pytest.mark.parametrize("status", [400, 404, 405])
def test_a_refused_batch_route_falls_back_to_single_gets(fake_civitai, client, tmp_path, status):
    a = fake_civitai.add_model(name="Fall A")
    b = fake_civitai.add_model(name="Fall B")
    install(fake_civitai, tmp_path / "a.safetensors", a)
    install(fake_civitai, tmp_path / "b.safetensors", b)
    (tmp_path / "c.safetensors").write_bytes(make_safetensors(32, seed=7))
    fake_civitai.clear_requests()
    body = "<html><body>Not Found</body></html>" if status == 404 else None  # a site without the route
    fake_civitai.set_api_fault(BY_HASH, status, times=1, body=body)

    report = scan(entries_for_paths([tmp_path]), client=client, sidecars=False, updates=False)

    assert {n: e.status for n, e in by_name(report).items()} == {
        "a.safetensors": "resolved", "b.safetensors": "resolved", "c.safetensors": "unknown"}
    assert len(posts(fake_civitai)) == 1
    assert len(gets(fake_civitai)) == 3


class SecondBatchRefused(CivitaiClient):
    """A client whose second by-hash POST is refused, as a proxy that limits bodies might."""

    calls = 0

    def versions_by_hashes(self, sha256s):
        self.calls += 1
        if self.calls == 2:
            raise CivitaiError("HTTP 405: method not allowed", status=405)
        return super().versions_by_hashes(sha256s)


def test_only_the_refused_batch_is_asked_one_by_one(fake_civitai):
    first = fake_civitai.add_model(name="In Batch One")
    second = fake_civitai.add_model(name="In Batch Two")
    sha = {m["id"]: m["modelVersions"][0]["files"][0]["hashes"]["SHA256"] for m in (first, second)}
    hashes = [sha[first["id"]]] + [f"{i:064X}" for i in range(1, 150)] + [sha[second["id"]]]
    fake_civitai.clear_requests()

    answers = resolve_hashes(SecondBatchRefused(sleep=lambda _s: None), hashes)

    assert [len(json.loads(r.body)) for r in posts(fake_civitai)] == [100]
    asked = [r.path.rsplit("/", 1)[1] for r in gets(fake_civitai)]
    assert asked == hashes[100:]  # only what the failed batch left, each once
    assert answers[sha[first["id"]]].model_id == first["id"]
    assert answers[sha[second["id"]]].model_id == second["id"]
    assert sum(1 for v in answers.values() if v is None) == 149


def test_a_500_for_one_single_lookup_fails_only_that_file(fake_civitai, client, tmp_path):
    good = fake_civitai.add_model(name="Single Good")
    install(fake_civitai, tmp_path / "good.safetensors", good)
    (tmp_path / "odd.safetensors").write_bytes(make_safetensors(24, seed=13))
    odd = hashlib.sha256((tmp_path / "odd.safetensors").read_bytes()).hexdigest().upper()
    fake_civitai.set_api_fault(BY_HASH, 405, times=1)  # the batch route is refused
    fake_civitai.set_api_fault(f"{BY_HASH}/{odd}", 500, times=None)

    report = scan(entries_for_paths([tmp_path]), client=client, sidecars=False, updates=False)

    found = by_name(report)
    assert found["good.safetensors"].status == "resolved"
    assert found["odd.safetensors"].status == "error" and "\n" not in found["odd.safetensors"].error


def test_a_copied_library_is_not_hashed_again(fake_civitai, client, tmp_path, monkeypatch):
    model = fake_civitai.add_model(name="Copied")
    install(fake_civitai, tmp_path / "a" / "c.safetensors", model)
    first = scan(entries_for_paths([tmp_path / "a"]), client=client, updates=False, previews=False)
    assert first.files_hashed == 1
    copy = tmp_path / "b"
    copy.mkdir()
    for src in (tmp_path / "a").iterdir():  # as cp -p or rsync -a copy them: same bytes, same mtime
        (copy / src.name).write_bytes(src.read_bytes())
        os.utime(copy / src.name, ns=(src.stat().st_atime_ns, src.stat().st_mtime_ns))
    monkeypatch.setenv("CIVITAI_COMPANION_HOME", str(tmp_path / "other-machine"))

    second = scan(entries_for_paths([copy]), client=client, updates=False, previews=False)

    assert second.files_hashed == 0 and second.bytes_hashed == 0
    assert by_name(second)["c.safetensors"].version.id == model["modelVersions"][0]["id"]


def test_unknown_hash_is_not_asked_again_until_refresh(fake_civitai, client, tmp_path):
    known = fake_civitai.add_model(name="Known")
    install(fake_civitai, tmp_path / "known.safetensors", known)
    (tmp_path / "mine.safetensors").write_bytes(make_safetensors(48, seed=3))
    entries = lambda: entries_for_paths([tmp_path])  # noqa: E731
    first = scan(entries(), client=client, sidecars=False, updates=False)
    mine = by_name(first)["mine.safetensors"].sha256
    assert mine in json.loads(posts(fake_civitai)[0].body)
    fake_civitai.clear_requests()

    second = scan(entries(), client=client, sidecars=False, updates=False)
    assert by_name(second)["mine.safetensors"].status == "unknown"
    assert by_name(second)["mine.safetensors"].from_unknown_cache
    assert all(mine not in json.loads(r.body) for r in posts(fake_civitai))
    fake_civitai.clear_requests()

    scan(entries(), client=client, sidecars=False, updates=False, refresh=True)
    assert mine in json.loads(posts(fake_civitai)[0].body)


def test_unknown_cache_expires(tmp_path):
    now = [1000.0]
    cache = UnknownCache(tmp_path / "u.sqlite", ttl=60, clock=lambda: now[0])
    cache.add("https://c.example", ["ab" * 32])
    assert cache.fresh("https://c.example", ["AB" * 32]) == {"AB" * 32}
    assert cache.fresh("https://other.example", ["AB" * 32]) == set()
    now[0] += 61
    assert cache.fresh("https://c.example", ["AB" * 32]) == set()


def test_bad_files_are_errors_and_the_rest_resolves(fake_civitai, client, tmp_path):
    good = fake_civitai.add_model(name="Good One")
    install(fake_civitai, tmp_path / "good.safetensors", good)
    os.mkfifo(tmp_path / "pipe.safetensors")
    (tmp_path / "gone.safetensors").write_bytes(b"soon deleted")
    entries = entries_for_paths([tmp_path / "good.safetensors", tmp_path / "pipe.safetensors",
                                 tmp_path / "gone.safetensors", tmp_path / "never.safetensors"])
    (tmp_path / "gone.safetensors").unlink()  # vanished between listing and hashing

    report = scan(entries, client=client, sidecars=False, updates=False)

    found = by_name(report)
    assert found["good.safetensors"].status == "resolved"
    for name in ("pipe.safetensors", "gone.safetensors", "never.safetensors"):
        assert found[name].status == "error" and found[name].sha256 is None
        assert name.split(".")[0] in found[name].error and "\n" not in found[name].error


def test_claimed_hash_is_a_guess_never_an_identity(fake_civitai, client, tmp_path):
    real = fake_civitai.add_model(name="Claimed Real")
    real_file = real["modelVersions"][0]["files"][0]
    real_sha = real_file["hashes"]["SHA256"]
    data = fake_civitai.file_bytes(real_file["id"])
    tensor_sha = hashlib.sha256(data[8 + int.from_bytes(data[:8], "little"):]).hexdigest()
    liar = make_safetensors(40, metadata={"modelspec.hash_sha256": tensor_sha}, seed=5)
    (tmp_path / "liar.safetensors").write_bytes(liar)

    assert guess_version(tmp_path / "liar.safetensors", client=client).id == real["modelVersions"][0]["id"]
    report = scan(entries_for_paths([tmp_path]), client=client, sidecars=False, updates=False)

    entry = by_name(report)["liar.safetensors"]
    assert entry.status == "unknown" and entry.version is None and entry.sha256 != real_sha


def test_guess_from_kohya_header_matches_the_scan(fake_civitai, client, tmp_path):
    lora = fake_civitai.add_model(name="Kohya Lora", kohya=True)
    install(fake_civitai, tmp_path / "k.safetensors", lora)
    fake_civitai.clear_requests()
    guess = guess_version(tmp_path / "k.safetensors", client=client)
    assert [r.path for r in fake_civitai.requests_to("api")][0].startswith(BY_HASH + "/")
    report = scan(entries_for_paths([tmp_path]), client=client, sidecars=False, updates=False)
    assert guess.id == by_name(report)["k.safetensors"].version.id == lora["modelVersions"][0]["id"]


def test_rescan_hashes_nothing_and_keeps_results(fake_civitai, client, tmp_path):
    model = fake_civitai.add_model(name="Rescan")
    install(fake_civitai, tmp_path / "r.safetensors", model)
    first = scan(entries_for_paths([tmp_path]), client=client, updates=False, previews=False)
    second = scan(entries_for_paths([tmp_path]), client=client, cache=HashCache(), updates=False, previews=False)
    assert first.files_hashed == 1 and second.files_hashed == 0 and second.bytes_hashed == 0
    assert by_name(second)["r.safetensors"].status == "resolved"


def test_cancelled_scan_sends_nothing(fake_civitai, client, tmp_path):
    model = fake_civitai.add_model(name="Cancel")
    install(fake_civitai, tmp_path / "c.safetensors", model)
    fake_civitai.clear_requests()
    cancel = threading.Event()
    cancel.set()
    report = scan(entries_for_paths([tmp_path]), client=client, cancel=cancel)
    assert report.cancelled and by_name(report)["c.safetensors"].status == "error"
    assert not fake_civitai.requests_to("api")


def test_progress_reports_each_phase(fake_civitai, client, tmp_path):
    model = fake_civitai.add_model(name="Progress")
    install(fake_civitai, tmp_path / "p.safetensors", model)
    seen = []
    scan(entries_for_paths([tmp_path]), client=client, previews=False, progress=lambda *a: seen.append(a))
    phases = {phase for phase, _d, _t in seen}
    assert phases == {"hash", "resolve", "updates", "sidecars"}
    assert all(done <= total for _p, done, total in seen)


def test_rate_limited_batch_stops_without_single_gets(fake_civitai, client, tmp_path):
    hashes = [f"{i:064X}" for i in range(1, 151)]
    fake_civitai.set_api_fault(BY_HASH, 429, times=None, retry_after=0)
    answers = resolve_hashes(client, hashes)
    assert len(posts(fake_civitai)) == 5 and not gets(fake_civitai)  # one batch, its retries, nothing more
    assert set(answers) == set(hashes)
    assert all("rate limited" in str(v) for v in answers.values())
