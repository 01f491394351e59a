"""Bad input from the user, the network, the API or the disk: one clear line, nothing lost, no traceback."""

from __future__ import annotations

import gzip
import json

import pytest

from civitai_companion.cli import main

DEEP = "[" * 100_000  # valid-looking JSON nested far deeper than Python's recursion limit


def run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> bool:
    lines = [line for line in err.splitlines() if not line.startswith("WARNING: ")]
    return len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err


def add_version(fake, name="Robust", size=5000):
    model = fake.add_model(name=name, type="LORA", file_sizes=(size,))
    version = model["modelVersions"][0]
    return model, version["id"], version["files"][0]


def library_with_one_lora(fake, tmp_path):
    model, version_id, file = add_version(fake)
    folder = tmp_path / "loras"
    folder.mkdir(parents=True)
    path = folder / file["name"]
    path.write_bytes(fake.file_bytes(file["id"]))
    return path, version_id, file


# -- files on disk ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".civitai.info", ".json"])
def test_deeply_nested_sidecar_is_moved_aside_not_a_traceback(fake_civitai, capsys, tmp_path, suffix):
    path, _, _ = library_with_one_lora(fake_civitai, tmp_path)
    sidecar = path.with_name(path.stem + suffix)
    sidecar.write_text(DEEP)
    code, _, err = run(capsys, "scan", "--root", str(tmp_path), "--no-previews")
    assert code == 0, err
    assert [p for p in tmp_path.joinpath("loras").iterdir() if ".bad-" in p.name][0].read_text() == DEEP
    assert isinstance(json.loads(sidecar.read_text()), dict)


def test_triggers_reads_past_a_deeply_nested_user_json(fake_civitai, capsys, tmp_path):
    path, _, _ = library_with_one_lora(fake_civitai, tmp_path)
    path.with_suffix(".json").write_text(DEEP)
    code, _, err = run(capsys, "triggers", str(path))
    assert "Traceback" not in err and code in (0, 1)
    assert path.with_suffix(".json").read_text() == DEEP  # triggers only reads


def test_safetensors_header_nested_too_deep_is_just_no_metadata(tmp_path):
    from civitai_companion.library.hashing import claimed_hashes

    header = ('{"__metadata__": ' + DEEP).encode()
    path = tmp_path / "deep.safetensors"
    path.write_bytes(len(header).to_bytes(8, "little") + header + b"\0" * 16)
    assert claimed_hashes(path) == {}


def test_safe_json_turns_every_failure_into_value_error():
    from civitai_companion import safe_json

    for bad in (DEEP, b"\xff\xfe{}", "{nope", b"", "9" * 5000):
        with pytest.raises(ValueError):
            safe_json.loads(bad)
    assert safe_json.loads(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}


def test_huge_json_file_is_refused_without_reading_it(tmp_path):
    from civitai_companion import safe_json

    path = tmp_path / "big.json"
    path.write_text('{"a": "' + "x" * 2000 + '"}')
    with pytest.raises(ValueError, match="too big"):
        safe_json.read_file(path, max_bytes=1000)


# -- the download queue file --------------------------------------------------------------------------------
@pytest.mark.parametrize("content", [DEEP.encode(), b"\xff\xfe\x00{}"], ids=["deep", "not-utf8"])
def test_unreadable_queue_file_is_moved_aside(capsys, _private_state, content):
    queue_file = _private_state / "downloads.json"
    queue_file.write_bytes(content)
    code, out, err = run(capsys, "queue")
    assert code == 0, err
    assert "the download queue is empty" in out
    assert (_private_state / "downloads.json.bad").read_bytes() == content


def test_queue_jobs_with_wrong_field_types_are_loaded_sanely(capsys, _private_state):
    jobs = [
        {"id": "ok1", "ref": "123", "status": "failed", "total": "big", "bytes_done": None, "created": "x",
         "error": 5, "options": ["x"], "version_id": "7", "name": ["n"], "folder": 3},
        {"id": "ok2", "ref": "456", "status": 9},
        {"id": 5, "ref": "789"},
    ]
    (_private_state / "downloads.json").write_text(json.dumps({"jobs": jobs}))
    code, out, err = run(capsys, "queue", "--json")
    assert code == 0, err
    loaded = {job["id"]: job for job in json.loads(out)}
    assert set(loaded) == {"ok1", "ok2"}
    assert loaded["ok1"]["total"] is None and loaded["ok1"]["bytes_done"] == 0 and loaded["ok1"]["error"] is None
    assert loaded["ok1"]["folder"] is None and loaded["ok1"]["options"] == {} and loaded["ok1"]["status"] == "failed"
    assert loaded["ok2"]["status"] == "failed"  # an unknown status is not run again blindly


