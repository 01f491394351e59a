"""Trained words -> prompt text."""

from __future__ import annotations

import json

import pytest

from civitai_companion.library.prompts import (
    append_to_prompt,
    build_prompt,
    network_kind,
    preferred_weight,
    prompt_for_file,
    split_words,
)


def test_split_words_splits_entries_and_dedupes_case_insensitively():
    words = ["Blue Hair, long hair ", "blue hair", ",, ", "LONG  HAIR", "smile,"]
    assert split_words(words) == ["Blue Hair", "long hair", "smile"]


def test_lora_prompt_uses_file_stem_and_weight():
    text = build_prompt(["ppWhimsy, style", "ppwhimsy"], model_type="LORA", name="whimsy-v2", weight=0.75)
    assert text == "<lora:whimsy-v2:0.75> ppWhimsy, style"


@pytest.mark.parametrize("model_type", ["LoCon", "DoRA"])
def test_locon_and_dora_use_lora_syntax(model_type):
    assert build_prompt(["w"], model_type=model_type, name="n") == "<lora:n:1> w"


def test_hypernetwork_uses_hypernet_syntax():
    assert build_prompt([], model_type="Hypernetwork", name="hn", weight=0.5) == "<hypernet:hn:0.5>"


def test_embedding_is_activated_by_its_name():
    assert build_prompt(["easyneg, bad hands"], model_type="TextualInversion", name="EasyNeg") == "EasyNeg, bad hands"


def test_checkpoint_gets_only_its_words():
    assert build_prompt(["analog style"], model_type="Checkpoint", name="analog") == "analog style"


def test_comfyui_syntax_is_plain_words_without_lora_tags():
    assert build_prompt(["a, b"], model_type="LORA", name="x", syntax="comfyui") == "a, b"
    assert build_prompt(["bad"], model_type="TextualInversion", name="neg", syntax="comfyui") == "embedding:neg, bad"


def test_unknown_syntax_is_a_value_error():
    with pytest.raises(ValueError, match="syntax"):
        build_prompt(["a"], syntax="midjourney")


def test_network_kind_of_types():
    assert [network_kind(t) for t in ("LORA", "locon", "Checkpoint", None)] == ["lora", "lora", None, None]


def test_append_skips_words_and_tags_already_in_the_prompt():
    prompt = "a castle, (Masterpiece:1.2), <lora:whimsy:0.6>,  "
    result = append_to_prompt(prompt, "<lora:whimsy:1> masterpiece, ppWhimsy, A Castle")
    assert result == "a castle, (Masterpiece:1.2), <lora:whimsy:0.6>, ppWhimsy"


def test_append_to_empty_prompt_and_nothing_new():
    assert append_to_prompt("", "<lora:x:1> w") == "<lora:x:1> w"
    assert append_to_prompt("w, <lora:X:0.5>", "<lora:x:1> W") == "w, <lora:X:0.5>"


def _model_with_sidecars(tmp_path, *, info=None, user=None):
    model = tmp_path / "cute.v2.safetensors"
    model.write_bytes(b"x")
    if info is not None:
        (tmp_path / "cute.v2.civitai.info").write_text(json.dumps(info), encoding="utf-8")
    if user is not None:
        (tmp_path / "cute.v2.json").write_text(json.dumps(user), encoding="utf-8")
    return model


def test_prompt_for_file_uses_preferred_weight(tmp_path):
    info = {"trainedWords": ["cute, chibi"], "model": {"type": "LORA"}}
    model = _model_with_sidecars(tmp_path, info=info, user={"preferred weight": 0.8})
    assert preferred_weight(model) == 0.8
    assert prompt_for_file(model) == "<lora:cute.v2:0.8> cute, chibi"
    assert prompt_for_file(model, weight=0.3) == "<lora:cute.v2:0.3> cute, chibi"


def test_prompt_for_file_zero_preferred_weight_means_default(tmp_path):
    info = {"trainedWords": ["cute"], "model": {"type": "LORA"}}
    model = _model_with_sidecars(tmp_path, info=info, user={"preferred weight": 0})
    assert preferred_weight(model) is None
    assert prompt_for_file(model, default_weight=0.9) == "<lora:cute.v2:0.9> cute"


def test_prompt_for_file_without_info_uses_activation_text(tmp_path):
    model = _model_with_sidecars(tmp_path, user={"activation text": "my word, other"})
    assert prompt_for_file(model, syntax="comfyui") == "my word, other"


def _ours(words):
    return {"extensions": {"civitai_companion": {"userJson": {"activation text": words}}}}


def test_prompt_for_file_uses_activation_text_the_user_edited(tmp_path):
    info = {"trainedWords": ["cute, chibi"], "model": {"type": "LORA"}, **_ours("cute, chibi")}
    model = _model_with_sidecars(tmp_path, info=info, user={"activation text": "my own, words",
                                                            "preferred weight": 0.7})
    assert prompt_for_file(model) == "<lora:cute.v2:0.7> my own, words"


