"""Shared set-up of the ComfyUI tests: the host shims in place and a fresh pack loaded from this folder."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("civitai_test_shims", Path(__file__).parent / "shims" / "__init__.py")
shims = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(shims)

NODE_IDS = {"CivitaiSearch", "CivitaiModelInfo", "CivitaiLoraLoader", "CivitaiCheckpointLoader", "CivitaiDownload",
            "CivitaiPrompt"}


def require(module: str) -> None:
    """Tests of IMAGE outputs need torch (ComfyUI's own dependency): missing in CI is a failure."""
    if importlib.util.find_spec(module) is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{module} is not installed: run tests/setup.sh")
        pytest.skip(f"{module} is not installed (tests/setup.d/40-comfyui.sh installs it)", allow_module_level=True)


def load_pack(monkeypatch, name: str = "civitai_companion_pack"):
    """Import the repository's root ``__init__.py`` as ComfyUI does: a package from a folder path."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "__init__.py", submodule_search_locations=[str(ROOT)])
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


class FakeClip:
    """The two CLIP methods a prompt node calls, recording the text it was given."""

    def __init__(self):
        self.texts: list[str] = []

    def tokenize(self, text):
        self.texts.append(text)
        return {"tokens": text}

    def encode_from_tokens_scheduled(self, tokens):
        return [["cond", {"text": tokens["tokens"]}]]
