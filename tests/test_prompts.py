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
