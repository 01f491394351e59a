"""Typed, tolerant views of Civitai's JSON.

Civitai adds fields, model types and base models every month and has changed shapes over the years
(``allowCommercialUse`` as a string, a Postgres array string or a JSON array; NSFW levels as words or bit
flags; null stats). Parsing therefore never raises on a field: a value of the wrong type becomes ``None``,
unknown enum values are kept as plain strings, and every object keeps its ``raw`` dict for sidecars.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .values import (  # noqa: F401 - nsfw_level, commercial_use and NSFW_WORDS are public here
    NSFW_WORDS,
    _bool,
    _dict,
    _float,
    _int,
    _objects,
    _str,
    _strs,
    commercial_use,
    nsfw_level,
)

T = TypeVar("T")

# Files that are never "the model": fetched only when asked for by id.
NOT_MODEL_FILE_TYPES = frozenset({"training data", "config"})
# Model types whose model is a weights file, so that an Archive next to it is not the model.
WEIGHT_MODEL_TYPES = frozenset({
    "checkpoint", "textualinversion", "hypernetwork", "aestheticgradient", "lora", "locon", "dora", "lycoris",
    "controlnet", "upscaler", "motionmodule", "vae", "textencoder", "unet", "clipvision", "clip", "detection",
    "visionlanguage", "llm",
})
# Files that are part of another model: the model only when the model is of that type.
COMPONENT_FILE_TYPES = {"vae": "vae", "text encoder": "textencoder"}
_FILE_TYPE_RANK = {"model": 0, "pruned model": 1, "diffusion model": 2, "unet": 2}
_FORMAT_RANK = {"safetensor": 0, "gguf": 1, "pickletensor": 2, "diffusers": 5}

@dataclass
class Stats:
    """Counters; any may be None (creators can hide metrics)."""

    download_count: int | None = None
    thumbs_up_count: int | None = None
    thumbs_down_count: int | None = None
    favorite_count: int | None = None
    comment_count: int | None = None
    rating: float | None = None
    rating_count: int | None = None
    raw: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, data: Any) -> "Stats":
        d = _dict(data)
        return cls(
            download_count=_int(d.get("downloadCount")),
            thumbs_up_count=_int(d.get("thumbsUpCount")),
            thumbs_down_count=_int(d.get("thumbsDownCount")),
            favorite_count=_int(d.get("favoriteCount")),
            comment_count=_int(d.get("commentCount")),
            rating=_float(d.get("rating")),
            rating_count=_int(d.get("ratingCount")),
            raw=d,
        )


@dataclass
class Creator:
    username: str | None = None
    image: str | None = None
    model_count: int | None = None
    link: str | None = None
    raw: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, data: Any) -> "Creator":
        d = _dict(data)
        return cls(_str(d.get("username")), _str(d.get("image")), _int(d.get("modelCount")), _str(d.get("link")), d)


@dataclass
class Tag:
    name: str | None = None
    model_count: int | None = None
    link: str | None = None
    raw: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, data: Any) -> "Tag":
        d = _dict(data)
        return cls(_str(d.get("name")), _int(d.get("modelCount")), _str(d.get("link")), d)


@dataclass
class FileMetadata:
    format: str | None = None
    size: str | None = None
    fp: str | None = None
    quant_type: str | None = None

    @classmethod
    def from_api(cls, data: Any) -> "FileMetadata":
        d = _dict(data)
        return cls(_str(d.get("format")), _str(d.get("size")), _str(d.get("fp")), _str(d.get("quantType")))


@dataclass
class ModelFile:
    id: int | None = None
    name: str | None = None
    size_kb: float | None = None
    type: str | None = None
    metadata: FileMetadata = field(default_factory=FileMetadata)
    hashes: dict[str, str] = field(default_factory=dict)
    download_url: str | None = None
    primary: bool | None = None  # omitted on non-primary files in list responses
    pickle_scan_result: str | None = None
    virus_scan_result: str | None = None
    raw: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, data: Any) -> "ModelFile":
        d = _dict(data)
        hashes = {k: v.upper() for k, v in _dict(d.get("hashes")).items() if isinstance(k, str) and isinstance(v, str)}
        return cls(
            id=_int(d.get("id")),
            name=_str(d.get("name")),
            size_kb=_float(d.get("sizeKB")),
            type=_str(d.get("type")),
            metadata=FileMetadata.from_api(d.get("metadata")),
            hashes=hashes,
            download_url=_str(d.get("downloadUrl")),
            primary=_bool(d.get("primary")),
            pickle_scan_result=_str(d.get("pickleScanResult")),
            virus_scan_result=_str(d.get("virusScanResult")),
            raw=d,
        )

    @property
    def sha256(self) -> str | None:
        return self.hashes.get("SHA256")

    def is_model(self, model_type: str | None = None) -> bool:
        """Whether this file is the model itself rather than its training data, an archive, a config or a
        part that goes elsewhere (a VAE or text encoder, unless the model *is* one). Civitai flags
        training-data zips and diffusers archives as ``primary`` on some real versions."""
        kind = " ".join((self.type or "model").lower().split())
        if kind == "archive":  # a pose pack or wildcards are an archive; a checkpoint's archive is diffusers
            return "".join((model_type or "").lower().split()) not in WEIGHT_MODEL_TYPES
        if kind in NOT_MODEL_FILE_TYPES:
            return False
        if kind in COMPONENT_FILE_TYPES:
            return COMPONENT_FILE_TYPES[kind] == "".join((model_type or "").lower().split())
        return True

    @property
    def download_query(self) -> list[tuple[str, str]]:
        """The query of this file's own ``downloadUrl`` (2026 answers pin each file with ``fileId``)."""
        from urllib.parse import parse_qsl, urlsplit

        if not self.download_url:
            return []
        return [(k, v) for k, v in parse_qsl(urlsplit(self.download_url).query) if v]

    @property
    def size_bytes(self) -> int | None:
        """Approximate size: Civitai only gives KB as a float (exact enough to check a download's length
        within a KB; the SHA-256 is what proves it)."""
        return None if self.size_kb is None else int(round(self.size_kb * 1024))


