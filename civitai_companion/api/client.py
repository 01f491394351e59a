"""A client for every public endpoint of Civitai's REST API v1.

Configuration is read when used, so a host's settings page or a test can change ``CIVITAI_BASE_URL``
and the token without rebuilding the client. The token is sent as a Bearer header only to the
configured Civitai host and only where it changes the answer (favorites/hidden, ``me``, downloads):
requests with a token bypass Civitai's edge cache, so sending it everywhere would make every call slower.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable, Iterator, Sequence, TypeVar
from urllib.parse import parse_qsl, urlsplit

import requests

from .. import config
from .errors import BadRequest, BadResponse, is_hex
from .http import DEFAULT_TIMEOUT, ResponseCache, Transport, decode_json
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


def _flag(value: bool | None) -> str | None:
    return None if value is None else ("true" if value else "false")


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
    ) -> None:
        self._base_url = base_url
        self._token = token
        kw: dict[str, Any] = {"session": session, "timeout": timeout, "max_tries": max_tries, "retry_after_cap": retry_after_cap}
        if sleep is not None:
            kw["sleep"] = sleep
        self.transport = Transport(**kw)
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
        token = self.token
        if not token or urlsplit(url).netloc.lower() != urlsplit(self.base_url).netloc.lower():
            return {}
        return {"Authorization": f"Bearer {token}"}

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
        headers = self.auth_headers(url) if auth else {}
        param_list = _param_list(params)
        key = (method, url, tuple(param_list), bool(headers))
        if method == "GET" and use_cache:
            cached = self.cache.get(key)
            if cached is not None:
                return cached
        error_kw = {"base_url": self.base_url, "not_found": not_found, "has_token": bool(headers)}
        response = self.transport.send(
            method, url, params=param_list or None, json_body=json_body, headers=headers, error_kw=error_kw
        )
        data = decode_json(response)
        if method == "GET" and use_cache:
            self.cache.put(key, data)
        return data

    def _object(self, data: Any, cls: Any, what: str) -> Any:
        if not isinstance(data, dict):
            raise BadResponse(f"unexpected answer for {what}: expected a JSON object")
        return cls.from_api(data)

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
        base = [(k, v) for k, v in _param_list(params) if k not in ("cursor", "page")]
        current = list(base)
        seen: set[tuple] = set()
        produced = empty = 0
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
                query = parse_qsl(urlsplit(page.next_page).query, keep_blank_values=True)
                nxt = query if query else None
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
        model_id = _positive_id(model_id, "model")
        data = self.get_json(f"models/{model_id}", not_found=f"no model with id {model_id}")
        return self._object(data, Model, f"model {model_id}")

    def models_by_ids(self, ids: Iterable[int]) -> list[Model]:
        """Many models in few requests (``ids=`` takes up to 100 per page)."""
        unique = list(dict.fromkeys(int(i) for i in ids))
        found: list[Model] = []
        for chunk in _chunks(unique, 100):
            found.extend(self.models(ids=chunk, nsfw=True, limit=len(chunk)))
        return found

    # -- versions and hashes ----------------------------------------------------------------------------
    def model_version(self, version_id: int | str) -> ModelVersion:
        version_id = _positive_id(version_id, "version")
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
            found.extend(ModelVersion.from_api(item) for item in data if isinstance(item, dict))
        return found

    def version_ids_by_hashes(self, sha256s: Iterable[str]) -> list[HashMatch]:
        """POST /model-versions/by-hash/ids in batches of 10,000: ids only, cheap for big libraries."""
        hashes = _sha256_list(sha256s)
        found: list[HashMatch] = []
        for chunk in _chunks(hashes, BY_HASH_IDS_BATCH):
            data = self.post_json("model-versions/by-hash/ids", list(chunk))
            if not isinstance(data, list):
                raise BadResponse("unexpected answer for by-hash/ids: expected a JSON array")
            found.extend(HashMatch.from_api(item) for item in data if isinstance(item, dict))
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
        params = _drop_none([("query", query), ("limit", page_size or _page_size(limit, 100))])
        return self.iter_items("creators", params, Creator, limit=limit)

    def tags(self, *, query: str | None = None, limit: int | None = None, page_size: int | None = None) -> Iterator[Tag]:
        params = _drop_none([("query", query), ("limit", page_size or _page_size(limit, 200))])
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


# -- parameters ---------------------------------------------------------------------------------------------
def _param_list(params: Any) -> list[tuple[str, str]]:
    if not params:
        return []
    items = params.items() if isinstance(params, dict) else params
    out = []
    for key, value in items:
        values = value if isinstance(value, (list, tuple)) else [value]
        out.extend((key, str(v)) for v in values if v is not None)
    return out


def _drop_none(pairs: Iterable[tuple[str, Any]]) -> list[tuple[str, str]]:
    return _param_list([(k, v) for k, v in pairs if v is not None])


def _page_size(limit: int | None, maximum: int) -> int | None:
    return None if limit is None else max(1, min(int(limit), maximum))


def _positive_id(value: int | str, what: str) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise BadRequest(f"not a {what} id: {value!r}") from None
    if number <= 0 or number > 2_147_483_647:
        raise BadRequest(f"not a {what} id: {value!r}")
    return number


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


def _many(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, (str, int)):
        return [value]
    return list(value)


def model_filters(
    *,
    query: str | None = None,
    tag: str | None = None,
    username: str | None = None,
    types: Iterable[str] | str | None = None,
    base_models: Iterable[str] | str | None = None,
    sort: str | None = None,
    period: str | None = None,
    nsfw: bool | None = None,
    browsing_level: int | None = None,
    primary_file_only: bool | None = None,
    ids: Iterable[int] | None = None,
    allow_no_credit: bool | None = None,
    allow_derivatives: bool | None = None,
    allow_different_license: bool | None = None,
    allow_commercial_use: Iterable[str] | str | None = None,
    supports_generation: bool | None = None,
    favorites: bool = False,
    hidden: bool = False,
    page_size: int | None = None,
    limit: int | None = None,
    extra: dict | None = None,
) -> list[tuple[str, str]]:
    """GET /models query parameters; arrays become repeated keys (a comma list is a 400 at Civitai)."""
    id_list = [str(_positive_id(i, "model")) for i in _many(ids)]
    pairs: list[tuple[str, Any]] = [
        ("limit", page_size or _page_size(limit, 100)),
        ("query", query or None),
        ("tag", tag or None),
        ("username", username or None),
        ("types", _many(types)),
        ("baseModels", _many(base_models)),
        ("sort", sort or None),
        ("period", period or None),
        ("nsfw", _flag(nsfw)),
        ("browsingLevel", browsing_level),
        ("primaryFileOnly", _flag(primary_file_only)),
        ("ids", ",".join(id_list) or None),
        ("allowNoCredit", _flag(allow_no_credit)),
        ("allowDerivatives", _flag(allow_derivatives)),
        ("allowDifferentLicense", _flag(allow_different_license)),
        ("allowCommercialUse", _many(allow_commercial_use)),
        ("supportsGeneration", _flag(supports_generation)),
        ("favorites", "true" if favorites else None),
        ("hidden", "true" if hidden else None),
    ]
    pairs.extend((extra or {}).items())
    return _drop_none(pairs)


def image_filters(
    *,
    model_id: int | None = None,
    model_version_id: int | None = None,
    post_id: int | None = None,
    username: str | None = None,
    nsfw: bool | str | None = None,
    sort: str | None = None,
    period: str | None = None,
    with_meta: bool | None = None,
    page_size: int | None = None,
    limit: int | None = None,
    extra: dict | None = None,
) -> list[tuple[str, str]]:
    """GET /images query parameters (``nsfw``: a bool, or None/Soft/Mature/X)."""
    pairs: list[tuple[str, Any]] = [
        ("limit", page_size or _page_size(limit, 200)),
        ("modelId", model_id),
        ("modelVersionId", model_version_id),
        ("postId", post_id),
        ("username", username or None),
        ("nsfw", _flag(nsfw) if isinstance(nsfw, bool) else nsfw),
        ("sort", sort or None),
        ("period", period or None),
        ("withMeta", _flag(with_meta)),
    ]
    pairs.extend((extra or {}).items())
    return _drop_none(pairs)
