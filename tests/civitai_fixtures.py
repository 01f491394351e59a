"""Access to the real recorded Civitai responses beside the repository (``../shared/fixtures/civitai``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fake_civitai.catalog import FIXTURE_MODELS
from tests.fake_civitai.fixtures import fixtures_dir

FIXTURES = fixtures_dir()


def fixture_path(name: str) -> Path:
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"real fixtures not present beside the repository ({name})")
    return path


def load(name: str):
    return json.loads(fixture_path(name).read_text(encoding="utf-8"))


def all_json() -> list[Path]:
    return sorted(FIXTURES.rglob("*.json")) if FIXTURES.exists() else []


MODEL_FIXTURES = FIXTURE_MODELS  # the recorded model bodies, as the fake serves them
VERSION_FIXTURES = [
    "willmiao_ComfyUI-Lora-Manager__GET_model-versions_1255556__client-augmented-creator.json",
    "doc_examples/civitai-wiki-REST-API-Reference__GET_model-versions_1318.json",
]


MORE = Path(__file__).parent / "fixtures" / "civitai_more"  # recorded bodies kept in the repository


def load_more(name: str):
    """A recorded body from ``tests/fixtures/civitai_more`` (see its PROVENANCE.md); by model id for the
    2023 list items (``load_more(27777)``)."""
    if isinstance(name, int):
        name = f"dfanr_CivitaiModelList__GET_models_list-item_{name}_2023-07__python-reserialized.json"
    return json.loads((MORE / name).read_text(encoding="utf-8"))
