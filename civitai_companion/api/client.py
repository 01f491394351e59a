"""A client for every public endpoint of Civitai's REST API v1.

Configuration is read when used, so a host's settings page or a test can change ``CIVITAI_BASE_URL``
and the token without rebuilding the client. The token is sent as a Bearer header only to the
configured Civitai host and only where it changes the answer (favorites/hidden, ``me``, downloads):
requests with a token bypass Civitai's edge cache, so sending it everywhere would make every call slower.
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any, Callable, Iterable, Iterator, Sequence, TypeVar
from urllib.parse import parse_qsl, urlsplit

import requests

from .. import config
from .errors import AuthRequired, BadRequest, BadResponse, is_hex, rejected_token_hint
from .http import DEFAULT_TIMEOUT, ResponseCache, Transport, decode_json
from .params import clamp_page_size, drop_none, image_filters, model_filters, param_list, positive_id
from .types import Creator, HashMatch, Image, Model, ModelVersion, Page, Tag

log = logging.getLogger(__name__)

T = TypeVar("T")

BY_HASH_BATCH = 100  # POST /model-versions/by-hash accepts at most 100 SHA-256 per request
BY_HASH_IDS_BATCH = 10_000  # POST /model-versions/by-hash/ids accepts at most 10,000
MAX_EMPTY_PAGES = 50  # pages may be empty while a cursor remains; bound the walk all the same
HASH_LENGTHS = {8, 10, 12, 64}  # AutoV1/CRC32, AutoV2, AutoV3, SHA256/BLAKE3


def _chunks(seq: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


def normalize_hash(value: str) -> str:
    """An upper-case hash of any Civitai kind, or ``BadRequest`` for text that cannot be one."""
    text = (value or "").strip()
    if text.lower().startswith("0x"):
        text = text[2:]
    if not is_hex(text) or len(text) not in HASH_LENGTHS:
        raise BadRequest(f"not a Civitai hash: {value!r} (expected 8, 10, 12 or 64 hex characters)")
    return text.upper()


class CivitaiClient:
    """Typed access to the Civitai API. Cheap to create; share one per thread pool if you like."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        token: str | None = None,
        session: requests.Session | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        max_tries: int = 5,
        retry_after_cap: float = 60.0,
        cache_ttl: float = 300.0,
        sleep: Callable[[float], None] | None = None,
        base_url_name: str | None = None,
    ) -> None:
        """``base_url_name`` is what error hints call a wrong site address (the CLI says ``--base-url``)."""
        self._base_url = base_url
        self._token = token
        kw: dict[str, Any] = {"session": session, "timeout": timeout, "max_tries": max_tries, "retry_after_cap": retry_after_cap}
        if sleep is not None:
            kw["sleep"] = sleep
        self.transport = Transport(**kw)
        self.transport.base_url_name = base_url_name or ("the base URL" if base_url else "CIVITAI_BASE_URL")
        self.cache = ResponseCache(ttl=cache_ttl)

    # -- configuration, read when used -------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return config.base_url(self._base_url)

    @property
    def token(self) -> str | None:
        return config.api_token(self._token)

    @property
    def session(self) -> requests.Session:
        return self.transport.session

    def api_url(self, path: str) -> str:
        return f"{self.base_url}/api/v1/{path.lstrip('/')}"

    def auth_headers(self, url: str) -> dict[str, str]:
        """The Bearer header, but only for the configured Civitai host (never a storage or image host)."""
        return self.auth(url)[0]

    def auth(self, url: str) -> tuple[dict[str, str], str | None]:
        """``auth_headers`` and where the token came from (argument, which variable, or the token file),
        read once: a rejected token's hint names its source, never the token."""
        token, source = config.api_token_with_source(self._token)
        if not token or urlsplit(url).netloc.lower() != urlsplit(self.base_url).netloc.lower():
            return {}, None
        if not _TOKEN_TEXT.match(token):  # http.client would fail on it with an encoding error
            raise AuthRequired(
                "the API token contains spaces or characters that cannot be sent in a header",
                hint=rejected_token_hint(source),
            )
        return {"Authorization": f"Bearer {token}"}, source

    # -- the one request path -------------------------------------------------------------------------
    def get_json(
        self,
        path: str,
        *,
        params: Any = None,
        auth: bool = False,
        not_found: str | None = None,
        use_cache: bool = True,
    ) -> Any:
        return self._json("GET", path, params=params, auth=auth, not_found=not_found, use_cache=use_cache)

    def post_json(self, path: str, body: Any, *, not_found: str | None = None) -> Any:
        return self._json("POST", path, json_body=body, not_found=not_found, use_cache=False)

    def _json(self, method: str, path: str, *, params=None, json_body=None, auth=False, not_found=None, use_cache=True):
        url = path if path.startswith(("http://", "https://")) else self.api_url(path)
        headers, source = self.auth(url) if auth else ({}, None)
        pairs = param_list(params)
        # Answers with a token are per account: key them on a digest of the token, never the token itself.
        who = hashlib.sha256(headers["Authorization"].encode()).hexdigest() if headers else None
        key = (method, url, tuple(pairs), who)
        if method == "GET" and use_cache:
            cached = self.cache.get(key)
            if cached is not None:
                return cached
        error_kw = {"base_url": self.base_url, "not_found": not_found, "has_token": bool(headers),
                    "token_source": source}
        response = self.transport.send(
            method, url, params=pairs or None, json_body=json_body, headers=headers, error_kw=error_kw
        )
        data = decode_json(response, base_url_name=self.transport.base_url_name)
        if method == "GET" and use_cache:
            self.cache.put(key, data)
        return data

    def _object(self, data: Any, cls: Any, what: str) -> Any:
        if not isinstance(data, dict):
            raise BadResponse(f"unexpected answer for {what}: expected a JSON object")
        obj = cls.from_api(data)
        if obj.id is None:  # everything later (sidecars, downloads, updates) is keyed on it
            raise BadResponse(f"unexpected answer for {what}: it has no valid id")
        return obj

    # -- paging ---------------------------------------------------------------------------------------
    def page(self, path: str, params: Any, item_cls: Any, *, auth: bool = False, not_found: str | None = None) -> Page:
        data = self.get_json(path, params=params, auth=auth, not_found=not_found)
        if not isinstance(data, dict) or not isinstance(data.get("items", []), list):
            raise BadResponse(f"unexpected answer for {path}: expected a page of items")
        return Page.from_api(data, item_cls)

    def iter_items(
        self,
        path: str,
        params: Any,
        item_cls: Any,
        *,
        limit: int | None = None,
        auth: bool = False,
        not_found: str | None = None,
    ) -> Iterator[Any]:
        """Yield items across pages until ``limit`` items or the end: short and empty pages do not stop
        the walk while a cursor remains; a repeated cursor does (a server bug must not loop forever)."""
        if limit is not None and limit <= 0:
            return
        base = [(k, v) for k, v in param_list(params) if k not in ("cursor", "page")]
        current = list(base)
        seen: set[tuple] = set()
        produced = empty = 0
        by_cursor_only = path.strip("/") == "models"  # page*limit > 1000 is a 429 there: cursors only
        while True:
            page = self.page(path, current, item_cls, auth=auth, not_found=not_found)
            for item in page.items:
                yield item
                produced += 1
                if limit is not None and produced >= limit:
                    return
            empty = 0 if page.items else empty + 1
            if page.next_cursor is not None:
                nxt = [*base, ("cursor", page.next_cursor)]
            elif page.next_page:
                nxt = _next_page_query(page.next_page, cursor_only=by_cursor_only)
            else:
                nxt = None
            if not nxt or empty > MAX_EMPTY_PAGES:
                return
            marker = tuple(sorted(nxt))
            if marker in seen:
                log.warning("%s returned the same next page twice; stopping", path)
                return
            seen.add(marker)
            current = nxt

    # -- models -----------------------------------------------------------------------------------------
    def models_page(self, *, cursor: str | None = None, **filters: Any) -> Page:
        params = model_filters(**filters)
        if cursor:
            params.append(("cursor", cursor))
        return self.page("models", params, Model, auth=_needs_auth(filters), not_found=_user_not_found(filters))

    def models(self, *, limit: int | None = None, **filters: Any) -> Iterator[Model]:
        """Search models; every filter of GET /models (see ``model_filters``)."""
        params = model_filters(limit=limit, **filters)
        return self.iter_items(
            "models", params, Model, limit=limit, auth=_needs_auth(filters), not_found=_user_not_found(filters)
        )

    def model(self, model_id: int | str) -> Model:
        model_id = positive_id(model_id, "model")
        data = self.get_json(f"models/{model_id}", not_found=f"no model with id {model_id}")
        return self._object(data, Model, f"model {model_id}")

    def models_by_ids(self, ids: Iterable[int]) -> list[Model]:
        """Many models in few requests (``ids=`` takes up to 100 per page)."""
        unique = list(dict.fromkeys(positive_id(i, "model") for i in ids))
        found: list[Model] = []
        for chunk in _chunks(unique, 100):
            found.extend(self.models(ids=chunk, nsfw=True, limit=len(chunk)))
        return found

    # -- versions and hashes ----------------------------------------------------------------------------
    def model_version(self, version_id: int | str) -> ModelVersion:
        version_id = positive_id(version_id, "version")
        data = self.get_json(f"model-versions/{version_id}", not_found=f"no model version with id {version_id}")
        return self._object(data, ModelVersion, f"version {version_id}")

    def version_by_hash(self, file_hash: str) -> ModelVersion:
        """Look up a version by any hash kind (SHA256, AutoV1, AutoV2, AutoV3, CRC32, BLAKE3)."""
        h = normalize_hash(file_hash)
        data = self.get_json(f"model-versions/by-hash/{h}", not_found=f"no model version with hash {h}")
        return self._object(data, ModelVersion, f"hash {h}")

    def versions_by_hashes(self, sha256s: Iterable[str]) -> list[ModelVersion]:
        """POST /model-versions/by-hash in batches of 100: one version body per matching hash."""
        hashes = _sha256_list(sha256s)
        found: list[ModelVersion] = []
        for chunk in _chunks(hashes, BY_HASH_BATCH):
            data = self.post_json("model-versions/by-hash", list(chunk))
            if not isinstance(data, list):
                raise BadResponse("unexpected answer for by-hash: expected a JSON array")
            versions = (ModelVersion.from_api(item) for item in data if isinstance(item, dict))
            found.extend(v for v in versions if v.id is not None)  # a match without an id identifies nothing
        return found

    def version_ids_by_hashes(self, sha256s: Iterable[str]) -> list[HashMatch]:
        """POST /model-versions/by-hash/ids in batches of 10,000: ids only, cheap for big libraries."""
        hashes = _sha256_list(sha256s)
        found: list[HashMatch] = []
        for chunk in _chunks(hashes, BY_HASH_IDS_BATCH):
            data = self.post_json("model-versions/by-hash/ids", list(chunk))
            if not isinstance(data, list):
                raise BadResponse("unexpected answer for by-hash/ids: expected a JSON array")
            matches = (HashMatch.from_api(item) for item in data if isinstance(item, dict))
            found.extend(m for m in matches if m.model_version_id is not None)
        return found

    # -- images, creators, tags, enums, me ------------------------------------------------------------------
    def images_page(self, *, cursor: str | None = None, **filters: Any) -> Page:
        params = image_filters(**filters)
        if cursor:
            params.append(("cursor", cursor))
        return self.page("images", params, Image, not_found=_user_not_found(filters))

    def images(self, *, limit: int | None = None, **filters: Any) -> Iterator[Image]:
        return self.iter_items("images", image_filters(limit=limit, **filters), Image, limit=limit, not_found=_user_not_found(filters))

    def creators(self, *, query: str | None = None, limit: int | None = None, page_size: int | None = None) -> Iterator[Creator]:
        params = drop_none([("query", query), ("limit", page_size or clamp_page_size(limit, 100))])
        return self.iter_items("creators", params, Creator, limit=limit)

    def tags(self, *, query: str | None = None, limit: int | None = None, page_size: int | None = None) -> Iterator[Tag]:
        params = drop_none([("query", query), ("limit", page_size or clamp_page_size(limit, 200))])
        return self.iter_items("tags", params, Tag, limit=limit)

    def enums(self) -> dict[str, list[str]]:
        data = self.get_json("enums")
        if not isinstance(data, dict):
            raise BadResponse("unexpected answer for enums: expected a JSON object")
        return {k: [x for x in v if isinstance(x, str)] for k, v in data.items() if isinstance(v, list)}

    def me(self) -> dict:
        """The account the token belongs to (401 without a valid token)."""
        data = self.get_json("me", auth=True, use_cache=False)
        if not isinstance(data, dict):
            raise BadResponse("unexpected answer for me: expected a JSON object")
        return data


