"""Sidecars: .civitai.info, preview image, A1111 <base>.json — merged, atomic, never destroying user data."""

from __future__ import annotations

import json
import os

import pytest
import requests

from civitai_companion.library import sidecars
from civitai_companion.api import ModelVersion
from civitai_companion.library.hash_cache import sidecar_sha256
from civitai_companion.library.sidecars import (
    html_to_text,
    pick_preview_image,
    sd_version,
    sniff_image_extension,
    write_preview,
    write_sidecars,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 40
SHA = "A" * 64


def make_version(images=None, **extra) -> ModelVersion:
    raw = {
        "id": 22,
        "modelId": 11,
        "name": "v2.0",
        "baseModel": "SDXL 1.0",
        "trainedWords": ["ppWhimsy", "storybook"],
        "description": "<p>Great <b>LoRA</b> &amp; more</p><ul><li>one</li><li>two</li></ul>",
        "model": {"name": "Whimsy", "type": "LORA"},
        "files": [{"id": 5, "name": "whimsy.safetensors", "hashes": {"SHA256": SHA}, "primary": True}],
        "images": images if images is not None else [],
    }
    raw.update(extra)
    return ModelVersion.from_api(raw)


def image(url, level=1, kind="image"):
    return {"url": url, "nsfwLevel": level, "type": kind}


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "whimsy.safetensors"
    path.write_bytes(b"model bytes")
    return path


SD_TABLE = [
    ("SD 1.4", "SD1"), ("SD 1.5", "SD1"), ("SD 1.5 LCM", "SD1"), ("SD 1.5 Hyper", "SD1"),
    ("SD 2.0", "SD2"), ("SD 2.0 768", "SD2"), ("SD 2.1", "SD2"), ("SD 2.1 768", "SD2"), ("SD 2.1 Unclip", "SD2"),
    ("SDXL 0.9", "SDXL"), ("SDXL 1.0", "SDXL"), ("SDXL Turbo", "SDXL"), ("SDXL Lightning", "SDXL"),
    ("SDXL Hyper", "SDXL"), ("SDXL Distilled", "SDXL"), ("Pony", "SDXL"), ("Illustrious", "SDXL"),
    ("NoobAI", "SDXL"), ("Pony V7", "Unknown"), ("Flux.1 D", "Unknown"), ("Flux.1 S", "Unknown"),
    ("SD 3", "Unknown"), ("SD 3.5 Large", "Unknown"), ("Wan Video 14B t2v", "Unknown"), ("Other", "Unknown"),
    ("", "Unknown"), (None, "Unknown"),
]


@pytest.mark.parametrize("base_model, expected", SD_TABLE)
def test_sd_version_table(base_model, expected):
    assert sd_version(base_model) == expected


@pytest.mark.parametrize("base_model", ["Flux.1 D", "Flux.1 S", "Flux.1 Kontext"])
def test_sd_version_flux_on_forge(base_model):
    assert sd_version(base_model, host="forge") == "Flux"
    assert sd_version("SDXL 1.0", host="forge") == "SDXL"


def test_html_to_text_strips_tags_and_keeps_lines():
    text = html_to_text("<p>Use <b>0.8</b> &amp; up</p><ul><li>one</li><li>two</li></ul><script>x()</script>")
    assert text == "Use 0.8 & up\n- one\n- two"


def test_html_to_text_does_not_revive_escaped_tags():
    text = html_to_text("<p>&lt;img src=x onerror=alert(1)&gt; ok &lt;script&gt;bad()&lt;/script&gt;</p>")
    assert "<" not in text and "onerror" not in text and "ok" in text


def test_info_holds_version_json_and_our_record(model):
    version = make_version()
    result = write_sidecars(model, version, sha256=SHA.lower(), preview=False, base_url="https://civitai.example")
    info = json.loads((model.parent / "whimsy.civitai.info").read_text())
    record = info.pop("extensions")["civitai_companion"]
    assert info == version.raw
    st = os.stat(model)
    assert set(record) == {"sha256", "size", "mtime_ns", "resolvedAt", "modelUrl", "userJson"}
    assert (record["sha256"], record["size"], record["mtime_ns"]) == (SHA, st.st_size, st.st_mtime_ns)
    assert record["modelUrl"] == "https://civitai.example/models/11?modelVersionId=22"
    assert result.info_path == model.parent / "whimsy.civitai.info"
    assert sidecar_sha256(model) == SHA  # the hash cache accepts what we wrote


def test_info_keeps_other_tools_extensions(model):
    (model.parent / "whimsy.civitai.info").write_text(json.dumps({"extensions": {"other": {"k": 1}}}))
    write_sidecars(model, make_version(), sha256=SHA, preview=False)
    info = json.loads((model.parent / "whimsy.civitai.info").read_text())
    assert info["extensions"]["other"] == {"k": 1} and "civitai_companion" in info["extensions"]


def test_user_json_is_written_for_a_new_model(model):
    write_sidecars(model, make_version(), sha256=SHA, preview=False, base_url="https://c.example")
    data = json.loads((model.parent / "whimsy.json").read_text())
    assert data == {
        "description": "Great LoRA & more\n- one\n- two",
        "sd version": "SDXL",
        "activation text": "ppWhimsy, storybook",
        "notes": "https://c.example/models/11?modelVersionId=22",
        "preferred weight": 0,
    }


def test_user_json_merge_never_clobbers_user_keys(model):
    user = {"activation text": "my words", "sd version": "SD1", "preferred weight": 0.7, "notes": "", "vae": "x.pt"}
    (model.parent / "whimsy.json").write_text(json.dumps(user))
    result = write_sidecars(model, make_version(), sha256=SHA, preview=False, base_url="https://c.example")
    data = json.loads((model.parent / "whimsy.json").read_text())
    assert data["activation text"] == "my words"
    assert data["sd version"] == "SD1"
    assert data["preferred weight"] == 0.7
    assert data["vae"] == "x.pt"
    assert data["notes"] == "https://c.example/models/11?modelVersionId=22"  # empty: ours to fill
    assert data["description"].startswith("Great LoRA")
    assert result.user_json_changed


def _user_json(model):
    return json.loads((model.parent / "whimsy.json").read_text())


def test_info_records_what_we_wrote_into_user_json(model):
    write_sidecars(model, make_version(), sha256=SHA, preview=False, base_url="https://c.example")
    record = json.loads((model.parent / "whimsy.civitai.info").read_text())["extensions"]["civitai_companion"]
    assert record["userJson"] == {k: v for k, v in _user_json(model).items() if k != "preferred weight"}


def test_a_value_we_wrote_is_updated_by_a_later_scan(model):
    flux = make_version(baseModel="Flux.1 D")
    write_sidecars(model, flux, sha256=SHA, preview=False)
    assert _user_json(model)["sd version"] == "Unknown"
    result = write_sidecars(model, flux, sha256=SHA, preview=False, host="forge")
    assert _user_json(model)["sd version"] == "Flux" and result.user_json_changed


def test_a_file_replaced_by_another_model_gets_its_values(model):
    write_sidecars(model, make_version(), sha256=SHA, preview=False)
    other = make_version(id=99, trainedWords=[], description="<p>Other</p>", baseModel="SD 1.5")
    write_sidecars(model, other, sha256=SHA, preview=False)
    data = _user_json(model)
    assert (data["activation text"], data["sd version"], data["description"]) == ("", "SD1", "Other")


def test_a_value_the_user_changed_is_never_updated(model):
    write_sidecars(model, make_version(baseModel="Flux.1 D"), sha256=SHA, preview=False)
    data = _user_json(model)
    (model.parent / "whimsy.json").write_text(json.dumps({**data, "activation text": "mine", "sd version": "SDXL"}))
    write_sidecars(model, make_version(trainedWords=["new"], baseModel="Flux.1 D"), sha256=SHA, preview=False,
                   host="forge")
    write_sidecars(model, make_version(trainedWords=["newer"], baseModel="Flux.1 D"), sha256=SHA, preview=False,
                   host="forge")
    data = _user_json(model)
    assert (data["activation text"], data["sd version"]) == ("mine", "SDXL")
    assert data["description"].startswith("Great LoRA")


def test_malformed_user_json_is_kept_aside(model):
    (model.parent / "whimsy.json").write_text("{not json")
    result = write_sidecars(model, make_version(), sha256=SHA, preview=False)
    aside = [p for p in model.parent.iterdir() if p.name.startswith("whimsy.json.bad-")]
    assert len(aside) == 1 and aside[0].read_text() == "{not json"
    assert result.moved_aside == aside
    assert json.loads((model.parent / "whimsy.json").read_text())["activation text"] == "ppWhimsy, storybook"


def test_malformed_info_is_kept_aside(model):
    (model.parent / "whimsy.civitai.info").write_text("[1, 2]")
    write_sidecars(model, make_version(), sha256=SHA, preview=False)
    aside = [p for p in model.parent.iterdir() if p.name.startswith("whimsy.civitai.info.bad-")]
    assert len(aside) == 1 and aside[0].read_text() == "[1, 2]"


def test_writes_leave_no_temporary_files(model):
    write_sidecars(model, make_version(), sha256=SHA, preview=False)
    names = sorted(p.name for p in model.parent.iterdir())
    assert names == ["whimsy.civitai.info", "whimsy.json", "whimsy.safetensors"]


def test_failed_write_keeps_the_old_file_and_no_temp(model, monkeypatch):
    target = model.parent / "whimsy.json"
    target.write_text('{"notes": ""}')

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sidecars.os, "replace", broken_replace)
    with pytest.raises(OSError):
        sidecars.atomic_write_json(target, {"new": True})
    assert target.read_text() == '{"notes": ""}'
    assert sorted(p.name for p in model.parent.iterdir()) == ["whimsy.json", "whimsy.safetensors"]


