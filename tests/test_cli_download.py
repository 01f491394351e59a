"""``civitai-companion download`` and ``queue`` end to end against the fake Civitai."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from civitai_companion.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def add_version(fake, name="Cli Lora", type="LORA", size=50_000):
    model = fake.add_model(name=name, type=type, file_sizes=(size,))
    version = model["modelVersions"][0]
    return model["id"], version["id"], version["files"][0]


def test_download_json_prints_path_hash_version_and_bytes(fake_civitai, capsys, tmp_path):
    _, version_id, file = add_version(fake_civitai)
    code, out, err = run(capsys, "download", str(version_id), "--host", "comfyui", "--root", str(tmp_path), "--json")
    assert code == 0, err
    document = json.loads(out)
    assert document == {"path": str(tmp_path / "models" / "loras" / file["name"]), "sha256": file["hashes"]["SHA256"],
                        "modelVersionId": version_id, "bytes": len(fake_civitai.file_bytes(file["id"]))}


@pytest.mark.parametrize("ref", [
    "urn:air:sd1:lora:civitai:{model}@{version}",
    "{url}/models/{model}?modelVersionId={version}",
    "{url}/models/{model}/some-slug",
    "https://civitai.com/api/download/models/{version}",
])
def test_download_accepts_every_kind_of_ref(fake_civitai, capsys, tmp_path, ref):
    model_id, version_id, file = add_version(fake_civitai)
    text = ref.format(model=model_id, version=version_id, url=fake_civitai.url)
    code, out, err = run(capsys, "download", text, "--host", "a1111", "--root", str(tmp_path), "--json")
    assert code == 0, err
    assert json.loads(out)["path"] == str(tmp_path / "models" / "Lora" / file["name"])


def test_download_human_output_and_second_run_downloads_nothing(fake_civitai, capsys, tmp_path):
    _, version_id, file = add_version(fake_civitai)
    code, out, _ = run(capsys, "download", str(version_id), "--host", "standalone", "--root", str(tmp_path))
    assert code == 0 and "SHA-256 verified" in out and file["name"] in out
    fake_civitai.clear_requests()
    code, out, _ = run(capsys, "download", str(version_id), "--host", "standalone", "--root", str(tmp_path))
    assert code == 0 and "already there" in out
    assert not fake_civitai.requests_to("storage")


def test_download_by_file_id_to_a_folder(fake_civitai, capsys, tmp_path):
    _, version_id, _ = add_version(fake_civitai, type="Checkpoint")
    vae = fake_civitai.add_file(version_id, name="the-vae.safetensors", type="VAE", size=3000)
    code, out, err = run(capsys, "download", str(version_id), "--file-id", str(vae["id"]),
                         "--folder", str(tmp_path / "here"), "--json")
    assert code == 0, err
    assert json.loads(out)["path"] == str(tmp_path / "here" / "the-vae.safetensors")


def test_download_by_format_size_fp(fake_civitai, capsys, tmp_path):
    _, version_id, _ = add_version(fake_civitai, type="Checkpoint")
    fp16 = fake_civitai.add_file(version_id, name="half.safetensors", size=3000,
                                 metadata={"format": "SafeTensor", "size": "pruned", "fp": "fp16"})
    code, out, err = run(capsys, "download", str(version_id), "--format", "SafeTensor", "--size", "pruned",
                         "--fp", "fp16", "--host", "standalone", "--root", str(tmp_path), "--json")
    assert code == 0, err
    assert json.loads(out)["sha256"] == fp16["hashes"]["SHA256"]


def test_subfolder_template(fake_civitai, capsys, tmp_path):
    _, version_id, file = add_version(fake_civitai, name="Templated")
    code, out, err = run(capsys, "download", str(version_id), "--host", "standalone", "--root", str(tmp_path), "--subfolder", "{modelName}", "--json")
    assert code == 0, err
    assert json.loads(out)["path"] == str(tmp_path / "loras" / "Templated" / file["name"])


def test_errors_are_one_line_with_advice(fake_civitai, capsys, tmp_path):
    _, version_id, _ = add_version(fake_civitai)
    fake_civitai.set_fault(version_id, "login_required")
    code, out, err = run(capsys, "download", str(version_id), "--host", "standalone", "--root", str(tmp_path))
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: login required") and "CIVITAI_API_TOKEN" in err


def test_interrupted_download_tells_how_to_resume_and_resumes(fake_civitai, capsys, tmp_path, monkeypatch):
    from civitai_companion.api import CivitaiClient
    from civitai_companion.cli import download as cli_download

    monkeypatch.setattr(cli_download, "make_client", lambda args: CivitaiClient(sleep=lambda seconds: None))
    _, version_id, file = add_version(fake_civitai, size=300_000)
    fake_civitai.set_fault(version_id, "drop", times=4, after_bytes=10_000)
    code, _, err = run(capsys, "download", str(version_id), "--host", "standalone", "--root", str(tmp_path))
    assert code == 1 and "run the same command again to resume" in err
    code, out, err = run(capsys, "download", str(version_id), "--host", "standalone", "--root", str(tmp_path), "--json")
    assert code == 0, err
    assert fake_civitai.requests_to("storage")[-1].headers.get("Range", "").startswith("bytes=")


def test_bad_ref_is_a_usage_error(capsys):
    code, _, err = run(capsys, "download", "not a ref")
    assert code == 2 and "cannot read 'not a ref'" in err


def test_file_id_and_format_are_exclusive(capsys):
    code, _, err = run(capsys, "download", "5", "--file-id", "3", "--fp", "fp16")
    assert code == 2 and "--file-id" in err


def test_several_refs_go_through_the_queue(fake_civitai, capsys, tmp_path):
    versions = [add_version(fake_civitai, name=f"Many {i}") for i in range(3)]
    refs = [str(v) for _, v, _ in versions]
    code, out, err = run(capsys, "download", *refs, "--host", "standalone", "--root", str(tmp_path), "--json")
    assert code == 0, err
    documents = json.loads(out)
    assert sorted(d["sha256"] for d in documents) == sorted(f["hashes"]["SHA256"] for _, _, f in versions)
    code, out, _ = run(capsys, "queue", "--json")
    assert [j["status"] for j in json.loads(out)] == ["done"] * 3


def test_queue_cancel_and_clear(fake_civitai, capsys, tmp_path):
    from civitai_companion.download.queue import DownloadQueue

    _, version_id, _ = add_version(fake_civitai)
    queue = DownloadQueue(autostart=False)
    job = queue.submit(version_id, folder=str(tmp_path))
    queue.close()
    code, out, _ = run(capsys, "queue")
    assert code == 0 and job.id in out and "pending" in out
    code, out, _ = run(capsys, "queue", "--cancel", job.id)
    assert code == 0 and "cancelled 1 job" in out
    code, out, _ = run(capsys, "queue", "--clear")
    assert "forgot 1" in out
    code, out, _ = run(capsys, "queue")
    assert "empty" in out


def test_resume_finishes_what_the_queue_holds(fake_civitai, capsys, tmp_path):
    from civitai_companion.download.queue import DownloadQueue

    _, version_id, file = add_version(fake_civitai)
    queue = DownloadQueue(autostart=False)
    queue.submit(version_id, folder=str(tmp_path))
    queue.close()
    code, out, err = run(capsys, "download", "--resume", "--json")
    assert code == 0, err
    assert json.loads(out)[0]["path"] == str(tmp_path / file["name"])


def test_progress_bars_survive_a_resume_when_stderr_is_not_a_terminal(fake_civitai, capsys, tmp_path, monkeypatch):
    from civitai_companion.api import CivitaiClient
    from civitai_companion.cli import download as cli_download

    monkeypatch.delenv("CIVITAI_DISABLE_PROGRESS_BARS", raising=False)
    monkeypatch.setattr(cli_download, "make_client", lambda args: CivitaiClient(sleep=lambda seconds: None))
    _, version_id, file = add_version(fake_civitai, size=300_000)
    fake_civitai.set_fault(version_id, "drop", times=1, after_bytes=100_000)
    code, out, err = run(capsys, "download", str(version_id), "--host", "standalone", "--root", str(tmp_path), "--json")
    assert code == 0, err
    assert json.loads(out)["sha256"] == file["hashes"]["SHA256"]


def test_overwrite_flag_replaces_a_different_file_of_the_same_name(fake_civitai, capsys, tmp_path):
    _, version_id, file = add_version(fake_civitai)
    mine = tmp_path / "loras" / file["name"]
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"my own file")
    code, out, err = run(capsys, "download", str(version_id), "--host", "standalone", "--root", str(tmp_path), "--overwrite", "--json")
    assert code == 0, err
    assert json.loads(out)["path"] == str(mine)
    assert mine.read_bytes() == fake_civitai.file_bytes(file["id"])
    assert not any(" (1)" in p.name for p in mine.parent.iterdir())


def test_ctrl_c_keeps_the_partial_file_and_says_how_to_resume(fake_civitai, capsys, tmp_path, monkeypatch):
    from civitai_companion.cli import download as cli_download

    _, version_id, file = add_version(fake_civitai, size=3_000_000)
    fake_civitai.set_fault(version_id, "slow", delay=0.3, times=1)  # progress events come at most a few a second
    real_update = cli_download._Bars.update

    def interrupt_midway(self, key, event):
        if event.phase == "downloading" and event.bytes_done > 0:
            raise KeyboardInterrupt
        return real_update(self, key, event)

    monkeypatch.setattr(cli_download._Bars, "update", interrupt_midway)
    argv = ("download", str(version_id), "--host", "comfyui", "--root", str(tmp_path))
    code, _, err = run(capsys, *argv)
    assert code == 130
    assert err == "error: interrupted: the partial file was kept: run the same command again to resume\n"
    target = tmp_path / "models" / "loras" / file["name"]
    assert not target.exists() and target.with_name(target.name + ".part").exists()

    monkeypatch.setattr(cli_download._Bars, "update", real_update)
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    assert json.loads(out)["sha256"] == file["hashes"]["SHA256"]
    ranges = [r.headers.get("Range") for r in fake_civitai.requests if r.server == "storage"]
    assert ranges[0] is None and ranges[-1].startswith("bytes=") and ranges[-1] != "bytes=0-"


def test_host_forge_writes_flux_sidecars(fake_civitai, capsys, tmp_path):
    model = fake_civitai.add_model(name="Flux Style", type="LORA", base_model="Flux.1 D", file_sizes=(20_000,))
    version_id = model["modelVersions"][0]["id"]
    code, out, err = run(capsys, "download", str(version_id), "--host", "forge", "--root", str(tmp_path), "--json")
    assert code == 0, err
    path = Path(json.loads(out)["path"])
    assert path.parent == tmp_path / "models" / "Lora"
    assert json.loads(path.with_name(path.stem + ".json").read_text())["sd version"] == "Flux"


def test_subfolder_template_applies_under_the_folder(fake_civitai, capsys, tmp_path):
    _, version_id, file = add_version(fake_civitai, name="Under Folder")
    code, out, err = run(capsys, "download", str(version_id), "--folder", str(tmp_path / "here"),
                         "--subfolder", "{modelType}/{modelName}", "--json")
    assert code == 0, err
    assert json.loads(out)["path"] == str(tmp_path / "here" / "LORA" / "Under Folder" / file["name"])


def test_subfolder_template_applies_under_the_folder_with_several_refs(fake_civitai, capsys, tmp_path):
    versions = [add_version(fake_civitai, name=f"Folder Many {i}") for i in range(2)]
    code, out, err = run(capsys, "download", *(str(v) for _, v, _ in versions), "--folder", str(tmp_path),
                         "--subfolder", "{modelName}", "--json")
    assert code == 0, err
    assert sorted(d["path"] for d in json.loads(out)) == sorted(
        str(tmp_path / f"Folder Many {i}" / f["name"]) for i, (_, _, f) in enumerate(versions))


def test_several_refs_say_when_a_file_was_already_there(fake_civitai, capsys, tmp_path):
    versions = [add_version(fake_civitai, name=f"Again {i}") for i in range(2)]
    refs = [str(v) for _, v, _ in versions]
    assert run(capsys, "download", *refs, "--host", "standalone", "--root", str(tmp_path))[0] == 0
    code, out, err = run(capsys, "download", *refs, "--host", "standalone", "--root", str(tmp_path))
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 2 and all("already there with the same SHA-256, nothing downloaded" in line for line in lines)


def test_several_refs_say_when_a_download_was_resumed(fake_civitai, capsys, tmp_path, monkeypatch):
    from civitai_companion.api import CivitaiClient
    from civitai_companion.cli import download as cli_download

    monkeypatch.setattr(cli_download, "make_client", lambda args: CivitaiClient(sleep=lambda seconds: None))
    _, dropped, dropped_file = add_version(fake_civitai, name="Dropped", size=300_000)
    _, plain, plain_file = add_version(fake_civitai, name="Plain")
    fake_civitai.set_fault(dropped, "drop", times=1, after_bytes=100_000)
    code, out, err = run(capsys, "download", str(dropped), str(plain), "--host", "standalone", "--root", str(tmp_path))
    assert code == 0, err
    said = {line.split(" (")[0].rsplit("/", 1)[-1]: line for line in out.splitlines()}
    assert "resumed, SHA-256 verified" in said[dropped_file["name"]]
    assert said[plain_file["name"]].endswith(", SHA-256 verified)") and "resumed" not in said[plain_file["name"]]


def _interrupt_after_the_first_finished_job(monkeypatch):
    from civitai_companion.download.queue import DownloadQueue

    def wait(self, timeout=None):
        for _ in range(6000):  # a bound, not a timing assertion: the small file finishes long before
            if any(job.status == "done" for job in self.jobs()):
                raise KeyboardInterrupt
            threading.Event().wait(0.01)
        raise AssertionError("no download finished")

    monkeypatch.setattr(DownloadQueue, "wait", wait)


def test_ctrl_c_with_several_refs_prints_what_finished(fake_civitai, capsys, tmp_path, monkeypatch):
    _, small, small_file = add_version(fake_civitai, name="Quick")
    _, big, _ = add_version(fake_civitai, name="Slow", size=3_000_000)
    fake_civitai.set_fault(big, "slow", delay=0.3)
    _interrupt_after_the_first_finished_job(monkeypatch)
    code, out, err = run(capsys, "download", str(small), str(big), "--host", "standalone", "--root", str(tmp_path))
    assert code == 130
    assert out.splitlines() == [f"{tmp_path / 'loras' / small_file['name']} (48.8 KiB, SHA-256 verified)"]
    assert err == "error: interrupted: run 'civitai-companion download --resume' to finish\n"


def test_ctrl_c_with_several_refs_prints_the_finished_list_in_json(fake_civitai, capsys, tmp_path, monkeypatch):
    _, small, small_file = add_version(fake_civitai, name="Quick Json")
    _, big, _ = add_version(fake_civitai, name="Slow Json", size=3_000_000)
    fake_civitai.set_fault(big, "slow", delay=0.3)
    _interrupt_after_the_first_finished_job(monkeypatch)
    code, out, err = run(capsys, "download", str(small), str(big), "--host", "standalone", "--root", str(tmp_path), "--json")
    assert code == 130
    assert [d["sha256"] for d in json.loads(out)] == [small_file["hashes"]["SHA256"]]
    assert err == "error: interrupted: run 'civitai-companion download --resume' to finish\n"


def test_a_failed_ref_among_several_is_reported_once(fake_civitai, capsys, tmp_path):
    _, good, _ = add_version(fake_civitai, name="Fine")
    _, bad, _ = add_version(fake_civitai, name="Refused")
    fake_civitai.set_fault(bad, "downloads_disabled")
    code, out, err = run(capsys, "download", str(good), str(bad), "--host", "standalone", "--root", str(tmp_path))
    assert code == 1 and "Fine.safetensors" in out  # the other REF still finished
    assert err.splitlines() == [f"error: {bad}: Unauthorized: The creator of this asset has disabled downloads on this file "
                               "(no token can change that)"]


def test_resume_with_an_empty_queue_says_so(fake_civitai, capsys):
    code, out, err = run(capsys, "download", "--resume")
    assert (code, out, err) == (0, "nothing to resume\n", "")