# -- API answers of the wrong shape --------------------------------------------------------------------------
def test_error_body_nested_too_deep_is_a_one_line_error(fake_civitai, capsys, tmp_path):
    _, version_id, _ = add_version(fake_civitai)
    fake_civitai.set_api_fault(f"/api/download/models/{version_id}", 400, body=DEEP, times=None)
    code, _, err = run(capsys, "download", str(version_id), "--host", "standalone", "--root", str(tmp_path))
    assert code == 1 and one_line_error(err)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_by_hash_match_without_a_version_id_is_not_resolved(fake_civitai, capsys, tmp_path):
    path, _, file = library_with_one_lora(fake_civitai, tmp_path)
    garbage = [{"id": "x", "files": [{"hashes": {"SHA256": file["hashes"]["SHA256"]}}]}]
    fake_civitai.set_api_fault("/api/v1/model-versions/by-hash", 200, body=garbage, times=None)
    code, out, err = run(capsys, "scan", "--root", str(tmp_path), "--json", "--no-previews")
    assert "Traceback" not in err
    assert json.loads(out)[0]["status"] != "resolved"
    assert not path.with_name(path.stem + ".civitai.info").exists()


def test_version_without_an_id_is_a_clear_error(fake_civitai, capsys, tmp_path):
    _, version_id, _ = add_version(fake_civitai)
    fake_civitai.set_api_fault(f"/api/v1/model-versions/{version_id}", 200, body={"name": "no id"}, times=None)
    code, _, err = run(capsys, "download", str(version_id), "--host", "standalone", "--root", str(tmp_path))
    assert code == 1 and one_line_error(err) and "id" in err
    assert not any(tmp_path.rglob("*"))


