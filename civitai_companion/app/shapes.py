"""How the app's answers are shaped from the core's types: cards, images, counters, library rows."""

from __future__ import annotations

from typing import Any

from ..api import Image, Model
from .media import CARD_WIDTH, is_video_url, sized_url
from .routes import ApiError


def count(value: Any, default: int, maximum: int, name: str, *, minimum: int = 1) -> int:
    if value is None or value == "":
        return default
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 10 or not minimum <= int(text) <= maximum:
        raise ApiError(400, "bad_request", f"{name} is a number from {minimum} to {maximum}")
    return int(text)


def shown(level: int | None, mask: int) -> bool:
    """An image may be shown unblurred when none of its level bits is outside the mask."""
    return not ((level or 1) & ~mask)


def image_nsfw(mask: int) -> str:
    """/images takes None/Soft/Mature/X rather than a mask: the smallest that covers it."""
    for name, covers in (("None", 1), ("Soft", 3), ("Mature", 7)):
        if not mask & ~covers:
            return name
    return "X"


def kind(image: Image | None) -> str | None:
    if image is None:
        return None
    return "video" if image.is_video or is_video_url(image.url or "") else "image"


def thumb_url(image: Image | None, width: int = CARD_WIDTH) -> str | None:
    return sized_url(image.url, width, still=image.is_video) if image is not None else None


def image(image: Image, preview: int) -> dict:
    return {"id": image.id, "url": thumb_url(image), "type": kind(image), "width": image.width,
            "height": image.height, "nsfwLevel": image.nsfw_level, "blur": not shown(image.nsfw_level, preview),
            "hash": image.hash, "meta": image.meta, "parameters": infotext(image.meta), "username": image.username,
            "postId": image.post_id}


def stats(stats: Any) -> dict:
    return {"downloads": stats.download_count, "likes": stats.thumbs_up_count, "favorites": stats.favorite_count,
            "comments": stats.comment_count, "rating": stats.rating}


def creator(model: Model) -> dict | None:
    if model.creator is None:
        return None
    return {"username": model.creator.username, "image": sized_url(model.creator.image, 96)}


def library_row(row: dict) -> dict:
    out = {k: v for k, v in row.items() if k != "preview"}
    sha = row.get("sha256")
    out["previewUrl"] = f"library/preview/{sha}" if sha and row.get("preview") else None
    return out


_META_ORDER = (("steps", "Steps"), ("sampler", "Sampler"), ("cfgScale", "CFG scale"), ("seed", "Seed"),
               ("Size", "Size"), ("clipSkip", "Clip skip"), ("Model", "Model"))


def infotext(meta: dict | None) -> str | None:
    """Generation parameters as A1111 writes them (prompt, ``Negative prompt:``, ``Steps: …``), which
    A1111's "read generation parameters" button and most tools understand."""
    if not isinstance(meta, dict) or not meta.get("prompt"):
        return None
    lines = [str(meta["prompt"]).strip()]
    if meta.get("negativePrompt"):
        lines.append(f"Negative prompt: {str(meta['negativePrompt']).strip()}")
    fields = [f"{label}: {meta[key]}" for key, label in _META_ORDER if meta.get(key) not in (None, "")]
    if fields:
        lines.append(", ".join(fields))
    return "\n".join(lines)
