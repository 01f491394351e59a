"""The paged list endpoints: /models, /images, /creators, /tags, with Civitai's validation and paging quirks.

Cursor pages imitate Civitai's post-filtering: along a cursor chain every third page is empty and the page
after it is one short, while `nextCursor` keeps pointing on. Only the last page has no `nextCursor`.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from . import fixtures, shapes
from .wire import Request, Response, json_response

QUERY_PAGE_BODY = {"error": "Cannot use page param with query search. Use cursor-based pagination."}


class Invalid(Exception):
    """A request Civitai would reject; carries the response to send."""

    def __init__(self, response: Response):
        super().__init__(response.status)
        self.response = response


def _zod(issues: list) -> Invalid:
    return Invalid(json_response(400, fixtures.zod_body(issues)))


def _number(raw: str | None, name: str, *, default: int, maximum: int, trpc: bool = False) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    issue = None
    if value != value:
        issue = fixtures.nan_issue([name])
    elif value > maximum:
        issue = fixtures.too_big_issue(maximum, [name])
    elif value < 0:
        issue = fixtures.too_small_issue(0, [name])
    if issue is not None:
        raise Invalid(json_response(400, [issue])) if trpc else _zod([issue])
    return int(value)


def _stringbool(raw: str | None, name: str) -> bool | None:
    if raw is None:
        return None
    lowered = raw.strip().lower()
    if lowered in fixtures.STRINGBOOL_TRUE:
        return True
    if lowered in fixtures.STRINGBOOL_FALSE:
        return False
    try:
        return float(raw) != 0
    except ValueError:
        raise Invalid(json_response(400, fixtures.nsfw_error(name))) from None


def _choice(raw: str | None, name: str, values: list, default: str) -> str:
    if raw is None:
        return default
    if raw not in values:
        raise _zod([fixtures.invalid_value_issue(values, [name])])
    return raw


def _page(request: Request, limit: int) -> int | None:
    raw = request.one("page")
    if raw is None:
        return None
    page = _number(raw, "page", default=1, maximum=10**9)
    if page * limit > 1000:
        raise Invalid(json_response(429, fixtures.PAGE_CAP_BODY))
    return page


def _cursor_metadata(fake, path: str, request, next_cursor, *, page, limit) -> dict:
    """Page metadata as Civitai sends it: a cursor and a full next-page URL while there is more, and the
    echoed (ignored) page number when one was asked for."""
    metadata: dict = {}
    if next_cursor is not None:
        metadata["nextCursor"] = next_cursor
        metadata["nextPage"] = _next_page(fake.url, path, request, next_cursor)
    if page is not None:
        metadata.update(currentPage=page, pageSize=limit)
    return metadata


def _next_page(base: str, path: str, request: Request, cursor: str) -> str:
    pairs = [(k, v) for k, v in request.pairs if k not in ("cursor", "page", "token")]
    return f"{base}{path}?" + urlencode(pairs + [("cursor", cursor)], quote_via=quote)


def paginate(items: list, *, limit: int, cursor: str | None, gaps: bool = True) -> tuple[list, str | None]:
    """One cursor page of `items` (each with an "id"); returns (page, nextCursor or None)."""
    number, anchor = 1, None
    if cursor:
        try:
            number_text, anchor_text = cursor.split("|", 1)
            number, anchor = int(number_text), int(anchor_text)
        except ValueError:
            raise Invalid(json_response(400, {"error": f"Invalid cursor: {cursor}"})) from None
    start = 0
    if anchor:
        ids = [item["id"] for item in items]
        if anchor not in ids:
            raise Invalid(json_response(400, {"error": f"Invalid cursor: {cursor}"}))
        start = ids.index(anchor) + 1
    size = limit
    if gaps and number % 3 == 2:
        size = 0
    elif gaps and number % 3 == 0:
        size = max(1, limit - 1)
    page = items[start:start + size]
    if start + len(page) >= len(items):
        return page, None
    last = page[-1]["id"] if page else (anchor or 0)
    return page, f"{number + 1}|{last}"


def _stat(model: dict, key: str) -> float:
    return (model.get("stats") or {}).get(key) or 0


def _newest(model: dict) -> str:
    return max((v.get("publishedAt") or v.get("createdAt") or "" for v in model.get("modelVersions", [])),
               default="")


MODEL_SORT_KEYS = {
    "Highest Rated": lambda m: _stat(m, "thumbsUpCount") - _stat(m, "thumbsDownCount"),
    "Most Downloaded": lambda m: _stat(m, "downloadCount"),
    "Most Liked": lambda m: _stat(m, "thumbsUpCount"),
    "Most Discussed": lambda m: _stat(m, "commentCount"),
    "Most Collected": lambda m: _stat(m, "collectedCount") or _stat(m, "favoriteCount"),
    "Most Images": lambda m: sum(len(v.get("images", [])) for v in m.get("modelVersions", [])),
    "Newest": _newest,
}


def list_models(fake, request: Request) -> Response:
    catalog = fake.catalog
    limit = _number(request.one("limit"), "limit", default=100, maximum=100) or 100
    types = request.query.get("types") or []
    for index, value in enumerate(types):
        if value not in fixtures.MODEL_TYPES:
            return json_response(400, fixtures.types_error(None if len(types) == 1 else index))
    sort = _choice(request.one("sort"), "sort", fixtures.MODEL_SORTS, "Highest Rated")
    _choice(request.one("period"), "period", fixtures.PERIODS, "AllTime")
    nsfw = _stringbool(request.one("nsfw"), "nsfw")
    primary_only = bool(_stringbool(request.one("primaryFileOnly"), "primaryFileOnly"))
    query = (request.one("query") or "").strip()
    if query and request.one("page") is not None:
        return json_response(400, QUERY_PAGE_BODY)
    page = _page(request, limit)
    wants_private = "favorites" in request.query or "hidden" in request.query
    if wants_private and not fake.authorized(request):
        return json_response(401, {"error": "Unauthorized"})
    username = request.one("username")
    if username and username.lower() not in {c["username"].lower() for c in catalog.creators()}:
        return json_response(404, {"message": "User not found"})
    ids = None
    if request.one("ids"):
        try:
            ids = {int(part) for part in request.one("ids").split(",") if part.strip()}
        except ValueError:
            return json_response(400, fixtures.zod_body([fixtures.nan_issue(["ids"])]))
    tag = (request.one("tag") or "").lower()
    if tag and tag not in {name.lower() for name in catalog.tag_names()}:
        tag = ""
    base_models = set(request.query.get("baseModels") or [])
    mask = 31 if nsfw else 1

    def keep(model: dict) -> bool:
        if not shapes.model_level(model) & mask:
            return False
        if types and model.get("type") not in types:
            return False
        if base_models and not base_models & {v.get("baseModel") for v in model.get("modelVersions", [])}:
            return False
        if username and ((model.get("creator") or {}).get("username") or "").lower() != username.lower():
            return False
        if query and query.lower() not in str(model.get("name", "")).lower():
            return False
        if ids is not None and model["id"] not in ids:
            return False
        if tag and tag not in {(t.get("name") if isinstance(t, dict) else str(t)).lower()
                               for t in model.get("tags", [])}:
            return False
        if "favorites" in request.query and model["id"] not in fake.favorite_ids:
            return False
        if "hidden" in request.query and model["id"] not in fake.hidden_ids:
            return False
        return True

    with catalog.lock:
        models = [m for m in catalog.models.values() if keep(m)]
    if sort == "Oldest":
        models.sort(key=lambda m: (_newest(m), m["id"]))
    else:
        models.sort(key=lambda m: (MODEL_SORT_KEYS[sort](m), m["id"]), reverse=True)
    if query:
        offset = int(request.one("cursor") or 0) if (request.one("cursor") or "0").isdigit() else 0
        chunk = models[offset:offset + limit]
        next_cursor = str(offset + limit) if offset + limit < len(models) else None
    else:
        chunk, next_cursor = paginate(models, limit=limit, cursor=request.one("cursor"))
    items = [shapes.list_item(m, primary_only=primary_only) for m in chunk]
    metadata = _cursor_metadata(fake, "/api/v1/models", request, next_cursor, page=page, limit=limit)
    return json_response(200, {"items": items, "metadata": metadata})


IMAGE_NSFW_MASKS = {"None": 1, "Soft": 3, "Mature": 7, "X": 31}


def list_images(fake, request: Request) -> Response:
    catalog = fake.catalog
    limit = _number(request.one("limit"), "limit", default=100, maximum=200) or 100
    sort = _choice(request.one("sort"), "sort", fixtures.IMAGE_SORTS, "Newest")
    _choice(request.one("period"), "period", fixtures.PERIODS, "AllTime")
    raw_nsfw = request.one("nsfw")
    if raw_nsfw in IMAGE_NSFW_MASKS:
        mask = IMAGE_NSFW_MASKS[raw_nsfw]
    else:
        mask = 31 if _stringbool(raw_nsfw, "nsfw") else 1
    with_meta = _stringbool(request.one("withMeta"), "withMeta") is not False
    page = _page(request, limit)
    filters = {}
    for name in ("modelId", "modelVersionId", "postId"):
        if request.one(name) is not None:
            filters[name] = _number(request.one(name), name, default=0, maximum=2**31)
    username = (request.one("username") or "").lower()
    if username and username not in {c["username"].lower() for c in catalog.creators()}:
        return json_response(404, {"message": "User not found"})
    items, seen = [], set()
    with catalog.lock:
        for model in catalog.models.values():
            for version in model.get("modelVersions", []):
                for image in version.get("images", []):
                    key = shapes.image_key(image.get("url", ""))
                    item = shapes.images_item(image, model=model, version=version,
                                              meta=catalog.image_meta.get(key), with_meta=with_meta)
                    if item["id"] in seen:
                        continue
                    seen.add(item["id"])
                    item["modelId"] = model["id"]
                    items.append(item)
        for image in catalog.standalone_images:
            items.append({**image, "browsingLevel": shapes.image_level(image)})

    def keep(item: dict) -> bool:
        if not item.get("browsingLevel", 1) & mask:
            return False
        if "modelId" in filters and item.get("modelId") != filters["modelId"]:
            return False
        if "modelVersionId" in filters and filters["modelVersionId"] not in item.get("modelVersionIds", []):
            return False
        if "postId" in filters and item.get("postId") != filters["postId"]:
            return False
        return not username or (item.get("username") or "").lower() == username

    items = [item for item in items if keep(item)]
    if sort == "Oldest":
        items.sort(key=lambda i: (i.get("createdAt") or "", i["id"]))
    elif sort == "Newest":
        items.sort(key=lambda i: (i.get("createdAt") or "", i["id"]), reverse=True)
    else:
        stat = {"Most Reactions": "likeCount", "Most Comments": "commentCount"}.get(sort, "heartCount")
        items.sort(key=lambda i: ((i.get("stats") or {}).get(stat, 0), i["id"]), reverse=True)
    chunk, next_cursor = paginate(items, limit=limit, cursor=request.one("cursor"))
    for item in chunk:
        item.pop("browsingLevel", None)
        item.pop("modelId", None)
    metadata = _cursor_metadata(fake, "/api/v1/images", request, next_cursor, page=page, limit=limit)
    return json_response(200, {"items": chunk, "metadata": metadata})


def _page_number(request: Request) -> int:
    return max(1, _number(request.one("page"), "page", default=1, maximum=10**9, trpc=True))


def list_creators(fake, request: Request) -> Response:
    limit = _number(request.one("limit"), "limit", default=20, maximum=200, trpc=True) or 20
    page = _page_number(request)
    query = (request.one("query") or "").lower()
    creators = sorted((c for c in fake.catalog.creators() if query in c["username"].lower()),
                      key=lambda c: (-c.get("modelCount", 0), c["username"].lower()))
    chunk = creators[(page - 1) * limit: page * limit]
    items = []
    for creator in chunk:
        item = {"username": creator["username"], "modelCount": creator.get("modelCount", 0),
                "link": f"{fake.url}/api/v1/models?username={creator['username']}"}
        if creator.get("image"):
            item["image"] = creator["image"]
        items.append(item)
    total_pages = max(1, -(-len(creators) // limit))
    metadata = {"totalItems": len(creators), "currentPage": page, "pageSize": limit, "totalPages": total_pages}
    if page < total_pages:
        params = [("limit", limit)] + ([("query", request.one("query"))] if query else []) + [("page", page + 1)]
        metadata["nextPage"] = f"{fake.url}/api/v1/creators?" + urlencode(params, quote_via=quote)
    return json_response(200, {"items": items, "metadata": metadata})


def list_tags(fake, request: Request) -> Response:
    limit = _number(request.one("limit"), "limit", default=20, maximum=200, trpc=True) or 20
    page = _page_number(request)
    query = (request.one("query") or "").lower()
    names = sorted(name for name in fake.catalog.tag_names() if query in name.lower())
    chunk = names[(page - 1) * limit: page * limit]
    items = [{"name": name, "link": f"{fake.url}/api/v1/models?tag={name}"} for name in chunk]
    metadata = {"totalItems": 0, "currentPage": page, "pageSize": limit, "totalPages": 0}
    return json_response(200, {"items": items, "metadata": metadata})
