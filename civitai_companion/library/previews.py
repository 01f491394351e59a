"""Which picture becomes a model's preview, and at which URL it is fetched.

Civitai's image CDN takes its options as one path segment (``.../<uuid>/width=450/<name>.jpeg``). The
API often sends ``original=true`` (the full-size file, several MB): a preview is fetched sized instead.
For a video the same CDN is asked for a still (``anim=false``); what comes back is checked to be an
image before it is kept, so a CDN that ignores the option costs one request and nothing else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator
from urllib.parse import urlsplit, urlunsplit

from ..api import Image, Model, ModelVersion

PREVIEW_WIDTH = 450  # what Civitai's own list answers use
_OPTION = re.compile(r"^[a-z]+=[^,/=]*$", re.IGNORECASE)


def _options(segment: str) -> list[tuple[str, str]] | None:
    parts = segment.split(",")
    if not parts or not all(_OPTION.match(p) for p in parts):
        return None
    return [tuple(p.split("=", 1)) for p in parts]


def cdn_url(url: str, *, width: int = PREVIEW_WIDTH, still: bool = False) -> str | None:
    """``url`` with its CDN options set for a preview: ``original=true`` becomes ``width=<width>`` (a
    sized copy is kept as it is) and ``still`` adds ``anim=false``. None when the URL has no options
    segment to change and a change was needed (a still of a plain video URL cannot be asked for)."""
    parts = urlsplit(url)
    segments = parts.path.split("/")
    options = _options(segments[-2]) if len(segments) >= 3 else None
    if options is None:
        return None if still else url
    keys = {k.lower(): v for k, v in options}
    changed = [(k, v) for k, v in options if k.lower() not in ("original", "anim") and not (still and k.lower() == "transcode")]
    if "width" not in keys and "height" not in keys:
        changed.append(("width", str(width)))
    if still:
        changed.insert(0, ("anim", "false"))
    elif "anim" in keys:
        changed.append(("anim", keys["anim"]))
    segments[-2] = ",".join(f"{k}={v}" for k, v in changed)
    return urlunsplit(parts._replace(path="/".join(segments)))


def _rated(image: Image, max_nsfw_level: int) -> bool:
    """Rated at or under the limit; unrated images are not guessed safe."""
    level = image.nsfw_level
    if level is None and image.nsfw is False:
        level = 1
    return level is not None and 0 < level <= max_nsfw_level


def _stills(version: ModelVersion, max_nsfw_level: int) -> list[Image]:
    """The version's still images under the limit, those that carry generation parameters first."""
    stills = [i for i in version.images if i.url and not i.is_video and _rated(i, max_nsfw_level)]
    return sorted(stills, key=lambda i: not i.meta)


def pick_preview_image(version: ModelVersion, *, max_nsfw_level: int = 1) -> Image | None:
    """The still to use as preview: rated at or under ``max_nsfw_level``, one with generation parameters
    preferred."""
    stills = _stills(version, max_nsfw_level)
    return stills[0] if stills else None


@dataclass(frozen=True)
class PreviewCandidate:
    url: str
    image: Image
    note: str | None = None  # said to the user when the preview is not one of the version's own stills


def preview_candidates(version: ModelVersion, *, model: Model | None = None,
                       max_nsfw_level: int = 1) -> Iterator[PreviewCandidate]:
    """Where a preview may come from, best first: the version's stills; for a version with only
    videos, a still frame of one of them, then the first still of another version of the model."""
    stills = _stills(version, max_nsfw_level)
    if stills:
        yield PreviewCandidate(cdn_url(stills[0].url) or stills[0].url, stills[0])
        return
    for video in (i for i in version.images if i.url and i.is_video and _rated(i, max_nsfw_level)):
        url = cdn_url(video.url, still=True)
        if url is not None:
            yield PreviewCandidate(url, video, "the version has only videos: the preview is a still frame of one")
            break
    for other in (model.model_versions if model is not None else []):
        if other.id == version.id:
            continue
        found = _stills(other, max_nsfw_level)
        if found:
            note = (f"the version has only videos: the preview is the first picture of version "
                    f"{other.name or other.id} ({other.id})")
            yield PreviewCandidate(cdn_url(found[0].url) or found[0].url, found[0], note)
            return
