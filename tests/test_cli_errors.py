"""Error lines as a user reads them: paths and words instead of OS internals, quick answers from dead
servers, the option to blame, dates and plurals as people write them, and nothing left behind."""

from __future__ import annotations

import json
import os
import re
import socket

import pytest
import requests

from civitai_companion import safe_json
from civitai_companion.api.errors import NetworkError
from civitai_companion.api.http import Transport
from civitai_companion.cli import main

CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens there


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def add_version(fake, name="Err Lora", type="LORA"):
    model = fake.add_model(name=name, type=type, file_sizes=(20_000,))
    version = model["modelVersions"][0]
    return model["id"], version["id"], version["files"][0]


def nested(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth > 1:
            return True
    return False


# -- 5. OS errors in words, naming the path ----------------------------------------------------------------
def test_lookup_of_a_fifo_names_it_without_errno(capsys, tmp_path):
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    code, _, err = run(capsys, "lookup", str(fifo), "--base-url", CLOSED)
    assert code == 1 and "[Errno" not in err
    assert err == f"error: {fifo} is not a regular file (a pipe, socket or device), so it cannot be hashed\n"


def test_triggers_of_a_fifo_does_not_say_no_such_file(capsys, tmp_path):
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    code, _, err = run(capsys, "triggers", str(fifo))
    assert code == 1 and "no such file" not in err and f"{fifo} is not a regular file" in err


def test_a_folder_read_as_json_names_the_path_not_a_descriptor(tmp_path):
    with pytest.raises(IsADirectoryError) as info:
        safe_json.read_file(tmp_path)
    assert info.value.filename == str(tmp_path)


def test_a_sidecar_that_cannot_be_written_fails_alone_and_the_scan_says_so(fake_civitai, capsys, tmp_path):
    _, _, file = add_version(fake_civitai)
    model = tmp_path / "loras" / file["name"]
    model.parent.mkdir()
    model.write_bytes(fake_civitai.file_bytes(file["id"]))
    blocked = model.with_suffix(".json")
    blocked.mkdir()  # a folder where <name>.json belongs
    code, out, err = run(capsys, "scan", str(tmp_path), "--no-previews", "--no-updates", "--host", "standalone")
    assert code == 1
    assert f"error: {blocked} is a folder, not a file" in err and not re.search(r"Errno|: \d+\b", err)
    assert model.with_suffix(".civitai.info").is_file()  # the other sidecar is written
    assert "1 resolved" in out and "1 sidecar not written" in out


# -- 6. dead servers answer quickly -------------------------------------------------------------------------
def transport():
    sleeps: list[float] = []
    return Transport(sleep=sleeps.append, timeout=(2, 2)), sleeps


def test_a_refused_connection_gets_one_retry(capsys):
    t, sleeps = transport()
    with pytest.raises(NetworkError) as info:
        t.send("GET", CLOSED + "/api/v1/models")
    assert len(sleeps) == 1 and "refused the connection" in str(info.value) and "2 tries" in str(info.value)


def test_https_to_an_http_port_says_tls(fake_civitai):
    t, sleeps = transport()
    with pytest.raises(NetworkError) as info:
        t.send("GET", fake_civitai.url.replace("http://", "https://") + "/api/v1/models")
    assert "TLS" in str(info.value) and len(sleeps) <= 1


def test_a_name_that_does_not_resolve_gets_one_retry(requests_mock):
    failure = requests.ConnectionError("Max retries exceeded")
    failure.__cause__ = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    requests_mock.get("https://no-such-host.invalid/api/v1/models", exc=failure)
    t, sleeps = transport()
    with pytest.raises(NetworkError) as info:
        t.send("GET", "https://no-such-host.invalid/api/v1/models")
    assert len(sleeps) == 1 and "cannot find the host no-such-host.invalid" in str(info.value)


def test_a_timeout_is_still_worth_several_tries(requests_mock):
    requests_mock.get("https://slow.example/api/v1/models", exc=requests.exceptions.ConnectTimeout("slow"))
    t, sleeps = transport()
    with pytest.raises(NetworkError):
        t.send("GET", "https://slow.example/api/v1/models")
    assert len(sleeps) == 4


def test_the_cli_blames_base_url_for_tls_on_an_http_port(fake_civitai, capsys):
    code, _, err = run(capsys, "show", "1", "--base-url", fake_civitai.url.replace("http://", "https://"))
    assert code == 1 and "TLS" in err and "--base-url" in err and "CIVITAI_BASE_URL" not in err


# -- 9. wording --------------------------------------------------------------------------------------------------
def test_a_wrong_base_url_option_is_blamed_on_the_option(fake_civitai, capsys, monkeypatch):
    code, _, err = run(capsys, "show", "1", "--base-url", fake_civitai.url + "/not-civitai")
    assert code == 1 and "check that --base-url points at a Civitai site" in err
    monkeypatch.setenv("CIVITAI_BASE_URL", fake_civitai.url + "/not-civitai")
    code, _, err = run(capsys, "show", "1")
    assert code == 1 and "check that CIVITAI_BASE_URL points at a Civitai site" in err


def test_early_access_says_the_date_in_words(fake_civitai, capsys, tmp_path):
    _, version_id, _ = add_version(fake_civitai)
    fake_civitai.set_fault(version_id, "early_access", deadline="2099-12-31T00:00:00.000Z")
    code, _, err = run(capsys, "download", str(version_id), "--host", "standalone", "--root", str(tmp_path))
    assert code == 1 and "early access until 31 Dec 2099" in err
    assert not re.search(r"\d{4}-\d\d-\d\dT", err)


def test_version_and_show_print_dates_in_words(fake_civitai, capsys):
    model_id, version_id, _ = add_version(fake_civitai)
    for argv in (["version", str(version_id)], ["show", str(model_id)]):
        code, out, err = run(capsys, *argv)
        assert code == 0, err
        assert not re.search(r"\d{4}-\d\d-\d\d", out) and re.search(r"\b\d{1,2} [A-Z][a-z]{2} \d{4}\b", out)


def test_plurals_are_right(fake_civitai, capsys):
    code, out, _ = run(capsys, "queue", "--clear")
    assert code == 0 and out == "forgot 0 finished jobs\n"
    from civitai_companion.download import DownloadQueue

    queue = DownloadQueue(autostart=False)
    queue.submit("123")
    queue.close()
    code, out, _ = run(capsys, "queue", "--cancel", "all")
    assert code == 0 and out == "cancelled 1 job\n"


def test_download_json_lists_failed_references_with_their_error(fake_civitai, capsys, tmp_path):
    _, good, _ = add_version(fake_civitai, name="Good")
    _, bad, _ = add_version(fake_civitai, name="Bad")
    fake_civitai.set_fault(bad, "login_required")
    code, out, err = run(capsys, "download", str(good), str(bad), str(987654321), "--host", "standalone",
                         "--root", str(tmp_path), "--json")
    assert code == 1
    rows = json.loads(out)
    assert [r.get("modelVersionId") for r in rows if "path" in r] == [good]
    failed = {r["ref"]: r["error"] for r in rows if "error" in r}
    assert failed.keys() == {str(bad), "987654321"}
    assert failed[str(bad)].startswith("login required") and "no model version with id 987654321" in failed["987654321"]


def test_a_single_failed_download_with_json_is_a_json_document_too(fake_civitai, capsys, tmp_path):
    _, bad, _ = add_version(fake_civitai)
    fake_civitai.set_fault(bad, "login_required")
    code, out, err = run(capsys, "download", str(bad), "--host", "standalone", "--root", str(tmp_path), "--json")
    assert code == 1 and json.loads(out)["ref"] == str(bad) and "login required" in json.loads(out)["error"]


@pytest.mark.parametrize("fault", ["login_required", "early_access", "archived"])
def test_a_failed_download_leaves_no_empty_folder(fake_civitai, capsys, tmp_path, fault):
    _, version_id, _ = add_version(fake_civitai, name="Gone Model")
    fake_civitai.set_fault(version_id, fault)
    code, _, _ = run(capsys, "download", str(version_id), "--host", "comfyui", "--root", str(tmp_path / "ComfyUI"),
                     "--subfolder", "{baseModel}/{modelName}")
    assert code == 1 and not (tmp_path / "ComfyUI").exists()


def test_error_lines_have_no_nested_brackets(fake_civitai, capsys, tmp_path):
    model_id, version_id, _ = add_version(fake_civitai)
    other, _, _ = add_version(fake_civitai, name="Other")
    lines = []
    for argv in (["show", "1", "--base-url", CLOSED], ["search", "--type", "lora"],
                 ["download", f"civitai:{other}@{version_id}", "--host", "standalone", "--root", str(tmp_path)],
                 ["show", "1", "--base-url", fake_civitai.url + "/x"], ["lookup", "zz"]):
        code, out, err = run(capsys, *argv)
        lines += err.splitlines()
    fake_civitai.set_fault(version_id, "early_access")
    lines += run(capsys, "download", str(version_id), "--host", "standalone", "--root", str(tmp_path))[2].splitlines()
    fake_civitai.clear_faults()
    for _ in range(2):
        lines += run(capsys, "download", str(version_id), "--host", "standalone", "--root", str(tmp_path))[1].splitlines()
    assert len(lines) == 8 and "already there" in lines[-1]
    assert [line for line in lines if nested(line)] == []
