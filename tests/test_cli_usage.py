"""Wrong arguments: every malformed value exits 2 from every command, filter values are checked against
Civitai's own lists, and ``--help`` or a usage error costs no import of the HTTP stack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from civitai_companion.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exited:  # argparse's own usage errors
        code = exited.code
    out, err = capsys.readouterr()
    return code, out, err


# -- 7. exit code 2 for every malformed argument --------------------------------------------------------------
@pytest.mark.parametrize("argv", [
    ["show", "abc"], ["show", "-1"], ["show", "0"], ["version", "abc"], ["version", "-1"],
    ["version", "99999999999"], ["images", "--model-id", "abc"], ["images", "--version-id", "-1"],
    ["images", "--post-id", "3000000000"], ["search", "--ids", "1,abc"],
    ["download", "abc"], ["download", "--", "-1"], ["download", "civitai:abc"], ["download", "civitai:1@x"],
    ["download", "https://civitai.com/models/abc"], ["download", "1", "abc"],
    ["download", "1", "--file-id", "x"], ["download", "1", "--file-id", "-3"],
    ["download", "1", "--subfolder", "{nonsense}"], ["download"], ["download", "1", "--file-id", "2", "--fp", "fp16"],
    ["lookup", "xyz"], ["lookup", "0x12"], ["queue", "--cancel", "nope"],
    ["scan", "--nsfw-level", "99"], ["scan", "--nsfw-level", "0"], ["scan", "--workers", "0"],
    ["triggers", "x.safetensors", "--weight", "nan"], ["triggers", "x.safetensors", "--weight", "heavy"],
    ["search", "--limit", "-5"], ["search", "--base-url", "civitai.com"], ["me", "--base-url", "ftp://x"],
    ["search", "--sort", "newest"], ["images", "--nsfw", "soft"], ["download", "1", "--host", "Forge"],
])
def test_every_malformed_argument_exits_2_with_one_line(capsys, argv):
    code, out, err = run(capsys, *argv, "--base-url", "http://127.0.0.1:9") if "--base-url" not in argv \
        else run(capsys, *argv)
    assert code == 2, err
    assert out == "" and err.startswith("error: ") and err.count("\n") == 1
    assert "refused" not in err  # found before any request


def test_a_near_miss_among_fixed_values_says_what_was_meant(capsys):
    code, _, err = run(capsys, "search", "--sort", "most downloaded")
    assert code == 2 and "did you mean Most Downloaded?" in err
    code, _, err = run(capsys, "download", "1", "--host", "ComfyUI")
    assert code == 2 and "did you mean comfyui?" in err


# -- 8. filters checked against /api/v1/enums ---------------------------------------------------------------------
def models_requests(fake):
    return fake.requests_to("api", path_prefix="/api/v1/models")


def test_a_type_in_the_wrong_case_is_refused_with_the_right_spelling(fake_civitai, capsys):
    code, out, err = run(capsys, "search", "--type", "lora")
    assert code == 2 and out == ""
    assert "unknown model type 'lora'; did you mean LORA?" in err
    assert not models_requests(fake_civitai)  # refused before the search


def test_a_common_name_for_a_type_is_translated_into_the_suggestion(fake_civitai, capsys):
    code, _, err = run(capsys, "search", "--type", "LyCORIS")
    assert code == 2 and "did you mean LoCon?" in err


def test_an_unknown_type_lists_civitais_types(fake_civitai, capsys):
    code, _, err = run(capsys, "search", "--type", "Bogus")
    assert code == 2 and "Checkpoint" in err and "LORA" in err


def test_a_base_model_near_miss_is_named(fake_civitai, capsys):
    code, _, err = run(capsys, "search", "--base-model", "sdxl 1.0")
    assert code == 2 and "did you mean SDXL 1.0?" in err


@pytest.mark.parametrize("value, hint", [("rent", "did you mean Rent?"), ("Forever", "Image")])
def test_a_licence_value_civitai_does_not_have_is_refused(fake_civitai, capsys, value, hint):
    code, _, err = run(capsys, "search", "--allow-commercial-use", value)
    assert code == 2 and hint in err
    assert not models_requests(fake_civitai)


def test_right_values_are_sent_and_the_lists_are_cached(fake_civitai, capsys):
    for _ in range(2):
        code, out, err = run(capsys, "search", "--type", "LORA", "--base-model", "SD 1.5", "--json", "--limit", "1")
        assert code == 0, err
    assert len(fake_civitai.requests_to("api", path_prefix="/api/v1/enums")) == 1  # the second search used the cache
    assert all(r.query.get("types") == ["LORA"] for r in models_requests(fake_civitai))


def test_a_value_missing_from_the_cached_lists_asks_civitai_again(fake_civitai, capsys, tmp_path):
    from civitai_companion import config

    stale = {fake_civitai.url: {"fetched": 9e18, "enums": {"ModelType": ["LORA"], "BaseModel": ["SD 1.5"]}}}
    config.home_dir().mkdir(parents=True, exist_ok=True)
    (config.home_dir() / "enums.json").write_text(json.dumps(stale))
    code, _, err = run(capsys, "search", "--base-model", "SDXL 1.0", "--json", "--limit", "1")
    assert code == 0, err
    assert len(fake_civitai.requests_to("api", path_prefix="/api/v1/enums")) == 1


# -- 10. --help and usage errors stay cheap ------------------------------------------------------------------
@pytest.mark.parametrize("argv", [["--help"], ["download", "--help"], ["show", "abc"], ["search", "--limit", "x"]])
def test_help_and_usage_errors_do_not_import_the_http_stack(argv):
    code = (
        "import sys\n"
        "from civitai_companion.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('requests', 'urllib3', 'tqdm', 'civitai_companion.api.client', 'importlib.abc',\n"
        "                     'logging', 'json', 'shutil') if m in sys.modules]\n"
        "sys.stderr.write('HEAVY=' + ','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.stderr.rsplit("HEAVY=", 1)[-1] == "", done.stderr