@dataclass
class Image:
    id: int | None = None
    url: str | None = None
    type: str | None = None
    nsfw_level: int | None = None
    nsfw: bool | None = None
    width: int | None = None
    height: int | None = None
    hash: str | None = None
    meta: dict | None = None
    created_at: str | None = None
    post_id: int | None = None
    username: str | None = None
    base_model: str | None = None
    stats: Stats = field(default_factory=Stats)
    raw: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, data: Any) -> "Image":
        d = _dict(data)
        return cls(
            id=_int(d.get("id")),
            url=_str(d.get("url")),
            type=_str(d.get("type")),
            # 2023 images had only "nsfw": "None"/"Soft"/"Mature"/"X"; today "nsfwLevel" is a bit flag.
            nsfw_level=nsfw_level(d.get("nsfwLevel")) or (nsfw_level(d["nsfw"]) if isinstance(d.get("nsfw"), str) else None),
            nsfw=_bool(d.get("nsfw")) if not isinstance(d.get("nsfw"), str) else d.get("nsfw") not in ("None", ""),
            width=_int(d.get("width")),
            height=_int(d.get("height")),
            hash=_str(d.get("hash")),
            meta=d.get("meta") if isinstance(d.get("meta"), dict) else None,
            created_at=_str(d.get("createdAt")),
            post_id=_int(d.get("postId")),
            username=_str(d.get("username")),
            base_model=_str(d.get("baseModel")),
            stats=Stats.from_api(d.get("stats")),
            raw=d,
        )

    @property
    def is_video(self) -> bool:
        if (self.type or "").lower() == "video":
            return True
        path = (self.url or "").split("?", 1)[0].lower()
        return path.endswith((".mp4", ".webm", ".mov", ".m4v"))


