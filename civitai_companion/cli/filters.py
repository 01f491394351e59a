"""Filter values checked against Civitai's own lists (``/api/v1/enums``) before a search is sent.

Civitai answers ``types=lora`` with a bare "Invalid input", and ignores some values it does not know;
so a value is checked here first, a near miss is named (``did you mean LORA?``), and an unknown one is
refused. The lists change monthly, so they are never only ours: the server's answer is cached on disk
for a day per site, asked again once when a value is not in it, and our own list of model types is
added to it (older servers leave newer types out)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

from .common import UsageError, unknown_value



def _log():
    import logging

    return logging.getLogger(__name__)

CACHE_FILE = "enums.json"
CACHE_SECONDS = 24 * 3600

# Licence values of GET /models?allowCommercialUse= (Civitai's CommercialUse enum, not in /enums).
COMMERCIAL_USES = ("None", "Image", "RentCivit", "Rent", "Sell")


def _cache_path():
    from .. import config

    return config.home_dir() / CACHE_FILE


def _read_cache(base_url: str) -> tuple[dict, float] | None:
    from .. import safe_json

    try:
        document = safe_json.read_file(_cache_path())
        entry = document[base_url]
        return {k: [x for x in v if isinstance(x, str)] for k, v in entry["enums"].items() if isinstance(v, list)}, \
            float(entry["fetched"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _write_cache(base_url: str, enums: dict) -> None:
    from .. import safe_json

    path = _cache_path()
    try:
        try:
            document = safe_json.read_file(path)
            document = document if isinstance(document, dict) else {}
        except (OSError, ValueError):
            document = {}
        document[base_url] = {"fetched": time.time(), "enums": enums}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        import json

        tmp.write_text(json.dumps(document), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:  # a cache we cannot write costs one request next time, nothing more
        _log().debug("enums cache not written: %s", exc)


class Enums:
    """Civitai's lists for one site, fetched at most once per command."""

    def __init__(self, client) -> None:
        self.client = client
        self._data: dict | None = None
        self._fresh = False

    def _load(self, *, refresh: bool = False) -> dict:
        if self._data is not None and (self._fresh or not refresh):
            return self._data
        cached = None if refresh else _read_cache(self.client.base_url)
        if cached is not None and time.time() - cached[1] < CACHE_SECONDS:
            self._data = cached[0]
            return self._data
        from ..api import CivitaiError

        try:
            self._data = self.client.enums()
            self._fresh = True
            _write_cache(self.client.base_url, self._data)
        except CivitaiError as exc:  # an old mirror without /enums: check what we can, send the rest as given
            _log().info("could not read Civitai's filter values: %s", exc)
            self._data = cached[0] if cached is not None else {}
            self._fresh = True
        return self._data

    def values(self, key: str, *, refresh: bool = False) -> list[str]:
        data = self._load(refresh=refresh)
        values = list(data.get(key) or [])
        if key == "ModelType":
            from ..hosts.base import MODEL_TYPES

            values += [t.name for t in MODEL_TYPES if t.name not in values]
        return values

    def check(self, given: Iterable[str] | None, key: str, option: str, what: str) -> None:
        """Refuse a value Civitai does not have, with the spelling it most likely meant."""
        for text in given or ():
            values = self.values(key)
            if text in values:
                continue
            if not self._fresh:  # Civitai may have added it since the cache was filled
                values = self.values(key, refresh=True)
                if text in values:
                    continue
            if key != "ModelType" and not self._data.get(key):
                continue  # the site gave no list to check against
            guess = None
            if key == "ModelType":  # the names people use for a type: LyCORIS is Civitai's LoCon
                from ..hosts.base import canonical_type

                guess = canonical_type(text) if canonical_type(text) in values else None
            raise UsageError(f"argument {option}: {unknown_value(text, values, what, guess=guess)}")
