"""Civitai REST API v1: the client, its typed results and its errors.

Names are loaded on first use: ``civitai_companion.api.errors`` (and the CLI's ``--help``) must not pay
for importing ``requests``."""

from __future__ import annotations

import importlib

_EXPORTS = {
    "client": ("CivitaiClient", "model_filters", "image_filters", "normalize_hash"),
    "errors": (
        "Archived", "AuthRequired", "BadRequest", "BadResponse", "CivitaiError", "DownloadsDisabled", "EarlyAccess",
        "Forbidden", "NetworkError", "NotFound", "PageLimit", "RateLimited", "RegionBlocked", "ServerError",
        "UnknownRoute", "error_for", "error_for_response", "redact_url",
    ),
    "http": ("USER_AGENT", "Transport", "make_session"),
    "types": ("Creator", "HashMatch", "Image", "Model", "ModelFile", "ModelVersion", "Page", "Stats", "Tag"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_MODULE_OF))
