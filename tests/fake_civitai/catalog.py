"""The fake's catalog: models in Civitai's own shape, plus the indexes the endpoints need."""

from __future__ import annotations

import copy
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from . import fixtures, shapes
from .hashing import civitai_hashes, hash_file

CANONICAL_SITE = "https://civitai.com"
IMAGE_HOSTS = ("https://image.civitai.com/", "https://imagecache.civitai.com/")

FIXTURE_MODELS = [
    "Little-God1983_DiffusionNexus__GET_models_2833924.json",
    "si-ryao_civitai-downloader-cli__GET_models_1580878.json",
    "willmiao_ComfyUI-Lora-Manager__GET_models_1231067.json",
    "dfanr_CivitaiModelList__GET_models_list-item_13941_2023-07__python-reserialized.json",
    "dfanr_CivitaiModelList__GET_models_list-item_4201_2023-07__python-reserialized.json",
    "dfanr_CivitaiModelList__GET_models_list-item_8124_2023-07__python-reserialized.json",
    "doc_examples/civitai-wiki-REST-API-Reference__GET_models_1102.json",
]
FIXTURE_LIST = "doc_examples/civitai-wiki-REST-API-Reference__GET_models_limit3_TextualInversion.json"
FIXTURE_VERSION = "willmiao_ComfyUI-Lora-Manager__GET_model-versions_1255556__client-augmented-creator.json"
FIXTURE_CREATORS = "doc_examples/civitai-wiki-REST-API-Reference__GET_creators_limit3.json"
FIXTURE_TAGS = "doc_examples/civitai-wiki-REST-API-Reference__GET_tags_limit3.json"
FIXTURE_IMAGES = "doc_examples/civitai-wiki-REST-API-Reference__GET_images_limit1.json"


@dataclass
class FileEntry:
    """Where one catalog file's bytes live: in memory, on disk, or nowhere (recorded fixtures)."""

    file: dict
    version_id: int
    model_id: int
    data: bytes | None = None
    path: Path | None = None
    size: int = 0


@dataclass
class Catalog:
    models: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)
    version_overrides: dict = field(default_factory=dict)
    image_meta: dict = field(default_factory=dict)
    standalone_images: list = field(default_factory=list)
    extra_creators: list = field(default_factory=list)
    extra_tags: list = field(default_factory=list)
    user_ids: dict = field(default_factory=dict)
    site: str = CANONICAL_SITE
    lock: threading.RLock = field(default_factory=threading.RLock)
    _hash_index: dict = field(default_factory=dict)
    _next: dict = field(default_factory=lambda: {"model": 5_000_001, "version": 6_000_001, "file": 7_000_001,
                                                 "image": 8_000_001, "user": 9_000_001})

    def new_id(self, kind: str) -> int:
        with self.lock:
            value = self._next[kind]
            self._next[kind] = value + 1
            return value

    # ---- registering -------------------------------------------------------------------------------

    def register_model(self, model: dict) -> dict:
        """Index a model dict (API shape) and everything in it; URLs are moved to the current site."""
        with self.lock:
            self.localize(model, CANONICAL_SITE)
            self.models[model["id"]] = model
            for version in model.get("modelVersions", []):
                self.versions[version["id"]] = (model, version)
                for file in version.get("files", []):
                    if file["id"] not in self.files:
                        self.files[file["id"]] = FileEntry(file, version["id"], model["id"],
                                                           size=round(float(file.get("sizeKB") or 0) * 1024))
                    self._index_hashes(file)
        return model

    def _index_hashes(self, file: dict) -> None:
        for value in (file.get("hashes") or {}).values():
            if isinstance(value, str) and value:
                ids = self._hash_index.setdefault(value.upper(), [])
                if file["id"] not in ids:
                    ids.append(file["id"])

    def attach_file(self, version_id: int, file: dict, *, data: bytes | None = None, path: Path | None = None,
                    size: int | None = None, hashes: dict | None = None) -> dict:
        """Add a file dict to a version, with bytes (or a disk path) and true hashes unless given."""
        if path is not None:
            path = Path(path)
            if hashes is None:
                size, hashes = hash_file(path)
            else:
                size = path.stat().st_size
        elif data is not None:
            size = len(data)
            hashes = hashes if hashes is not None else civitai_hashes(data)
        file["sizeKB"] = (size or 0) / 1024
        file["hashes"] = dict(hashes or {})
        with self.lock:
            if version_id not in self.versions:
                raise KeyError(f"no model version {version_id} in the fake catalog")
            model, version = self.versions[version_id]
            self.localize(file, CANONICAL_SITE)
            if file.get("primary"):
                for other in version["files"]:
                    other.pop("primary", None)
            version["files"].append(file)
            self.files[file["id"]] = FileEntry(file, version_id, model["id"], data=data, path=path, size=size or 0)
            self._index_hashes(file)
        return file

    # ---- lookups -----------------------------------------------------------------------------------

    def files_by_hash(self, value: str) -> list[FileEntry]:
        with self.lock:
            return [self.files[i] for i in self._hash_index.get(value.strip().upper(), []) if i in self.files]

    def version_body(self, version_id: int, *, rated_only: bool = True) -> dict | None:
        """The /model-versions body, or None where Civitai answers 404: unknown, or (with `rated_only`,
        as /model-versions/:id does but by-hash does not) a version not yet rated, nsfwLevel 0."""
        with self.lock:
            if version_id in self.version_overrides:
                return copy.deepcopy(self.version_overrides[version_id])
            if version_id not in self.versions:
                return None
            model, version = self.versions[version_id]
            if rated_only and version.get("nsfwLevel", 1) == 0:
                return None
            return shapes.version_body(model, version, self.image_meta)

    def creators(self) -> list[dict]:
        """Known users: model creators plus the documented example creators."""
        counts: dict[str, dict] = {}
        with self.lock:
            for model in self.models.values():
                creator = model.get("creator")
                if not creator or not creator.get("username"):
                    continue
                entry = counts.setdefault(creator["username"].lower(),
                                          {"username": creator["username"], "modelCount": 0,
                                           "image": creator.get("image")})
                entry["modelCount"] += 1
            for extra in self.extra_creators:
                counts.setdefault(extra["username"].lower(), dict(extra))
        return list(counts.values())

    def tag_names(self) -> list[str]:
        seen: dict[str, str] = {}
        with self.lock:
            for model in self.models.values():
                for tag in model.get("tags", []):
                    name = tag.get("name") if isinstance(tag, dict) else tag
                    if isinstance(name, str):
                        seen.setdefault(name.lower(), name)
            for name in self.extra_tags:
                seen.setdefault(name.lower(), name)
        return list(seen.values())

    # ---- URLs --------------------------------------------------------------------------------------

    def localize(self, obj, from_site: str) -> None:
        """Rewrite URLs in `obj` from `from_site` to the current site, so no test ever reaches the internet.

        From Civitai's own hosts: image hosts (also inside description HTML) go to `/images/`, API and
        download URLs to the site; any other bare URL (an avatar elsewhere) becomes a local image too.
        """
        site = self.site
        if site == from_site:
            return
        if from_site != CANONICAL_SITE:
            _rewrite(obj, lambda text: text.replace(from_site + "/", site + "/"))
            return

        def transform(text: str) -> str:
            for host in IMAGE_HOSTS:
                text = text.replace(host, site + "/images/")
            if text.startswith(CANONICAL_SITE + "/"):
                return site + text[len(CANONICAL_SITE):]
            if _BARE_URL.match(text) and not text.startswith(site + "/"):
                return f"{site}/images/external/{text.split('://', 1)[1]}"
            return text

        _rewrite(obj, transform)

    def move_to(self, site: str) -> None:
        """Point every URL in the catalog at `site` (called when the server learns its port)."""
        with self.lock:
            old, self.site = self.site, site
            for obj in (self.models, self.version_overrides, self.standalone_images, self.extra_creators):
                self.localize(obj, old)


