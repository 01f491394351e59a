"""Turning catalog models into the exact bodies each endpoint answers with."""

from __future__ import annotations

import copy

AIR_TYPES = {
    "Checkpoint": "checkpoint", "TextualInversion": "embedding", "Hypernetwork": "hypernet",
    "AestheticGradient": "ag", "LORA": "lora", "LoCon": "lycoris", "DoRA": "dora", "Controlnet": "controlnet",
    "Upscaler": "upscaler", "MotionModule": "motion", "VAE": "vae", "Poses": "poses", "Wildcards": "wildcards",
    "Workflows": "workflows", "Detection": "detection", "TextEncoder": "clip", "Other": "other",
}
NSFW_NAMES = {0: "None", 1: "None", 2: "Soft", 4: "Mature", 8: "X", 16: "X", 32: "X"}


def air_ecosystem(base_model: str | None) -> str:
    base = (base_model or "").lower()
    if base.startswith("sd 1"):
        return "sd1"
    if base.startswith("sd 2"):
        return "sd2"
    if base.startswith(("sdxl", "pony", "illustrious", "noobai")):
        return "sdxl"
    if base.startswith("flux.1"):
        return "flux1"
    return "".join(ch for ch in base if ch.isalnum()) or "other"


def air(model: dict, version: dict) -> str:
    kind = AIR_TYPES.get(model.get("type"), str(model.get("type", "other")).lower())
    return f"urn:air:{air_ecosystem(version.get('baseModel'))}:{kind}:civitai:{model['id']}@{version['id']}"


def model_level(model: dict) -> int:
    """NSFW bit flags of a model; 2023 bodies only carry the `nsfw` boolean."""
    level = model.get("nsfwLevel")
    if isinstance(level, int):
        return level
    return 28 if model.get("nsfw") else 1


def image_level(image: dict) -> int:
    level = image.get("nsfwLevel")
    if isinstance(level, int):
        return level
    names = {"None": 1, "Soft": 2, "Mature": 4, "X": 8}
    if isinstance(level, str):
        return names.get(level, 1)
    return 8 if image.get("nsfw") is True or image.get("nsfw") in ("Mature", "X") else 1


def list_item(model: dict, *, primary_only: bool = False) -> dict:
    """A /models list item: versions without files dropped, `primary` only on the primary file."""
    item = {key: value for key, value in model.items() if key != "modelVersions"}
    versions = []
    for version in model.get("modelVersions", []):
        files = [f for f in version.get("files", []) if not primary_only or f.get("primary")]
        if not files:
            continue
        out = dict(version)
        out["files"] = [_list_file(f) for f in files]
        versions.append(out)
    item["modelVersions"] = versions
    return copy.deepcopy(item)


def _list_file(file: dict) -> dict:
    if file.get("primary"):
        return file
    return {key: value for key, value in file.items() if key != "primary"}


def model_detail(model: dict) -> dict:
    return copy.deepcopy({**model, "modelVersions": [
        {**v, "files": [_list_file(f) for f in v.get("files", [])]} for v in model.get("modelVersions", [])
    ]})


def _version_file(file: dict) -> dict:
    out = {key: value for key, value in file.items() if key not in ("primary", "downloadUrl")}
    out["primary"] = bool(file.get("primary"))
    if "downloadUrl" in file:
        out["downloadUrl"] = file["downloadUrl"]
    return out


def version_body(model: dict, version: dict, image_meta: dict) -> dict:
    """The /model-versions/:id body built from a model's version (images with meta, `primary` on every file)."""
    images = []
    for image in version.get("images", [])[:10]:
        image = dict(image)
        meta = image_meta.get(image_key(image.get("url", "")))
        if meta is not None and "meta" not in image:
            image["meta"] = meta
        images.append(image)
    summary = {"name": model.get("name"), "type": model.get("type"), "nsfw": bool(model.get("nsfw")),
               "poi": bool(model.get("poi"))}
    if model.get("mode"):
        summary["mode"] = model["mode"]
    body = {
        "id": version["id"],
        "modelId": model["id"],
        "name": version.get("name"),
        "createdAt": version.get("createdAt"),
        "updatedAt": version.get("updatedAt", version.get("publishedAt")),
        "status": version.get("status", "Published"),
        "publishedAt": version.get("publishedAt"),
        "trainedWords": version.get("trainedWords", []),
        "trainingStatus": None,
        "trainingDetails": None,
        "baseModel": version.get("baseModel"),
        "baseModelType": version.get("baseModelType", "Standard"),
        "earlyAccessEndsAt": version.get("earlyAccessEndsAt"),
        "earlyAccessConfig": version.get("earlyAccessConfig"),
        "description": version.get("description"),
        "uploadType": "Created",
        "usageControl": "Download",
        "air": air(model, version),
        "stats": version.get("stats"),
        "model": summary,
        "files": [_version_file(f) for f in version.get("files", [])],
        "images": images,
        "downloadUrl": version.get("downloadUrl"),
    }
    if "paidAccess" in version:
        body["paidAccess"] = version["paidAccess"]
    return copy.deepcopy(body)


def image_key(url: str) -> str:
    """Images are keyed by the last path segment, which survives rewriting the host."""
    return url.rsplit("/", 1)[-1]


def image_id(url: str) -> int:
    stem = image_key(url).split(".", 1)[0]
    if stem.isdigit():
        return int(stem)
    return 100_000_000 + sum((i + 1) * ord(ch) for i, ch in enumerate(url)) % 900_000_000


def images_item(image: dict, *, model: dict, version: dict, meta, with_meta: bool) -> dict:
    """An /images item for a model version's gallery image."""
    level = image_level(image)
    stats = model.get("stats") or {}
    likes = stats.get("thumbsUpCount") or 0
    item = {
        "id": image_id(image.get("url", "")),
        "url": image.get("url"),
        "hash": image.get("hash"),
        "width": image.get("width"),
        "height": image.get("height"),
        "nsfwLevel": NSFW_NAMES.get(level, "X"),
        "nsfw": level > 1,
        "browsingLevel": level,
        "type": image.get("type", "image"),
        "createdAt": version.get("publishedAt") or version.get("createdAt"),
        "postId": 100_000_000 + version["id"],
        "stats": {"cryCount": 0, "laughCount": likes % 7, "likeCount": likes, "dislikeCount": 0,
                  "heartCount": likes // 2, "commentCount": (stats.get("commentCount") or 0)},
        "meta": (meta if meta is not None else image.get("meta")) if with_meta else None,
        "username": (model.get("creator") or {}).get("username"),
        "baseModel": version.get("baseModel"),
        "modelVersionIds": [version["id"]],
    }
    return item