@dataclass
class VersionModel:
    """The short ``model`` object inside a /model-versions answer."""

    name: str | None = None
    type: str | None = None
    nsfw: bool | None = None
    poi: bool | None = None
    mode: str | None = None

    @classmethod
    def from_api(cls, data: Any) -> "VersionModel":
        d = _dict(data)
        return cls(_str(d.get("name")), _str(d.get("type")), _bool(d.get("nsfw")), _bool(d.get("poi")), _str(d.get("mode")))


@dataclass
class ModelVersion:
    id: int | None = None
    model_id: int | None = None
    index: int | None = None
    name: str | None = None
    base_model: str | None = None
    base_model_type: str | None = None
    created_at: str | None = None
    published_at: str | None = None
    availability: str | None = None
    nsfw_level: int | None = None
    description: str | None = None
    trained_words: list[str] = field(default_factory=list)
    air: str | None = None
    stats: Stats = field(default_factory=Stats)
    model: VersionModel = field(default_factory=VersionModel)
    files: list[ModelFile] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    download_url: str | None = None
    early_access_ends_at: str | None = None
    raw: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, data: Any) -> "ModelVersion":
        d = _dict(data)
        paid = _dict(d.get("paidAccess"))
        ends = _str(d.get("earlyAccessEndsAt")) or _str(paid.get("endsAt"))
        return cls(
            id=_int(d.get("id")),
            model_id=_int(d.get("modelId")),
            index=_int(d.get("index")),
            name=_str(d.get("name")),
            base_model=_str(d.get("baseModel")),
            base_model_type=_str(d.get("baseModelType")),
            created_at=_str(d.get("createdAt")),
            published_at=_str(d.get("publishedAt")),
            availability=_str(d.get("availability")),
            nsfw_level=nsfw_level(d.get("nsfwLevel")),
            description=_str(d.get("description")),
            trained_words=[w.strip() for w in _strs(d.get("trainedWords")) if w.strip()],
            air=_str(d.get("air")),
            stats=Stats.from_api(d.get("stats")),
            model=VersionModel.from_api(d.get("model")),
            files=_objects(d.get("files"), ModelFile),
            images=_objects(d.get("images"), Image),
            download_url=_str(d.get("downloadUrl")),
            early_access_ends_at=ends,
            raw=d,
        )

    @property
    def is_early_access(self) -> bool:
        return bool(self.early_access_ends_at) or bool(_dict(self.raw.get("paidAccess")))

    def model_files(self) -> list[ModelFile]:
        """The files that are the model (see :meth:`ModelFile.is_model`), in Civitai's order."""
        return [f for f in self.files if f.is_model(self.model.type)]

    def model_file(self, *, format: str | None = None, size: str | None = None,  # noqa: A002
                   fp: str | None = None) -> ModelFile | None:
        """The file that is the model: the primary one when it is a model file, else the best model file
        (the preferred format/size/fp first, then a plain model over a pruned one, SafeTensor first).
        None when the version has no model file at all (only training data, say)."""
        files = self.model_files()
        primary = next((f for f in files if f.primary), None)
        wanted = {"format": format, "size": size, "fp": fp}

        def misses(f: ModelFile) -> int:
            have = {"format": f.metadata.format, "size": f.metadata.size, "fp": f.metadata.fp}
            return sum(1 for k, v in wanted.items() if v and (have[k] or "").lower() != v.lower())

        if primary is not None and not misses(primary):
            return primary
        ranked = sorted(
            enumerate(files),
            key=lambda item: (
                misses(item[1]),
                not item[1].primary,
                _FILE_TYPE_RANK.get((item[1].type or "model").lower(), 3),
                _FORMAT_RANK.get((item[1].metadata.format or "").lower(), 3),
                item[0],
            ),
        )
        return ranked[0][1] if ranked else None

    def primary_file(self) -> ModelFile | None:
        """The file to show for the version: its model file, else Civitai's primary, else the first file."""
        found = self.model_file()
        if found is not None:
            return found
        return next((f for f in self.files if f.primary), self.files[0] if self.files else None)

    def file_by_sha256(self, sha256: str) -> ModelFile | None:
        wanted = (sha256 or "").upper()
        return next((f for f in self.files if f.sha256 == wanted), None)