_BARE_URL = re.compile(r"^https?://[^\s\"'<>]+$")


def _rewrite(obj, transform) -> None:
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for key, value in list(items):
        if isinstance(value, str) and "://" in value:
            obj[key] = transform(value)
        elif isinstance(value, (dict, list)):
            _rewrite(value, transform)


def load_fixture_catalog(catalog: Catalog) -> None:
    """Register the recorded models, the standalone version 1255556 and the documented examples."""
    for name in FIXTURE_MODELS:
        model = fixtures.load_fixture(name)
        if model is not None:
            catalog.register_model(model)
    listing = fixtures.load_fixture(FIXTURE_LIST)
    for model in (listing or {}).get("items", []):
        catalog.register_model(model)
    version = fixtures.load_fixture(FIXTURE_VERSION)
    if version is not None:
        creator = version.pop("creator", None)
        catalog.localize(version, CANONICAL_SITE)
        catalog.version_overrides[version["id"]] = version
        if version["modelId"] not in catalog.models:
            catalog.register_model(_model_from_version(version, creator))
    creators = fixtures.load_fixture(FIXTURE_CREATORS)
    for creator in (creators or {}).get("items", []):
        catalog.extra_creators.append({k: v for k, v in creator.items() if k != "link"})
    tags = fixtures.load_fixture(FIXTURE_TAGS)
    catalog.extra_tags.extend(tag["name"] for tag in (tags or {}).get("items", []))
    images = fixtures.load_fixture(FIXTURE_IMAGES)
    for image in (images or {}).get("items", []):
        catalog.localize(image, CANONICAL_SITE)
        catalog.standalone_images.append(image)


def _model_from_version(version: dict, creator: dict | None) -> dict:
    """A /models/:id body for a model we only know through one recorded version."""
    image_levels = [i.get("nsfwLevel", 1) for i in version.get("images", []) if isinstance(i.get("nsfwLevel"), int)]
    level = 0
    for value in image_levels or [1]:
        level |= value
    list_version = {
        "id": version["id"], "index": 0, "name": version["name"], "baseModel": version["baseModel"],
        "baseModelType": version.get("baseModelType", "Standard"), "createdAt": version.get("createdAt"),
        "publishedAt": version.get("publishedAt"), "status": version.get("status", "Published"),
        "availability": "Public", "nsfwLevel": level, "trainedWords": version.get("trainedWords", []),
        "covered": True, "stats": version.get("stats"),
        "files": [{k: v for k, v in f.items() if k != "primary" or v} for f in version.get("files", [])],
        "images": [{k: v for k, v in i.items() if k not in ("meta", "metadata", "availability")}
                   for i in version.get("images", [])],
        "downloadUrl": version.get("downloadUrl"),
    }
    model = {
        "id": version["modelId"], "name": version["model"]["name"], "description": None,
        "allowNoCredit": True, "allowCommercialUse": ["Image", "RentCivit", "Rent", "Sell"],
        "allowDerivatives": True, "allowDifferentLicense": True, "type": version["model"]["type"],
        "minor": False, "sfwOnly": False, "poi": bool(version["model"].get("poi")),
        "nsfw": bool(version["model"].get("nsfw")), "nsfwLevel": level, "availability": "Public",
        "cosmetic": None, "supportsGeneration": True, "stats": copy.deepcopy(version.get("stats")),
    }
    if creator:
        model["creator"] = creator
    model["tags"] = ["style"]
    model["modelVersions"] = [copy.deepcopy(list_version)]
    return model
