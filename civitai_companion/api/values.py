"""Tolerant readers for single JSON values: a value of the wrong type is ``None`` (or empty), never an error.

Other tools write ``""`` for what they do not know, so an empty string reads as absent.
"""

from __future__ import annotations

from typing import Any

# Older APIs said "None/Soft/Mature/X"; today NSFW levels are bit flags.
NSFW_WORDS = {"none": 1, "soft": 2, "mature": 4, "x": 8, "xxx": 16, "blocked": 32}


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _str(value: Any) -> str | None:
    if isinstance(value, str):
        return value if value.strip() else None  # other tools write "" for "unknown": that is absent
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _strs(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if not isinstance(value, list):
        return []
    out = []
    for item in value:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict) and isinstance(item.get("name"), str):  # tags were objects in 2023
            out.append(item["name"])
    return out


def _objects(value: Any, cls: Any) -> list:
    return [cls.from_api(item) for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def nsfw_level(value: Any) -> int | None:
    """A numeric NSFW level from either today's bit flags or the old words ("None", "Soft", ...)."""
    if isinstance(value, str):
        word = NSFW_WORDS.get(value.strip().lower())
        return word if word is not None else _int(value)
    return _int(value)


def commercial_use(value: Any) -> list[str]:
    """``allowCommercialUse`` as a list, whether it came as "Rent", "{Image,Rent}" or ["Image", "Rent"]."""
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{") and text.endswith("}"):
            return [part.strip().strip('"') for part in text[1:-1].split(",") if part.strip()]
        return [text] if text else []
    return []
