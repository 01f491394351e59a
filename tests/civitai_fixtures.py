"""Access to the real recorded Civitai responses beside the repository (``../shared/fixtures/civitai``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "civitai"


def fixture_path(name: str) -> Path:
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"real fixtures not present beside the repository ({name})")
    return path


def load(name: str):
    return json.loads(fixture_path(name).read_text(encoding="utf-8"))


def all_json() -> list[Path]:
    return sorted(FIXTURES.rglob("*.json")) if FIXTURES.exists() else []


MODEL_FIXTURES = [
    "Little-God1983_DiffusionNexus__GET_models_2833924.json",
    "si-ryao_civitai-downloader-cli__GET_models_1580878.json",
    "willmiao_ComfyUI-Lora-Manager__GET_models_1231067.json",
    "dfanr_CivitaiModelList__GET_models_list-item_13941_2023-07__python-reserialized.json",
    "dfanr_CivitaiModelList__GET_models_list-item_4201_2023-07__python-reserialized.json",
    "dfanr_CivitaiModelList__GET_models_list-item_8124_2023-07__python-reserialized.json",
    "doc_examples/civitai-wiki-REST-API-Reference__GET_models_1102.json",
]
VERSION_FIXTURES = [
    "willmiao_ComfyUI-Lora-Manager__GET_model-versions_1255556__client-augmented-creator.json",
    "doc_examples/civitai-wiki-REST-API-Reference__GET_model-versions_1318.json",
]