# -- helpers ------------------------------------------------------------------------------------------------
_TOKEN_TEXT = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII, no spaces


def _next_page_query(next_page: str, *, cursor_only: bool) -> list[tuple[str, str]] | None:
    """The query of a ``nextPage`` URL; with ``cursor_only`` (GET /models) only when it carries a cursor."""
    try:
        query = parse_qsl(urlsplit(next_page).query, keep_blank_values=True)
    except ValueError:
        log.warning("ignoring an unparseable nextPage")
        return None
    if cursor_only:
        if not any(k == "cursor" for k, _ in query):
            log.warning("the server offered a next page without a cursor; stopping (page numbers are capped)")
            return None
        query = [(k, v) for k, v in query if k != "page"]
    return query or None


def _sha256_list(values: Iterable[str]) -> list[str]:
    out = []
    for value in values:
        h = normalize_hash(value)
        if len(h) != 64:
            raise BadRequest(f"batch lookups take full SHA-256 hashes, not {value!r}")
        out.append(h)
    return list(dict.fromkeys(out))


def _needs_auth(filters: dict) -> bool:
    return bool(filters.get("favorites") or filters.get("hidden"))


def _user_not_found(filters: dict) -> str | None:
    return f"no user named {filters['username']}" if filters.get("username") else None
