"""Test stand-in for A1111's ``modules.cache``: named sections of ``{title: {"mtime", "sha256"}}``.

The real one is a ``diskcache.Cache`` per section under ``cache/``; a dict has the same ``get``,
``[key]``, ``in`` and assignment, which is all extensions use.
"""

from __future__ import annotations

caches: dict[str, dict] = {}


def cache(subsection: str) -> dict:
    return caches.setdefault(subsection, {})