def test_pick_preview_skips_video_and_over_nsfw():
    version = make_version(
        [
            image("https://img.example/a.mp4", 1, "video"),
            image("https://img.example/b.jpeg", 4),
            image("https://img.example/u.jpeg", 0),  # not rated yet: not guessed safe
            image("https://img.example/c.jpeg", 1),
            image("https://img.example/d.jpeg", 1),
        ]
    )
    assert pick_preview_image(version).url.endswith("/c.jpeg")
    assert pick_preview_image(version, max_nsfw_level=4).url.endswith("/b.jpeg")


def test_sniff_uses_magic_bytes_over_content_type():
    assert sniff_image_extension(PNG[:16], "image/jpeg") == ".png"
    assert sniff_image_extension(b"RIFF\x00\x00\x00\x00WEBPVP8 ", None) == ".webp"
    assert sniff_image_extension(b"<!doctype html><html>", "image/png") is None


def test_preview_gets_real_extension_and_no_token(model, requests_mock):
    requests_mock.get("https://img.example/c.jpeg", content=PNG, headers={"Content-Type": "image/jpeg"})
    session = requests.Session()
    session.headers["Authorization"] = "Bearer secret"
    version = make_version([image("https://img.example/c.jpeg")])
    result = write_sidecars(model, version, sha256=SHA, session=session)
    assert result.preview_path == model.parent / "whimsy.preview.png"
    assert result.preview_path.read_bytes() == PNG
    assert "Authorization" not in requests_mock.last_request.headers


