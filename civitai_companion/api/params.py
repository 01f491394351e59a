"""Query parameters of the list endpoints, built the way Civitai expects them.

Arrays go out as repeated keys (``types=LORA&types=Checkpoint``): a comma list is a 400 at Civitai.
"""

from __future__ import annotations

from typing import Any, Iterable

from .errors import BadRequest


def flag(value: bool | None) -> str | None:
    """A tri-state filter: None leaves the parameter out."""
    return None if value is None else ("true" if value else "false")


def param_list(params: Any) -> list[tuple[str, str]]:
    """Pairs from a dict or pairs; list values become repeated keys, None values are left out."""
    if not params:
        return []
    items = params.items() if isinstance(params, dict) else params
    out = []
    for key, value in items:
        values = value if isinstance(value, (list, tuple)) else [value]
        out.extend((key, str(v)) for v in values if v is not None)
    return out


def drop_none(pairs: Iterable[tuple[str, Any]]) -> list[tuple[str, str]]:
    return param_list([(k, v) for k, v in pairs if v is not None])


def clamp_page_size(limit: int | None, maximum: int) -> int | None:
    """The page size for ``limit`` items, within what the endpoint accepts."""
    return None if limit is None else max(1, min(int(limit), maximum))


def positive_id(value: int | str, what: str) -> int:
    """An id as Civitai stores them (a positive 32-bit number), or ``BadRequest`` before any request."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        text = value.strip() if isinstance(value, str) else ""
        # ASCII digits only ("٣" and "1_000" are ints to Python, not ids); at most 10 of them.
        if not (text.isascii() and text.isdigit()) or len(text) > 10:
            raise BadRequest(f"not a {what} id: {value!r}")
        number = int(text)
    if number <= 0 or number > 2_147_483_647:
        raise BadRequest(f"not a {what} id: {value!r}")
    return number


def many(value: Any) -> list:
    """One value or many, as a list."""
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
    id_list = [str(positive_id(i, "model")) for i in many(ids)]
    pairs: list[tuple[str, Any]] = [
        ("limit", page_size or clamp_page_size(limit, 100)),
        ("query", query or None),
        ("tag", tag or None),
        ("username", username or None),
        ("types", many(types)),
        ("baseModels", many(base_models)),
        ("sort", sort or None),
        ("period", period or None),
        ("nsfw", flag(nsfw)),
        ("browsingLevel", browsing_level),
        ("primaryFileOnly", flag(primary_file_only)),
        ("ids", ",".join(id_list) or None),
        ("allowNoCredit", flag(allow_no_credit)),
        ("allowDerivatives", flag(allow_derivatives)),
        ("allowDifferentLicense", flag(allow_different_license)),
        ("allowCommercialUse", many(allow_commercial_use)),
        ("supportsGeneration", flag(supports_generation)),
        ("favorites", "true" if favorites else None),
        ("hidden", "true" if hidden else None),
    ]
    pairs.extend((extra or {}).items())
    return drop_none(pairs)


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
        ("limit", page_size or clamp_page_size(limit, 200)),
        ("modelId", model_id),
        ("modelVersionId", model_version_id),
        ("postId", post_id),
        ("username", username or None),
        ("nsfw", flag(nsfw) if isinstance(nsfw, bool) else nsfw),
        ("sort", sort or None),
        ("period", period or None),
        ("withMeta", flag(with_meta)),
    ]
    pairs.extend((extra or {}).items())
    return drop_none(pairs)
