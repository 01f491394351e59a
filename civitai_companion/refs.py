"""What the user typed to name a model version: an id, an AIR, or a Civitai URL.

People copy whatever the site shows them: the version id, the AIR from the version's sidebar
(``urn:air:sdxl:lora:civitai:123@456``), the page URL (``/models/123?modelVersionId=456`` or
``/models/123/some-slug``, which means the latest version) or the download link
(``/api/download/models/456``). Parsing needs no network; :func:`resolve_version` does the one lookup
a model-only reference needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

from . import config
from .api.errors import BadRequest, NotFound


class RefMismatch(BadRequest):
    """The parts of a reference disagree: its version belongs to another model, or is of another type."""

if TYPE_CHECKING:
    from .api import CivitaiClient, ModelVersion

# Hosts whose URLs we accept besides the configured base URL's host.
KNOWN_HOSTS = ("civitai.com", "civitai.red", "civitai.green")
MAX_ID = 2_147_483_647

# urn:air:{ecosystem}:{type}:{source}:{id}[@{version}][:{layer}][.{format}]
_AIR = re.compile(
    r"^(?:urn:air:(?P<ecosystem>[\w.-]+):(?P<type>[\w.-]+):)?(?P<source>[a-z]+):(?P<model>\d+)"
    r"(?:@(?P<version>\d+))?(?::[\w-]+)?(?:\.[\w]+)?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Ref:
    """A parsed reference: a version id, or a model id whose latest version is meant."""

    version_id: int | None = None
    model_id: int | None = None
    text: str = ""
    model_type: str | None = None  # the type an AIR names (``lora`` in urn:air:sdxl:lora:...)

    def __str__(self) -> str:
        if self.version_id is not None:
            return f"version {self.version_id}"
        return f"model {self.model_id} (latest version)"


def _digits(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also accepts "٣" and "²", which are not ids anyone typed on purpose."""
    return text.isascii() and text.isdigit()


def _id(text: str | None, original: str) -> int:
    # The length check comes first: int() of thousands of digits is slow, then refused by Python itself.
    if text is None or not _digits(text) or len(text) > len(str(MAX_ID)) or not 0 < int(text) <= MAX_ID:
        raise BadRequest(f"not a Civitai id in {original!r}")
    return int(text)


def _host_ok(host: str, base_url: str | None) -> bool:
    host = host.lower().split(":")[0]
    if host.startswith("www."):
        host = host[4:]
    base_host = urlsplit(config.base_url(base_url)).hostname or ""
    base_host = base_host.lower().removeprefix("www.")
    return host in KNOWN_HOSTS or (bool(base_host) and host == base_host)


def parse_ref(text: str, *, base_url: str | None = None) -> Ref:
    """Parse a version id, an AIR or a Civitai URL; ``BadRequest`` (a ValueError) says what was wrong."""
    original = text
    value = (text or "").strip()
    if not value:
        raise BadRequest("empty reference: give a version id, an AIR or a Civitai URL")
    if _digits(value):
        return Ref(version_id=_id(value, original), text=original)
    if re.match(r"^https?://", value, re.IGNORECASE) or re.match(r"^(www\.)?civitai\.[a-z]+/", value, re.IGNORECASE):
        return _parse_url(value if "://" in value else "https://" + value, original, base_url)
    match = _AIR.match(value)
    if match:
        if match.group("source").lower() != "civitai":
            raise BadRequest(f"{original!r} is an AIR for {match.group('source')}, not Civitai")
        model_id = _id(match.group("model"), original)
        version = match.group("version")
        return Ref(version_id=_id(version, original) if version else None, model_id=model_id, text=original,
                   model_type=match.group("type"))
    raise BadRequest(
        f"cannot read {original!r}: give a version id (456), an AIR (urn:air:sdxl:lora:civitai:123@456) "
        "or a Civitai URL (https://civitai.com/models/123?modelVersionId=456)"
    )


def _parse_url(url: str, original: str, base_url: str | None) -> Ref:
    try:
        parts = urlsplit(url)
    except ValueError:
        raise BadRequest(f"not a URL: {original!r}") from None
    if not parts.hostname or not _host_ok(parts.hostname, base_url):
        raise BadRequest(f"{original!r} is not a Civitai URL (expected civitai.com or {config.base_url(base_url)})")
    segments = [unquote(s) for s in parts.path.split("/") if s]
    query = parse_qs(parts.query)
    version = (query.get("modelVersionId") or query.get("modelversionid") or [None])[0]
    lowered = [s.lower() for s in segments]
    # /api/download/models/456 and /api/v1/model-versions/456
    if lowered[:3] == ["api", "download", "models"] and len(segments) >= 4:
        return Ref(version_id=_id(segments[3], original), text=original)
    if lowered[:3] == ["api", "v1", "model-versions"] and len(segments) >= 4:
        return Ref(version_id=_id(segments[3], original), text=original)
    if lowered[:3] == ["api", "v1", "models"] and len(segments) >= 4:
        return Ref(model_id=_id(segments[3], original), text=original)
    if lowered[:1] == ["models"] and len(segments) >= 2:
        model_id = _id(segments[1], original)
        if version:
            return Ref(version_id=_id(version, original), model_id=model_id, text=original)
        return Ref(model_id=model_id, text=original)
    if lowered[:1] == ["model-versions"] and len(segments) >= 2:
        return Ref(version_id=_id(segments[1], original), text=original)
    raise BadRequest(f"{original!r} does not point at a model or a model version")


def resolve_version(client: "CivitaiClient", ref: Ref | str) -> "ModelVersion":
    """The version a reference names: one request for a version id, the model's latest otherwise."""
    if isinstance(ref, str):
        ref = parse_ref(ref, base_url=client.base_url)
    if ref.version_id is not None:
        version = client.model_version(ref.version_id)
        _check_agreement(ref, version)
        if version.model_id is None and ref.model_id is not None:
            version.model_id = ref.model_id
        return version
    model = client.model(ref.model_id)
    latest = model.latest_version
    if latest is None or latest.id is None:
        raise NotFound(f"model {ref.model_id} has no downloadable version", hint="it may be archived or unpublished")
    # List items lack some fields (model name/type); the version endpoint has all of them.
    version = client.model_version(latest.id)
    _check_agreement(ref, version, model_type=model.type)
    if version.model_id is None:
        version.model_id = model.id
    if not version.model.name:
        version.model.name = model.name
    if not version.model.type:
        version.model.type = model.type
    return version


def _check_agreement(ref: Ref, version: "ModelVersion", *, model_type: str | None = None) -> None:
    """A reference whose parts disagree is refused, never obeyed: ``civitai:1@2`` where version 2 is of
    model 3 would download model 3 without a word. The version id alone says what was meant."""
    name = f", {version.model.name}," if version.model.name else ""
    if ref.model_id is not None and version.model_id is not None and version.model_id != ref.model_id:
        raise RefMismatch(
            f"{ref.text!r} names model {ref.model_id}, but version {version.id} belongs to model "
            f"{version.model_id}{name.rstrip(',')}",
            hint=f"to download that version, give its id alone: {version.id}",
        )
    actual = version.model.type or model_type
    if ref.model_type and actual:
        from .hosts.base import kind_for, model_type as known_type

        said = known_type(ref.model_type)
        if said is not None and kind_for(said.name, warn=False) != kind_for(actual, warn=False):
            raise RefMismatch(
                f"{ref.text!r} says {ref.model_type}, but model {version.model_id or ref.model_id}{name} "
                f"is of type {actual}",
                hint=f"to download it anyway, give the version id alone: {version.id}",
            )
