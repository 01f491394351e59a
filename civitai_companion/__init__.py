"""Civitai Companion: search Civitai, identify local model files by hash, download verified files.

The package is host-free: nothing here imports A1111, Forge or ComfyUI modules at import time.
"""

from __future__ import annotations

import importlib
import sys

__version__ = "0.1.0"

# Modules that moved into the library/ package keep their old import names working
# (`import civitai_companion.hashing`, `from civitai_companion import sidecars`).
_MOVED = {
    name: f"{__name__}.library.{name}"
    for name in ("hashing", "hash_batch", "hash_cache", "resolve", "updates", "sidecars", "prompts")
}


class _MovedModuleFinder:
    """A meta path finder and loader (by protocol: importing ``importlib.abc`` costs more than the whole
    ``--help`` of the CLI should)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname.startswith(__name__ + ".") and fullname.rpartition(".")[2] in _MOVED \
                and fullname.count(".") == 1:
            import importlib.util

            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return importlib.import_module(_MOVED[spec.name.rpartition(".")[2]])

    def exec_module(self, module):
        pass


sys.meta_path.append(_MovedModuleFinder())


def __getattr__(name: str):
    if name in _MOVED:
        return importlib.import_module(_MOVED[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
