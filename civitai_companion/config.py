"""Configuration, read each time it is used (never frozen at import) so hosts and tests can change it."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://civitai.com"
APP_NAME = "civitai-companion"
TOKEN_FILE_NAME = "token"


def base_url(override: str | None = None) -> str:
    """The Civitai site root, without a trailing slash (``CIVITAI_BASE_URL``)."""
    url = override or os.environ.get("CIVITAI_BASE_URL") or DEFAULT_BASE_URL
    return url.strip().rstrip("/")


def config_dir() -> Path:
    """Where user settings live (the token file); follows ``platformdirs``."""
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def home_dir() -> Path:
    """State and caches (hash cache, response cache, download queue): ``CIVITAI_COMPANION_HOME``."""
    env = os.environ.get("CIVITAI_COMPANION_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def token_file() -> Path:
    return config_dir() / TOKEN_FILE_NAME


TOKEN_ENV_VARS = ("CIVITAI_API_TOKEN", "CIVITAI_API_KEY")
GIVEN_TOKEN = "given"  # token sources: this, a name from TOKEN_ENV_VARS, or TOKEN_FILE_SOURCE
TOKEN_FILE_SOURCE = "file"


def api_token(explicit: str | None = None) -> str | None:
    """The API token: argument, then ``CIVITAI_API_TOKEN``, ``CIVITAI_API_KEY``, then the token file."""
    return api_token_with_source(explicit)[0]


def api_token_with_source(explicit: str | None = None) -> tuple[str | None, str | None]:
    """The API token and where it came from, so a rejected token's message can say what to fix.

    The token file is ignored (with a warning that does not show the token) unless it is a regular file
    only its owner can read, as with ssh keys: a token readable by others is a leaked token.
    """
    if explicit and explicit.strip():
        return explicit.strip(), GIVEN_TOKEN
    for name in TOKEN_ENV_VARS:
        value = os.environ.get(name)
        if value and value.strip():
            return value.strip(), name
    path = token_file()
    try:
        st = path.stat()
    except OSError:
        return None, None
    if not stat.S_ISREG(st.st_mode):  # a folder or a FIFO there would fail or block every request
        log.warning("ignoring %s: it is not a regular file", path)
        return None, None
    if os.name == "posix" and st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("ignoring %s: it must be readable by its owner only (chmod 600)", path)
        return None, None
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None, None
    return (value, TOKEN_FILE_SOURCE) if value else (None, None)


def save_token(token: str) -> Path:
    """Write the token file with mode 0600 from the start (never world-readable, not even briefly)."""
    path = token_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token.strip() + "\n")
    os.chmod(path, 0o600)
    return path


def progress_disabled() -> bool:
    """``CIVITAI_DISABLE_PROGRESS_BARS`` (any value but empty/0/false) turns tqdm bars off."""
    value = os.environ.get("CIVITAI_DISABLE_PROGRESS_BARS", "").strip().lower()
    return value not in ("", "0", "false", "no")