@pytest.mark.parametrize("existing", ["whimsy.preview.jpeg", "whimsy.png", "whimsy.preview.webp"])
def test_existing_preview_is_never_replaced(model, requests_mock, existing):
    (model.parent / existing).write_bytes(b"user's choice")
    requests_mock.get("https://img.example/c.jpeg", content=JPEG)
    result = write_sidecars(model, make_version([image("https://img.example/c.jpeg")]), sha256=SHA)
    assert not requests_mock.called
    assert result.preview_path == model.parent / existing and not result.preview_written
    assert (model.parent / existing).read_bytes() == b"user's choice"


def test_replace_preview_when_asked(model, requests_mock):
    (model.parent / "whimsy.preview.png").write_bytes(b"old")
    requests_mock.get("https://img.example/c.jpeg", content=JPEG)
    result = write_preview(model, make_version([image("https://img.example/c.jpeg")]), replace_preview=True)
    assert result == model.parent / "whimsy.preview.jpg" and result.read_bytes() == JPEG
    assert not (model.parent / "whimsy.preview.png").exists()
    [aside] = model.parent.glob("whimsy.preview.png.replaced-*")
    assert aside.read_bytes() == b"old"


@pytest.mark.parametrize("mine", ["whimsy.png", "whimsy.jpg", "whimsy.preview.jpg"])
def test_replaced_previews_are_moved_aside_so_ours_is_shown(model, requests_mock, mine):
    (model.parent / mine).write_bytes(b"user's own picture")
    requests_mock.get("https://img.example/c.jpeg", content=JPEG)
    result = write_sidecars(model, make_version([image("https://img.example/c.jpeg")]), sha256=SHA,
                            replace_preview=True)
    assert sidecars.existing_previews(model) == [model.parent / "whimsy.preview.jpg"]  # what A1111 shows
    [aside] = model.parent.glob(mine + ".replaced-*")
    assert aside.read_bytes() == b"user's own picture"
    assert aside in result.moved_aside
    assert any(mine in w and aside.name in w for w in result.warnings)


