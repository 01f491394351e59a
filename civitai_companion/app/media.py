"""Images for the page: sized Civitai URLs, a disk cache for the media route, and safe description HTML.

Civitai's image URLs carry one comma-separated options segment (``.../width=450/name.jpeg`` or
``.../original=true/...``); rewriting it asks the edge for a small image, so a card never fetches the
original (often several MB). The media route fetches only from Civitai's image host and the configured
site's own host: the server must never become a way to reach any other address.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import requests

from ..api.http import USER_AGENT
from .routes import ApiError, ApiResponse

log = logging.getLogger(__name__)

IMAGE_HOSTS = ("image.civitai.com",)
CARD_WIDTH = 450  # what Civitai's own lists use: likely already in the edge cache
MIN_WIDTH, MAX_WIDTH = 32, 2048
MAX_ITEM_BYTES = 16 * 1024 * 1024
DEFAULT_CACHE_BYTES = 256 * 1024 * 1024
MEDIA_TIMEOUT = (5.0, 20.0)
_OPTION = re.compile(r"^[a-z]+=[^/]*$", re.IGNORECASE)
_VIDEO_EXT = (".mp4", ".webm", ".mov", ".m4v")
_TYPES = ("image/", "video/")


def is_video_url(url: str) -> bool:
    return urlsplit(url).path.lower().endswith(_VIDEO_EXT)


def sized_url(url: str | None, width: int = CARD_WIDTH, *, still: bool | None = None) -> str | None:
    """The same image at ``width`` pixels (``anim=false`` makes a video or GIF a still poster).

    The options segment is the one right before the file name when it looks like ``key=value,...``;
    when there is none, one is inserted there."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https"):
        return None
    still = is_video_url(url) if still is None else still
    options = f"width={int(width)}" + (",anim=false" if still else "") + ",optimized=true"
    segments = parts.path.split("/")
    if len(segments) < 3:
        return url
    if all(_OPTION.match(opt) for opt in segments[-2].split(",")):
        segments[-2] = options
    else:
        segments.insert(len(segments) - 1, options)
    return urlunsplit(parts._replace(path="/".join(segments)))


def media_path(url: str, width: int | None = None) -> str:
    """The media route for a Civitai image, relative to the API root (the page resolves it)."""
    tail = f"&width={int(width)}" if width else ""
    return f"media?url={quote(url, safe='')}{tail}"


def allowed_host(url: str, base_url: str) -> bool:
    """Only Civitai's image host and the configured site (a mirror, or the test fake)."""
    try:
        parts, site = urlsplit(url), urlsplit(base_url)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or parts.username or parts.password:
        return False
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" and host in IMAGE_HOSTS and parts.port in (None, 443):
        return True
    return parts.netloc.lower() == site.netloc.lower() and parts.scheme == site.scheme


class MediaCache:
    """Fetched images on disk, keyed by URL, trimmed oldest-first past ``max_bytes``; thread-safe."""

    def __init__(self, folder: Path, *, max_bytes: int = DEFAULT_CACHE_BYTES, session: requests.Session | None = None):
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self._session = session
        self._lock = threading.Lock()
        self._fetching: dict[str, threading.Lock] = {}
        self._total: int | None = None  # bytes on disk, counted once, then kept up to date

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
            session.headers["Accept"] = "image/*,video/*"
            self._session = session
        return self._session

    def get(self, url: str, *, base_url: str, width: int | None = None) -> ApiResponse:
        if not url:
            raise ApiError(400, "bad_request", "media needs url=")
        if not allowed_host(url, base_url):
            raise ApiError(403, "forbidden_host", "media only comes from Civitai's image hosts")
        if width is not None:
            url = sized_url(url, max(MIN_WIDTH, min(MAX_WIDTH, width))) or url
        key = hashlib.sha256(url.encode("utf-8")).hexdigest()
        path = self.folder / key[:2] / key
        hit = self._read(path)
        if hit is not None:
            return hit
        with self._lock:
            lock = self._fetching.setdefault(key, threading.Lock())
        with lock:  # one fetch per URL even when a page asks for it many times at once
            hit = self._read(path)
            if hit is None:
                hit = self._fetch(url, path)
        with self._lock:
            self._fetching.pop(key, None)
        return hit

    def _read(self, path: Path) -> ApiResponse | None:
        try:
            data = path.read_bytes()
        except OSError:
            return None
        kind, _, body = data.partition(b"\n")
        try:
            os.utime(path)  # recently used: trimmed last
        except OSError:
            pass
        return _answer(kind.decode("ascii", "replace"), body)

    def _fetch(self, url: str, path: Path) -> ApiResponse:
        try:
            response = self.session.get(url, timeout=MEDIA_TIMEOUT, stream=True, allow_redirects=False)
        except requests.RequestException as exc:
            raise ApiError(502, "civitai_unreachable", f"image host unreachable: {type(exc).__name__}") from None
        with response:
            if response.status_code != 200:
                code = "not_found" if response.status_code == 404 else "media_failed"
                raise ApiError(404 if response.status_code == 404 else 502, code,
                               f"the image host answered HTTP {response.status_code}")
            kind = response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
            if not kind.startswith(_TYPES):
                raise ApiError(502, "media_failed", "the image host did not send an image")
            chunks, total = [], 0
            try:
                for chunk in response.iter_content(64 * 1024):
                    total += len(chunk)
                    if total > MAX_ITEM_BYTES:
                        raise ApiError(502, "media_failed", "the image is too large")
                    chunks.append(chunk)
            except requests.RequestException as exc:
                raise ApiError(502, "civitai_unreachable", f"image download failed: {type(exc).__name__}") from None
        body = b"".join(chunks)
        self._store(path, kind, body)
        return _answer(kind, body)

    def _store(self, path: Path, kind: str, body: bytes) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
            data = kind.encode("ascii", "replace") + b"\n" + body
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("media cache: %s", exc.strerror or exc)
            return
        with self._lock:
            if self._total is not None:
                self._total += len(data)
            full = self._total is None or self._total > self.max_bytes
        if full:
            self.trim()

    def trim(self) -> int:
        """Count the cache, and past ``max_bytes`` delete the least recently used files down to 90 % of it
        (so trimming, which lists the folder, happens once per many new images); returns the bytes kept."""
        files = []
        total = 0
        for sub in self.folder.glob("*/*"):
            try:
                st = sub.stat()
            except OSError:
                continue
            files.append((st.st_mtime_ns, st.st_size, sub))
            total += st.st_size
        if total > self.max_bytes:
            files.sort()
            goal = self.max_bytes * 9 // 10
            while total > goal and files:
                _mtime, size, old = files.pop(0)
                try:
                    old.unlink()
                    total -= size
                except OSError:
                    pass
        with self._lock:
            self._total = total
        return total


def _answer(kind: str, body: bytes) -> ApiResponse:
    return ApiResponse(200, raw=body, content_type=kind or "application/octet-stream",
                       headers={"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"})


# -- description HTML --------------------------------------------------------------------------------------
def sanitize_html(markup: str | None) -> str:
    """Civitai's HTML without scripts, event handlers or ``javascript:`` URLs (nh3's allow-list)."""
    if not markup:
        return ""
    import nh3

    return nh3.clean(markup, url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow")

