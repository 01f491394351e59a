"""The app's settings: one source of truth, checked on the way in, with a token that is write-only.

Hosts keep settings their own way (A1111's ``shared.opts``, ComfyUI's settings store, a JSON file when
standalone); each gives the app a :class:`SettingsStore`. Values are validated here, so a bad PUT is one
clear line and never a half-saved file.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from .. import config, safe_json
from .routes import ApiError

log = logging.getLogger(__name__)

SETTINGS_FILE_NAME = "app-settings.json"
NSFW_ALL = 31  # PG=1, PG13=2, R=4, X=8, XXX=16

DEFAULTS: dict[str, Any] = {
    "base_url": "",  # empty: CIVITAI_BASE_URL, else https://civitai.com
    "nsfw_level": 1,
    "preview_nsfw_level": 1,
    "subfolder_template": "",
    "download_workers": 2,
    "write_sidecars": True,
    "folders": {},
}
KEYS = (*DEFAULTS, "token")


class SettingsStore(Protocol):
    def load(self) -> dict: ...

    def save(self, data: dict) -> None: ...


class MemorySettingsStore:
    """Settings that live as long as the process (tests, hosts that persist them elsewhere)."""

    def __init__(self, data: dict | None = None) -> None:
        self.data = dict(data or {})

    def load(self) -> dict:
        return dict(self.data)

    def save(self, data: dict) -> None:
        self.data = dict(data)


class JsonSettingsStore:
    """A JSON file, mode 0600 from its first byte (it may hold the API token), replaced atomically."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path is not None else config.config_dir() / SETTINGS_FILE_NAME

    def load(self) -> dict:
        try:
            data = safe_json.read_file(self.path)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("ignoring the settings file %s: %s", self.path, getattr(exc, "strerror", None) or exc)
            return {}
        return data if isinstance(data, dict) else {}

    def save(self, data: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)


def clean(stored: dict) -> dict:
    """Stored settings with defaults filled in and values that no longer pass the checks dropped."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in DEFAULTS.items()}
    for key, value in (stored or {}).items():
        if key not in KEYS:
            continue
        try:
            out[key] = validate(key, value)
        except ApiError as exc:
            log.warning("ignoring the setting %s: %s", key, exc.message)
    return out


def validate(key: str, value: Any) -> Any:
    """One setting's value, normalised, or a 400 that says what is wrong with it."""
    def bad(message: str) -> ApiError:
        return ApiError(400, "bad_setting", f"{key}: {message}")

    if key == "base_url":
        if value is None or value == "":
            return ""
        if not isinstance(value, str):
            raise bad("expected a URL such as https://civitai.com")
        url = value.strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise bad("expected a URL such as https://civitai.com")
        return url
    if key in ("nsfw_level", "preview_nsfw_level"):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= NSFW_ALL:
            raise bad("expected a level mask from 1 (PG) to 31 (everything)")
        return value
    if key == "download_workers":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 8:
            raise bad("expected a number from 1 to 8")
        return value
    if key == "write_sidecars":
        if not isinstance(value, bool):
            raise bad("expected true or false")
        return value
    if key == "subfolder_template":
        if value is None:
            return ""
        if not isinstance(value, str):
            raise bad("expected text such as {baseModel}/{modelName}")
        from ..hosts.base import SubfolderTemplate, TemplateError

        text = value.strip()
        if text:
            try:
                SubfolderTemplate(text)
            except TemplateError as exc:
                raise bad(str(exc)) from None
        return text
    if key == "folders":
        if value is None:
            return {}
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise bad('expected {"lora": "folder", ...}')
        from ..hosts.base import KINDS, model_type

        unknown = [k for k in value if k.strip() not in KINDS and model_type(k.strip()) is None]
        if unknown:
            raise bad(f"{unknown[0]!r} is neither a kind ({', '.join(KINDS)}) nor a Civitai model type")
        return {k.strip(): v.strip() for k, v in value.items() if k.strip() and v.strip()}
    if key == "token":
        if value is None:
            return ""
        if not isinstance(value, str) or (value.strip() and not all(0x21 <= ord(c) <= 0x7E for c in value.strip())):
            raise bad("an API key is printable text without spaces")
        return value.strip()
    raise ApiError(400, "bad_setting", f"unknown setting {key!r}")


def token_status(stored_token: str | None) -> dict:
    """Whether a token is set and where from; never the token."""
    if stored_token:
        return {"set": True, "source": "settings"}
    _token, source = config.api_token_with_source(None)
    if source is None:
        return {"set": False, "source": None}
    return {"set": True, "source": "file" if source == config.TOKEN_FILE_SOURCE else "env"}