def test_replacing_with_the_same_image_moves_nothing_aside(model, requests_mock):
    (model.parent / "whimsy.preview.jpg").write_bytes(JPEG)
    requests_mock.get("https://img.example/c.jpeg", content=JPEG)
    result = write_sidecars(model, make_version([image("https://img.example/c.jpeg")]), sha256=SHA,
                            replace_preview=True)
    assert not list(model.parent.glob("*.replaced-*")) and not result.warnings
    assert (model.parent / "whimsy.preview.jpg").read_bytes() == JPEG


def test_preview_failure_is_a_warning(model, requests_mock):
    requests_mock.get("https://img.example/c.jpeg", status_code=503)
    result = write_sidecars(model, make_version([image("https://img.example/c.jpeg")]), sha256=SHA)
    assert result.preview_path is None
    assert any("preview not downloaded" in w for w in result.warnings)
    assert (model.parent / "whimsy.civitai.info").exists() and (model.parent / "whimsy.json").exists()


def test_no_preview_when_only_video_or_nsfw(model, requests_mock):
    version = make_version([image("https://img.example/v.mp4", 1, "video"), image("https://img.example/x.jpeg", 8)])
    result = write_sidecars(model, version, sha256=SHA)
    assert not requests_mock.called and result.preview_path is None


# -- real shapes (recorded answers in tests/fixtures/civitai_more) ------------------------------------------
import copy  # noqa: E402

from civitai_companion.api import Model  # noqa: E402
from civitai_companion.library.previews import cdn_url  # noqa: E402
from civitai_companion.library.sidecars import description_text, read_info, user_metadata  # noqa: E402
from tests.civitai_fixtures import load_more  # noqa: E402

KREA_2026 = "Little-God1983_DiffusionNexus__GET_models_2833924.json"
ILLUSTRIOUS_2025 = "si-ryao_civitai-downloader-cli__GET_models_1580878.json"


def _real(name_or_id, version_id=None):
    model = Model.from_api(load_more(name_or_id))
    version = next(v for v in model.model_versions if version_id in (None, v.id))
    version.raw["model"] = {"name": model.name, "type": model.type}
    version.model.name, version.model.type = model.name, model.type
    return model, version


def test_description_falls_back_to_the_models_sanitised_and_shortened():
    model, version = _real(13941, 16407)  # v1 has no description; the model's is 1,115 characters of HTML
    assert version.description is None
    text = user_metadata(version, model=model)["description"]
    assert text.startswith("UPDATE: v2-pynoise released") and "<" not in text and "&amp;" not in text
    assert len(text) <= sidecars.DESCRIPTION_LIMIT + 2 and text.endswith("…")
    assert description_text(version) == ""  # no model at hand: nothing made up


def test_the_versions_own_description_comes_first():
    model, version = _real(13941, 16576)  # v2 has its own
    assert description_text(version, model) == sidecars.shorten(html_to_text(version.description))


