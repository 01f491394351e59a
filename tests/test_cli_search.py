"""The read-only CLI commands end to end against the fake Civitai server."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from civitai_companion.cli import main

ROOT = Path(__file__).resolve().parents[1]
PAGE_CAP = {"error": "You've requested too many pages, please use cursors instead"}


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def api_requests(fake, path):
    return [r for r in fake.requests if r.server == "api" and r.path == path]


def test_search_json_walks_short_pages_and_returns_raw_objects(capsys, monkeypatch):
    from tests.fake_civitai import FakeCivitai

    with FakeCivitai(generated=400) as fake:  # more than 4 pages of 100, with short and empty ones
        monkeypatch.setenv("CIVITAI_BASE_URL", fake.url)
        code, out, err = run(capsys, "search", "--nsfw", "--limit", "10000", "--json")
        pages = api_requests(fake, "/api/v1/models")
    assert code == 0, err
    models = json.loads(out)
    ids = [m["id"] for m in models]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(fake.models)  # --nsfw: every model, each exactly once
    assert len(pages) > 4 and all("page" not in r.query for r in pages)
    assert all("cursor" in r.query for r in pages[1:])
    first = models[0]
    assert "modelVersions" in first and "allowCommercialUse" in first  # camelCase, as the API sent it


def test_search_sends_repeated_types(fake_civitai, capsys):
    code, out, err = run(capsys, "search", "--type", "LORA", "--type", "Checkpoint", "--nsfw", "--limit", "500", "--json")
    assert code == 0, err
    types = {m["type"] for m in json.loads(out)}
    assert types and types <= {"LORA", "Checkpoint"}
    assert api_requests(fake_civitai, "/api/v1/models")[0].query["types"] == ["LORA", "Checkpoint"]


def test_search_table_output(fake_civitai, capsys):
    code, out, err = run(capsys, "search", "--type", "LORA", "--limit", "2")  # the fake has 2 SFW LoRAs even without fixtures
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].split()[:3] == ["ID", "TYPE", "NAME"]
    assert len(lines) == 3 and all("LORA" in line for line in lines[1:])


def test_search_retries_after_503(fake_civitai, capsys):
    fake_civitai.set_api_fault("/api/v1/models", 503, times=1, retry_after=0)
    code, out, err = run(capsys, "search", "--limit", "2", "--json")
    assert code == 0, err
    assert len(json.loads(out)) == 2
    assert len(api_requests(fake_civitai, "/api/v1/models")) == 2


def test_page_cap_429_is_not_retried(fake_civitai, capsys):
    fake_civitai.set_api_fault("/api/v1/models", 429, times=3, body=PAGE_CAP)
    code, out, err = run(capsys, "search", "--limit", "2")
    assert code == 1 and out == ""
    assert err.startswith("error: page limit:") and "cursors" in err and len(err.strip().splitlines()) == 1
    assert len(api_requests(fake_civitai, "/api/v1/models")) == 1


def test_show_unknown_model_is_one_line(fake_civitai, capsys):
    code, out, err = run(capsys, "show", "999999")
    assert code == 1
    assert err == f"error: no model with id 999999 on {fake_civitai.url}\n"


def test_show_and_version_json(fake_civitai, capsys):
    model = fake_civitai.generated_models(type="LORA")[0]
    code, out, _ = run(capsys, "show", str(model["id"]), "--json")
    assert code == 0 and json.loads(out)["id"] == model["id"]
    version_id = model["modelVersions"][0]["id"]
    code, out, _ = run(capsys, "version", str(version_id), "--json")
    body = json.loads(out)
    assert code == 0 and body["id"] == version_id and body["modelId"] == model["id"]


def test_show_human_output_lists_versions(fake_civitai, capsys):
    model = fake_civitai.models[fake_civitai.special["multi_version"]]
    code, out, _ = run(capsys, "show", str(model["id"]))
    assert code == 0
    assert model["name"] in out and "VERSION" in out
    assert all(str(v["id"]) in out for v in model["modelVersions"])


def test_lookup_by_every_hash_kind(fake_civitai, capsys):
    version_id, hashes = _some_generated_file(fake_civitai)
    for kind, value in hashes.items():
        code, out, err = run(capsys, "lookup", value.lower(), "--json")
        assert code == 0, (kind, err)
        assert json.loads(out)["id"] == version_id, kind


def test_lookup_unknown_hash(fake_civitai, capsys):
    code, _, err = run(capsys, "lookup", "0" * 64)
    assert code == 1 and "no model version with hash" in err


def test_login_required_message(fake_civitai, capsys):
    code, _, err = run(capsys, "search", "--favorites")
    assert code == 1
    assert err.startswith("error: login required") and "CIVITAI_API_TOKEN" in err


def test_token_only_where_it_matters(fake_civitai, capsys, monkeypatch):
    monkeypatch.setenv("CIVITAI_API_TOKEN", fake_civitai.token)
    assert run(capsys, "search", "--limit", "1", "--json")[0] == 0
    assert run(capsys, "search", "--favorites", "--limit", "1", "--json")[0] == 0
    plain, favs = api_requests(fake_civitai, "/api/v1/models")
    assert "authorization" not in {k.lower() for k in plain.headers}
    assert {k.lower(): v for k, v in favs.headers.items()}["authorization"] == f"Bearer {fake_civitai.token}"


def test_html_404_from_a_wrong_base_url(fake_civitai, capsys):
    code, _, err = run(capsys, "search", "--base-url", fake_civitai.url + "/nothing-here")
    assert code == 1 and "unknown API route" in err


def test_connection_refused_is_one_line(capsys):
    code, _, err = run(capsys, "show", "1", "--base-url", "http://127.0.0.1:9")
    assert code == 1 and err.startswith("error: 127.0.0.1:9 refused the connection") and len(err.splitlines()) == 1


def test_images_creators_tags(fake_civitai, capsys):
    code, out, err = run(capsys, "images", "--limit", "3", "--json")
    assert code == 0, err
    assert 0 < len(json.loads(out)) <= 3
    code, out, err = run(capsys, "creators", "--limit", "2", "--json")
    assert code == 0 and len(json.loads(out)) == 2, err
    code, out, err = run(capsys, "tags", "--limit", "2", "--json")
    assert code == 0 and len(json.loads(out)) == 2, err


def test_bad_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["search", "--sort", "Best"])
    assert info.value.code == 2


def test_console_entry_point_runs(fake_civitai):
    env = dict(os.environ, CIVITAI_BASE_URL=fake_civitai.url, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "civitai_companion", "search", "--limit", "2", "--json"],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)) == 2


def _some_generated_file(fake):
    model = fake.models[fake.special["big_lora"]]  # over 2 MiB, so it has all six kinds
    for version in model["modelVersions"]:
        version_id = version["id"]
        for f in version.get("files", []):
            hashes = f.get("hashes", {})
            if {"SHA256", "AutoV1", "AutoV2", "AutoV3", "CRC32", "BLAKE3"} <= set(hashes):
                return version_id, hashes
    raise AssertionError("the fake has no generated file with all six hash kinds")


def _api_get(fake, path):
    import requests

    response = requests.get(f"{fake.url}/api/v1/{path}", timeout=10)
    response.raise_for_status()
    return response.json()


def test_json_documents_are_exactly_what_the_api_returned(fake_civitai, capsys):
    model_id = fake_civitai.special["null_stats"]
    listed = _api_get(fake_civitai, f"models?ids={model_id}&nsfw=true")["items"]
    code, out, err = run(capsys, "search", "--ids", str(model_id), "--nsfw", "--json")
    assert code == 0, err
    assert json.loads(out) == listed
    code, out, _ = run(capsys, "show", str(model_id), "--json")
    assert code == 0 and json.loads(out) == _api_get(fake_civitai, f"models/{model_id}")
    version_id, hashes = _some_generated_file(fake_civitai)
    expected = _api_get(fake_civitai, f"model-versions/{version_id}")
    code, out, _ = run(capsys, "version", str(version_id), "--json")
    assert code == 0 and json.loads(out) == expected
    code, out, _ = run(capsys, "lookup", hashes["AutoV2"], "--json")
    assert code == 0 and json.loads(out) == _api_get(fake_civitai, f"model-versions/by-hash/{hashes['AutoV2']}")


def test_lookup_of_a_file_hashes_it_and_finds_its_version(fake_civitai, capsys, tmp_path):
    model = fake_civitai.models[fake_civitai.special["big_lora"]]
    version = model["modelVersions"][0]
    primary = next(f for f in version["files"] if f.get("primary", True))
    import requests

    path = tmp_path / "whimsy.safetensors"
    path.write_bytes(requests.get(f"{fake_civitai.url}/api/download/models/{version['id']}", timeout=30).content)
    code, out, err = run(capsys, "lookup", str(path), "--json")
    assert code == 0, err
    body = json.loads(out)
    assert body["id"] == version["id"]
    assert any(f["hashes"]["SHA256"] == primary["hashes"]["SHA256"] for f in body["files"])


def test_search_retry_honours_retry_after(fake_civitai, capsys, monkeypatch):
    from civitai_companion.api import CivitaiClient
    from civitai_companion.cli import search

    sleeps = []
    monkeypatch.setattr(search, "make_client", lambda args: CivitaiClient(base_url=args.base_url, sleep=sleeps.append))
    fake_civitai.set_api_fault("/api/v1/models", 503, times=2, retry_after=7)
    code, out, err = run(capsys, "search", "--limit", "2", "--json")
    assert code == 0, err
    assert sleeps == [7.0, 7.0] and len(json.loads(out)) == 2
    assert len(api_requests(fake_civitai, "/api/v1/models")) == 3


def test_unauthorized_token_message(fake_civitai, capsys, monkeypatch):
    monkeypatch.setenv("CIVITAI_API_TOKEN", "not-the-right-token")
    code, _, err = run(capsys, "search", "--favorites")
    assert code == 1 and err.startswith("error: unauthorized") and "not-the-right-token" not in err
    assert len(err.splitlines()) == 1


def test_token_only_on_requests_that_need_it(fake_civitai, capsys, monkeypatch):
    monkeypatch.setenv("CIVITAI_API_TOKEN", fake_civitai.token)
    assert run(capsys, "search", "--favorites", "--limit", "1", "--json")[0] == 0
    assert run(capsys, "images", "--limit", "1", "--json")[0] == 0
    assert run(capsys, "show", str(fake_civitai.special["big_lora"]), "--json")[0] == 0
    assert run(capsys, "lookup", "0" * 64)[0] == 1
    sent = [r for r in fake_civitai.requests if "authorization" in {k.lower() for k in r.headers}]
    assert [r.path for r in sent] == ["/api/v1/models"]  # favourites only: where the token matters


@pytest.mark.parametrize(
    "argv, words",
    [
        (["search", "--limit", "0"], "argument --limit: must be a positive number"),
        (["search", "--ids", "1,abc"], "argument --ids: expected model ids"),
        (["images", "--model-id", "x"], "argument --model-id"),
        (["nonsense"], "invalid choice: 'nonsense'"),
        ([], "required: COMMAND"),
    ],
)
def test_usage_errors_are_one_line(capsys, argv, words):
    with pytest.raises(SystemExit) as info:
        main(argv)
    out, err = capsys.readouterr()
    assert info.value.code == 2 and out == ""
    assert err.startswith("error: ") and words in err and len(err.splitlines()) == 1


def test_lookup_of_a_missing_file_says_so(capsys, tmp_path):
    code, _, err = run(capsys, "lookup", str(tmp_path / "gone.safetensors"))
    assert code == 1 and err == f"error: no such file: {tmp_path / 'gone.safetensors'}\n"


def test_lookup_of_a_folder_says_so(capsys, tmp_path):
    code, _, err = run(capsys, "lookup", str(tmp_path))
    assert code == 1 and err.startswith("error: ") and "is a folder" in err and len(err.splitlines()) == 1


def test_lookup_of_junk_is_one_line(capsys):
    code, _, err = run(capsys, "lookup", "not-a-hash")
    assert code == 2 and err.startswith("error: not a Civitai hash") and len(err.splitlines()) == 1


def test_invalid_base_url_is_a_usage_error_of_one_line(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["show", "1", "--base-url", "civitai.com"])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and err.startswith("error: argument --base-url: not a site address")
    assert len(err.splitlines()) == 1


def test_images_filters_reach_the_server(fake_civitai, capsys):
    model_id = fake_civitai.special["big_lora"]
    code, out, err = run(capsys, "images", "--model-id", str(model_id), "--nsfw", "X", "--sort", "Newest", "--limit", "2", "--json")
    assert code == 0, err
    query = api_requests(fake_civitai, "/api/v1/images")[0].query
    assert query["modelId"] == [str(model_id)] and query["nsfw"] == ["X"] and query["sort"] == ["Newest"]


def test_empty_results_are_said_in_words(fake_civitai, capsys):
    code, out, _ = run(capsys, "search", "no-such-model-anywhere-zzz")
    assert code == 0 and out == "no models found\n"
    code, out, _ = run(capsys, "creators", "no-such-creator-anywhere-zzz")
    assert code == 0 and out == "no creators found\n"
    code, out, _ = run(capsys, "search", "no-such-model-anywhere-zzz", "--json")
    assert code == 0 and json.loads(out) == []


@pytest.mark.parametrize("command", ["images", "creators", "tags"])
def test_every_option_has_help_text(command):
    from civitai_companion.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
    missing = [a.option_strings[0] if a.option_strings else a.dest for a in sub._actions if not a.help]
    assert missing == []


def test_top_level_help_lists_every_environment_variable(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    for name in ("CIVITAI_BASE_URL", "CIVITAI_API_TOKEN", "CIVITAI_COMPANION_HOME", "CIVITAI_COMPANION_MODELS",
                 "CIVITAI_COMPANION_UNKNOWN_TTL", "CIVITAI_DISABLE_PROGRESS_BARS"):
        assert name in out