@dataclass
class Model:
    id: int | None = None
    name: str | None = None
    description: str | None = None
    type: str | None = None
    nsfw: bool | None = None
    nsfw_level: int | None = None
    poi: bool | None = None
    minor: bool | None = None
    sfw_only: bool | None = None
    mode: str | None = None
    availability: str | None = None
    user_id: int | None = None
    base_models: list[str] = field(default_factory=list)
    allow_no_credit: bool | None = None
    allow_commercial_use: list[str] = field(default_factory=list)
    allow_derivatives: bool | None = None
    allow_different_license: bool | None = None
    stats: Stats = field(default_factory=Stats)
    creator: Creator | None = None
    tags: list[str] = field(default_factory=list)
    model_versions: list[ModelVersion] = field(default_factory=list)
    raw: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, data: Any) -> "Model":
        d = _dict(data)
        versions = _objects(d.get("modelVersions"), ModelVersion)
        model_id = _int(d.get("id"))
        for v in versions:  # list items do not repeat the model inside each version
            if v.model_id is None:
                v.model_id = model_id
            v.model.name = v.model.name or _str(d.get("name"))
            v.model.type = v.model.type or _str(d.get("type"))
        return cls(
            id=model_id,
            name=_str(d.get("name")),
            description=_str(d.get("description")),
            type=_str(d.get("type")),
            nsfw=_bool(d.get("nsfw")),
            nsfw_level=nsfw_level(d.get("nsfwLevel")),
            poi=_bool(d.get("poi")),
            minor=_bool(d.get("minor")),
            sfw_only=_bool(d.get("sfwOnly")),
            mode=_str(d.get("mode")),
            availability=_str(d.get("availability")),
            user_id=_int(d.get("userId")),
            base_models=_strs(d.get("baseModels")) or sorted({v.base_model for v in versions if v.base_model}),
            allow_no_credit=_bool(d.get("allowNoCredit")),
            allow_commercial_use=commercial_use(d.get("allowCommercialUse")),
            allow_derivatives=_bool(d.get("allowDerivatives")),
            allow_different_license=_bool(d.get("allowDifferentLicense")),
            stats=Stats.from_api(d.get("stats")),
            creator=Creator.from_api(d["creator"]) if isinstance(d.get("creator"), dict) else None,
            tags=_strs(d.get("tags")),
            model_versions=versions,
            raw=d,
        )

    @property
    def latest_version(self) -> ModelVersion | None:
        """Civitai lists versions newest first (index 0)."""
        if not self.model_versions:
            return None
        indexed = [v for v in self.model_versions if v.index is not None]
        return min(indexed, key=lambda v: v.index) if indexed else self.model_versions[0]


@dataclass
class HashMatch:
    """One answer of POST /model-versions/by-hash/ids."""

    model_version_id: int | None = None
    model_id: int | None = None
    hash: str | None = None
    raw: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, data: Any) -> "HashMatch":
        d = _dict(data)
        h = _str(d.get("hash"))
        return cls(_int(d.get("modelVersionId")), _int(d.get("modelId")), h.upper() if h else None, d)


@dataclass
class Page(Generic[T]):
    """One page of a list endpoint; ``next_cursor``/``next_page`` tell how to get the next."""

    items: list[T]
    next_cursor: str | None = None
    next_page: str | None = None
    current_page: int | None = None
    page_size: int | None = None
    total_items: int | None = None
    metadata: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, data: Any, item_cls: Any) -> "Page":
        d = _dict(data)
        meta = _dict(d.get("metadata"))
        cursor = meta.get("nextCursor")
        return cls(
            items=_objects(d.get("items"), item_cls),
            next_cursor=_str(cursor) or None,  # a string today, a number in 2023; anything else is no cursor
            next_page=_str(meta.get("nextPage")) or None,
            current_page=_int(meta.get("currentPage")),
            page_size=_int(meta.get("pageSize")),
            total_items=_int(meta.get("totalItems")),
            metadata=meta,
        )