def test_activation_text_leaves_out_the_loras_own_tag(model):
    _, eyes = _real(8685)
    wanted = user_metadata(eyes, file_name="EyesGen.safetensors")
    assert wanted["activation text"].startswith("looking a viewer, intricate iris")
    assert "<lora" not in wanted["activation text"].lower()


def test_empty_strings_another_tool_wrote_are_absent(model):
    body = load_more("willmiao_ComfyUI-Lora-Manager__GET_model-versions_1255556__client-augmented-creator.json")
    body.update(air="", createdAt="", description="")  # how other tools fill what they do not know
    body["trainedWords"] = body["trainedWords"] + [""]
    (model.parent / "whimsy.civitai.info").write_text(json.dumps(body), encoding="utf-8")
    info = read_info(model)
    assert "air" not in info and "createdAt" not in info and "description" not in info
    assert "" not in info["trainedWords"]
    version = ModelVersion.from_api(body)
    assert version.air is None and version.created_at is None and version.description is None


def test_a_still_with_generation_parameters_is_preferred():
    _, version = _real(38520, 75615)  # the first image has no meta, the second has
    assert pick_preview_image(version).url.endswith("/846012.jpeg")


def test_the_original_is_never_fetched_when_a_sized_copy_serves(model, requests_mock):
    _, version = _real(KREA_2026)  # its one image is .../original=true/139221483.jpeg, nsfwLevel 4
    sized = version.images[0].url.replace("/original=true/", "/width=450/")
    requests_mock.get(sized, content=JPEG)
    result = write_preview(model, version, max_nsfw_level=4)
    assert result.read_bytes() == JPEG
    assert [r.url for r in requests_mock.request_history] == [sized]


def _videos_only(version):
    """A recorded version whose images are turned into videos, as Civitai sends them (.mp4, meta null)."""
    version = copy.deepcopy(version)
    for item in version.images:
        item.type, item.meta = "video", None
        item.url = item.url.rsplit(".", 1)[0] + ".mp4"
    return version


def test_a_video_only_version_gets_a_still_frame_and_says_so(model, requests_mock):
    catalog, version = _real(ILLUSTRIOUS_2025, 1967584)
    video = _videos_only(version)
    still = cdn_url(video.images[0].url, still=True)
    assert "/anim=false,width=832/" in still and still.endswith(".mp4")
    requests_mock.get(still, content=JPEG, headers={"Content-Type": "image/jpeg"})
    result = sidecars.SidecarResult()
    path = write_preview(model, video, model=catalog, result=result)
    assert path.read_bytes() == JPEG
    assert any("still frame" in w for w in result.warnings)


def test_when_no_still_comes_back_another_versions_picture_is_used(model, requests_mock):
    catalog, version = _real(ILLUSTRIOUS_2025, 1967584)
    video = _videos_only(version)
    requests_mock.get(cdn_url(video.images[0].url, still=True), content=b"\x00\x00\x00\x18ftypmp42", headers={"Content-Type": "video/mp4"})
    other = catalog.model_versions[1]  # V1, whose pictures are rated 2 and 4
    requests_mock.get(other.images[0].url, content=PNG)
    result = sidecars.SidecarResult()
    path = write_preview(model, video, model=catalog, result=result, max_nsfw_level=2)
    assert path.read_bytes() == PNG
    assert any("version V1 (1788945)" in w for w in result.warnings)


def test_cdn_urls_for_previews():
    base = "https://image.civitai.com/xG1nkqKTMzGDvpLrqFT7WA/15f6397f-5063-4a3f-9c47-3f205c4b41b0"
    assert cdn_url(f"{base}/original=true/139221483.jpeg") == f"{base}/width=450/139221483.jpeg"
    assert cdn_url(f"{base}/width=832/1.jpeg") == f"{base}/width=832/1.jpeg"
    assert cdn_url(f"{base}/original=true,transcode=true/1.mp4", still=True) == f"{base}/anim=false,width=450/1.mp4"
    assert cdn_url("https://img.example/c.jpeg") == "https://img.example/c.jpeg"
    assert cdn_url("https://img.example/c.mp4", still=True) is None