def test_prompt_for_file_keeps_trained_words_when_activation_text_is_ours(tmp_path):
    info = {"trainedWords": ["cute, chibi", "new"], "model": {"type": "LORA"}, **_ours("cute, chibi")}
    model = _model_with_sidecars(tmp_path, info=info, user={"activation text": "cute, chibi"})
    assert prompt_for_file(model) == "<lora:cute.v2:1> cute, chibi, new"


def test_prompt_for_file_without_our_record_compares_with_trained_words(tmp_path):
    info = {"trainedWords": ["cute", "chibi"], "model": {"type": "LORA"}}
    same = _model_with_sidecars(tmp_path, info=info, user={"activation text": "Cute,  chibi"})
    assert prompt_for_file(same) == "<lora:cute.v2:1> cute, chibi"
    (tmp_path / "cute.v2.json").write_text(json.dumps({"activation text": "other"}))
    assert prompt_for_file(same) == "<lora:cute.v2:1> other"


# -- real trained words (recorded 2023 list items, tests/fixtures/civitai_more) ----------------------------
from civitai_companion.api import Model  # noqa: E402
from tests.civitai_fixtures import load_more  # noqa: E402


def _version(model_id):
    model = Model.from_api(load_more(model_id))
    version = model.model_versions[0]
    version.raw["model"] = {"name": model.name, "type": model.type}  # as /model-versions answers have it
    return version


def test_a_lora_tag_among_trained_words_appears_once_with_the_creators_weight():
    eyes = _version(8685)  # ['<lora:eyesgen:0.4>', 'looking a viewer', ...], file EyesGen.safetensors
    text = build_prompt(eyes.trained_words, model_type="LORA", name="EyesGen")
    assert text.startswith("<lora:EyesGen:0.4> looking a viewer, intricate iris")
    assert text.lower().count("<lora:") == 1


def test_the_users_weight_wins_over_the_creators():
    kobeni = _version(12329)  # 'ggas_kobeni', '<lora:ggas_kobeni:0.8>', 'brown hair', ...
    text = build_prompt(kobeni.trained_words, model_type="LORA", name="GGAS_Kobeni", weight=0.6)
    assert text.startswith("<lora:GGAS_Kobeni:0.6> ggas_kobeni, brown hair")
    assert text.lower().count("<lora:") == 1


def test_a_tag_under_the_name_civitai_gave_the_file_is_the_same_lora(tmp_path):
    eyes = _version(8685)
    model = tmp_path / "my renamed eyes.safetensors"  # renamed by the user; the tag says "eyesgen"
    model.write_bytes(b"x")
    (tmp_path / "my renamed eyes.civitai.info").write_text(json.dumps(eyes.raw), encoding="utf-8")
    (tmp_path / "my renamed eyes.json").write_text(json.dumps({"preferred weight": 0.5}), encoding="utf-8")
    assert prompt_for_file(model).startswith("<lora:my renamed eyes:0.5> looking a viewer")
    assert "eyesgen" not in prompt_for_file(model).lower()
    assert "<lora" not in prompt_for_file(model, syntax="comfyui")


def test_escaped_parentheses_and_weights_are_kept_as_written():
    sakura = _version(15493)  # one entry: '(1990s \(style\):1.2),sakura shinguuji (sakure wars), 1girl, ...'
    words = split_words(sakura.trained_words)
    assert words[:3] == ["(1990s \\(style\\):1.2)", "sakura shinguuji (sakure wars)", "1girl"]
    nahida = _version(11963)  # 'nahida', 'nihada \(genshin impact\)'
    assert build_prompt(nahida.trained_words, model_type="LORA", name="NahidaV1") == \
        "<lora:NahidaV1:1> nahida, nihada \\(genshin impact\\)"


def test_commas_inside_a_weighted_group_do_not_split_it():
    assert split_words(["(red hair, blue eyes:1.2), smile"]) == ["(red hair, blue eyes:1.2)", "smile"]


def test_other_network_tags_and_malformed_ones_stay_as_written():
    disco = Model.from_api(load_more(16048)).model_versions[0]  # '<discoelysiumstyle_v1:1>' has no "lora:"
    text = build_prompt(disco.trained_words, model_type="LORA", name="DiscoElysiumStyle")
    assert text.startswith("<lora:DiscoElysiumStyle:1> ") and "<discoelysiumstyle_v1:1>" in text
    two = build_prompt(["<lora:mine:0.7>, <lora:helper:0.3>, word"], model_type="LORA", name="mine")
    assert two == "<lora:mine:0.7> <lora:helper:0.3>, word"
