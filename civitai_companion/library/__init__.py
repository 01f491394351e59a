"""Files on disk: hashing, the hash cache, scanning, the library index, resolving by hash, updates,
sidecars and prompts.

Names are loaded on first use (PEP 562), so importing one submodule never pulls in the HTTP client.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "hash_file": "hashing", "claimed_hashes": "hashing", "ALL_KINDS": "hashing", "HashError": "hashing",
    "HashCancelled": "hashing",
    "hash_files": "hash_batch",
    "HashCache": "hash_cache",
    "LibraryIndex": "index", "open_index": "index",
    "scan": "scanner", "ScanEntry": "scanner", "ScanReport": "scanner", "find_model_files": "scanner",
    "entries_for_paths": "scanner", "is_model_file": "scanner", "MODEL_EXTENSIONS": "scanner",
    "resolve_hashes": "resolve", "UnknownCache": "resolve",
    "check_updates": "updates", "newer_version": "updates", "find_update": "updates", "find_updates": "updates",
    "Update": "updates",
    "write_sidecars": "sidecars", "read_info": "sidecars", "read_user_json": "sidecars",
    "build_prompt": "prompts", "prompt_for_file": "prompts", "split_words": "prompts", "network_tag": "prompts",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