def test_undecodable_gzip_api_answer_is_a_bad_response(requests_mock):
    from civitai_companion.api import CivitaiClient
    from civitai_companion.api.errors import BadResponse

    requests_mock.get("https://civitai.example/api/v1/models/5", content=b"\x1f\x8bgarbage",
                      headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
    client = CivitaiClient(base_url="https://civitai.example", sleep=lambda s: None)
    with pytest.raises(BadResponse, match="could not be decoded"):
        client.model(5)


def test_download_redirect_loop_says_so(requests_mock, tmp_path):
    from civitai_companion.api.errors import CivitaiError
    from civitai_companion.api.http import Transport

    requests_mock.get("https://civitai.example/loop", status_code=302, headers={"Location": "https://civitai.example/loop"})
    transport = Transport(sleep=lambda s: None)
    with pytest.raises(CivitaiError, match="too many redirects"):
        transport.send("GET", "https://civitai.example/loop")


# -- the storage host's answer ---------------------------------------------------------------------------------
@pytest.fixture
def storage_answer(fake_civitai, monkeypatch):
    """Replace the storage host's answer with one built by the test: fn(file bytes) -> Response."""
    from tests.fake_civitai import server

    real = server.downloads.storage
    holder = {}

    def storage(fake, request, raw_id, raw_name):
        if "fn" not in holder:
            return real(fake, request, raw_id, raw_name)
        return holder["fn"](fake.file_bytes(int(raw_id)))

    monkeypatch.setattr(server.downloads, "storage", storage)
    return holder


def test_gzip_encoded_file_is_decoded_and_verified(fake_civitai, storage_answer, capsys, tmp_path):
    from tests.fake_civitai.wire import Response

    _, version_id, file = add_version(fake_civitai)
    storage_answer["fn"] = lambda data: Response(200, gzip.compress(data), "application/octet-stream",
                                                 [("Content-Encoding", "gzip")])
    code, out, err = run(capsys, "download", str(version_id), "--host", "standalone", "--root", str(tmp_path), "--json")
    assert code == 0, err
    assert json.loads(out)["sha256"] == file["hashes"]["SHA256"]
    assert not list(tmp_path.rglob("*.part*"))


def test_undecodable_gzip_file_is_one_line_and_leaves_nothing(fake_civitai, storage_answer, capsys, tmp_path):
    from tests.fake_civitai.wire import Response

    _, version_id, _ = add_version(fake_civitai)
    storage_answer["fn"] = lambda data: Response(200, b"\x1f\x8b" + b"garbage" * 50, "application/octet-stream",
                                                 [("Content-Encoding", "gzip")])
    code, _, err = run(capsys, "download", str(version_id), "--host", "standalone", "--root", str(tmp_path))
    assert code == 1 and one_line_error(err)
    assert "could not be decoded" in err and "resume" not in err
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


# -- user input ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ref", ["٣", "https://civitai.com/models/٣", "urn:air:sd1:lora:civitai:1@٣٣"])
def test_non_ascii_digits_are_not_ids(capsys, ref):
    code, _, err = run(capsys, "download", ref)
    assert code == 2 and one_line_error(err)
    assert "not a Civitai id" in err or "cannot read" in err


@pytest.mark.parametrize("argv", [["show", "٣"], ["version", "٣"], ["search", "--ids", "٣"]])
def test_non_ascii_digits_are_not_ids_anywhere(capsys, argv):
    code, _, err = run(capsys, *argv)
    assert code in (1, 2) and one_line_error(err)
    assert "id" in err and "connection" not in err  # refused before any request


def test_ref_with_a_giant_number_is_a_plain_usage_error(capsys):
    code, _, err = run(capsys, "download", "https://civitai.com/models/" + "9" * 5000)
    assert code == 2 and one_line_error(err)
    assert "not a Civitai id" in err and "4300" not in err


def test_unexpected_exception_is_one_line_not_a_traceback(capsys, monkeypatch):
    from civitai_companion.cli import search

    def broken(args):
        raise TypeError("something the code did not expect")

    monkeypatch.setattr(search, "make_client", broken)
    code, _, err = run(capsys, "show", "5")
    assert code == 1 and one_line_error(err)
    assert "TypeError" in err and "something the code did not expect" in err


def test_a_second_damaged_queue_file_does_not_replace_the_first(capsys, _private_state):
    (_private_state / "downloads.json").write_text("{first")
    run(capsys, "queue")
    (_private_state / "downloads.json").write_text("{second")
    code, _, err = run(capsys, "queue")
    assert code == 0, err
    kept = sorted(p.read_text() for p in _private_state.glob("downloads.json.bad*"))
    assert kept == ["{first", "{second"]


def run_unless_blocked(capsys, fifo, *argv):
    """main(argv) in a thread; if it is still blocked on ``fifo`` after a minute, unblock it and fail."""
    import threading

    done = {}
    worker = threading.Thread(target=lambda: done.setdefault("code", main(list(argv))), daemon=True)
    worker.start()
    worker.join(60)
    if worker.is_alive():
        with open(fifo, "wb"):  # a writer lets the blocked reader see end-of-file
            pass
        worker.join(10)
        pytest.fail(f"{argv[0]} blocked on the FIFO {fifo.name}")
    out, err = capsys.readouterr()
    return done["code"], out, err


@pytest.mark.parametrize("suffix", [".civitai.info", ".json"])
def test_a_fifo_named_like_a_sidecar_does_not_hang_the_scan(fake_civitai, capsys, tmp_path, suffix):
    import os

    path, _, _ = library_with_one_lora(fake_civitai, tmp_path)
    fifo = path.with_name(path.stem + suffix)
    os.mkfifo(fifo)
    code, _, err = run_unless_blocked(capsys, fifo, "scan", "--root", str(tmp_path), "--no-previews")
    assert code == 1  # a sidecar was not written: the exit status says so
    assert f"error: {fifo} is not a regular file" in err and "[Errno" not in err
    assert fifo.exists() and not fifo.is_file()  # left alone
    other = ".json" if suffix == ".civitai.info" else ".civitai.info"
    assert path.with_name(path.stem + other).is_file()  # the other sidecar is still written


def test_a_fifo_as_the_queue_file_does_not_hang(capsys, _private_state):
    import os

    fifo = _private_state / "downloads.json"
    os.mkfifo(fifo)
    code, out, err = run_unless_blocked(capsys, fifo, "queue")
    assert code == 0 and "the download queue is empty" in out
    assert "downloads.json" in err  # said why it could not be read


def test_a_fifo_as_the_token_file_is_ignored_not_waited_on(capsys):
    import os

    from civitai_companion import config

    fifo = config.token_file()
    fifo.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(fifo, 0o600)
    code, _, err = run_unless_blocked(capsys, fifo, "me", "--base-url", "http://127.0.0.1:9")
    assert code == 1 and "not a regular file" in err
