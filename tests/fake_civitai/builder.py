"""Building new catalog models and files in Civitai's shape, with real bytes behind every file."""

from __future__ import annotations

import hashlib
import json
import random
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, urlencode

from .catalog import CANONICAL_SITE, Catalog
from .hashing import make_safetensors, safetensors_body, safetensors_header
from .media import PREVIEW_SIZE, fake_blurhash

EARLY_ACCESS_ENDS = "2099-12-31T00:00:00.000Z"
EPOCH = datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc)
LORA_LIKE = {"LORA", "LoCon", "DoRA"}
WORD_TYPES = LORA_LIKE | {"TextualInversion", "Hypernetwork"}


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def slug(text: str) -> str:
    return re.sub(r"[^\w]+", "_", text).strip("_") or "model"


def file_format(name: str) -> str:
    lower = name.lower()
    if lower.endswith(".safetensors"):
        return "SafeTensor"
    if lower.endswith((".ckpt", ".pt", ".pth", ".bin")):
        return "PickleTensor"
    return "Other"


def new_file_dict(catalog: Catalog, version_id: int, *, name: str, type: str = "Model", primary: bool = False,
                  metadata: dict | None = None, file_id: int | None = None) -> dict:
    """A file object with Civitai's key order; sizeKB and hashes are filled in when bytes are attached."""
    meta = dict(metadata) if metadata is not None else {"format": file_format(name)}
    file = {
        "id": file_id or catalog.new_id("file"), "sizeKB": 0.0, "name": name, "type": type,
        "pickleScanResult": "Success", "pickleScanMessage": "No Pickle imports", "virusScanResult": "Success",
        "virusScanMessage": None, "scannedAt": iso(EPOCH), "metadata": meta, "hashes": {},
        "downloadUrl": download_url(version_id, None if primary else type, meta),
    }
    if primary:
        file["primary"] = True
    return file


def download_url(version_id: int, type: str | None, meta: dict) -> str:
    """Civitai's downloadUrl: bare for the primary file, with type/format/size/fp for the others."""
    url = f"{CANONICAL_SITE}/api/download/models/{version_id}"
    if type is None:
        return url
    params = [("type", type)] + [(k, meta[k]) for k in ("format", "size", "fp") if meta.get(k)]
    return url + "?" + urlencode(params, quote_via=quote)


def safetensors_bytes(size: int, *, seed: int, metadata: dict | None = None, kohya_name: str | None = None,
                      base_model: str = "SD 1.5") -> bytes:
    """About `size` bytes of safetensors; with kohya_name, a kohya-style header naming its own AutoV3."""
    n_floats = max(1, (size - 8 - len(safetensors_header(max(1, size // 4), metadata))) // 4)
    meta = dict(metadata or {})
    if kohya_name is not None:
        n_floats = max(1, n_floats - 64)
        body = safetensors_body(n_floats, seed=seed)
        meta.update({
            "ss_network_module": "networks.lora", "ss_output_name": kohya_name, "ss_network_dim": "16",
            "ss_network_alpha": "8", "ss_base_model_version": "sdxl_base_v1-0" if "XL" in base_model else "sd_v1",
            "ss_tag_frequency": json.dumps({"1_subject": {kohya_name: 12, "solo": 7}}),
            "sshs_model_hash": hashlib.sha256(body).hexdigest(),
        })
    return make_safetensors(n_floats, metadata=meta or None, seed=seed)


def _stats(rng: random.Random, hidden: bool, *, version: bool = False) -> dict:
    keys = (["downloadCount", "ratingCount", "rating", "thumbsUpCount", "thumbsDownCount"] if version else
            ["downloadCount", "favoriteCount", "thumbsUpCount", "thumbsDownCount", "commentCount", "ratingCount",
             "rating", "tippedAmountCount"])
    values = {"downloadCount": rng.randrange(10, 90000), "favoriteCount": 0, "thumbsUpCount": rng.randrange(0, 4000),
              "thumbsDownCount": rng.randrange(0, 20), "commentCount": rng.randrange(0, 200), "ratingCount": 0,
              "rating": 0, "tippedAmountCount": rng.randrange(0, 500)}
    return {key: None if hidden else values[key] for key in keys}


def _images(catalog: Catalog, *, model_id: int, level: int, video: bool, prompt: str, resource: dict | None
            ) -> tuple[list, dict]:
    images, metas = [], {}
    kinds = (["video"] if video else []) + ["image"]
    for kind in kinds:
        image_id = catalog.new_id("image")
        ext = "mp4" if kind == "video" else ("png" if image_id % 3 == 0 else "jpeg")
        width, height = PREVIEW_SIZE
        uid = f"{image_id:08x}-0000-4000-8000-{model_id:012x}"
        url = f"https://image.civitai.com/xG1nkqKTMzGDvpLrqFT7WA/{uid}/width={width}/{image_id}.{ext}"
        images.append({"url": url, "nsfwLevel": level, "width": width, "height": height,
                       "hash": fake_blurhash(url), "type": kind, "minor": False, "poi": False, "hasMeta": True,
                       "hasPositivePrompt": True, "onSite": False, "remixOfId": None})
        meta = {"prompt": prompt, "negativePrompt": "lowres, blurry", "seed": image_id, "steps": 20,
                "sampler": "Euler a", "cfgScale": 7, "Size": f"{width}x{height}"}
        if resource:
            meta["resources"] = [resource]
        metas[f"{image_id}.{ext}"] = meta
    return images, metas


def build_model(catalog: Catalog, *, name: str, type: str = "LORA", base_model: str = "SD 1.5", versions: int = 1,
                file_sizes=(4096,), nsfw_level: int = 1, trained_words=None, creator: str | None = "fakeuser",
                tags=(), extra_files=(), description: str | None = None,
                allow_commercial_use=("Image", "RentCivit", "Rent", "Sell"), hide_stats: bool = False,
                mode: str | None = None, video: bool = False, kohya: bool = False, early_access: bool = False,
                pruned_variant: bool = False, file_name: str | None = None,
                safetensors_metadata: dict | None = None) -> dict:
    """Create, register and return a model whose every file has real bytes and true hashes."""
    model_id = catalog.new_id("model")
    rng = random.Random(model_id)
    created = EPOCH + timedelta(days=(model_id - 5_000_000) * 3, minutes=rng.randrange(600))
    stem = slug(file_name.rsplit(".", 1)[0] if file_name and "." in file_name else file_name or name)
    ext = "." + file_name.rsplit(".", 1)[1] if file_name and "." in file_name else ".safetensors"
    words = list(trained_words) if trained_words is not None else (
        [stem.lower()] if type in WORD_TYPES else [])
    resource = {"name": stem, "type": "lora", "weight": 0.8} if type in LORA_LIKE else None
    model = {
        "id": model_id, "name": name,
        "description": description if description is not None else f"<p>{name}: a generated test model.</p>",
        "allowNoCredit": True,
        "allowCommercialUse": list(allow_commercial_use) if isinstance(allow_commercial_use, (list, tuple))
        else allow_commercial_use,
        "allowDerivatives": True, "allowDifferentLicense": True, "type": type, "minor": False, "sfwOnly": False,
        "poi": False, "nsfw": nsfw_level >= 8, "nsfwLevel": nsfw_level,
    }
    if mode:
        model["mode"] = mode
    model.update({"availability": "Public", "userId": _user_id(catalog, creator), "cosmetic": None,
                  "supportsGeneration": type in {"Checkpoint", "LORA"},
                  "stats": _stats(rng, hide_stats)})
    if creator:
        model["creator"] = {"username": creator,
                            "image": f"https://image.civitai.com/xG1nkqKTMzGDvpLrqFT7WA/avatars/width=96/{creator}.jpeg"}
    model["tags"] = list(tags) if tags else [type.lower()]
    model["modelVersions"] = []
    pending = []
    image_metas = {}
    for index in range(versions):
        version_id = catalog.new_id("version")
        published = created - timedelta(days=10 * index)
        version_name = f"v{versions - index}.0"
        prompt = ", ".join(words + [f"a test render of {name}"])
        images, metas = _images(catalog, model_id=model_id, level=nsfw_level, video=video, prompt=prompt,
                                resource=resource)
        image_metas.update(metas)
        version = {
            "id": version_id, "index": index, "name": version_name, "baseModel": base_model,
            "baseModelType": "Standard", "createdAt": iso(published - timedelta(hours=1)),
            "publishedAt": iso(published), "status": "Published",
            "availability": "EarlyAccess" if early_access and index == 0 else "Public",
            "nsfwLevel": nsfw_level, "description": f"<p>{version_name} of {name}.</p>", "trainedWords": words,
            "covered": True, "stats": _stats(rng, hide_stats, version=True), "files": [],
            "images": [] if mode == "TakenDown" else images,
            "downloadUrl": f"{CANONICAL_SITE}/api/download/models/{version_id}",
        }
        if early_access and index == 0:
            version["earlyAccessEndsAt"] = EARLY_ACCESS_ENDS
            version["paidAccess"] = {"permanent": False, "endsAt": EARLY_ACCESS_ENDS}
        model["modelVersions"].append(version)
        if mode != "Archived":
            suffix = f"_v{versions - index}" if versions > 1 else ""
            pending.append((version_id, f"{stem}{suffix}", index))
    with catalog.lock:
        catalog.image_meta.update(image_metas)
        catalog.register_model(model)
        for version_id, file_stem, index in pending:
            _attach_version_files(catalog, version_id, stem=file_stem, ext=ext, type=type, base_model=base_model,
                                  file_sizes=file_sizes, extra_files=extra_files, kohya=kohya,
                                  pruned_variant=pruned_variant, metadata=safetensors_metadata)
    return model


def _user_id(catalog: Catalog, creator: str | None) -> int | None:
    if not creator:
        return None
    if creator not in catalog.user_ids:
        catalog.user_ids[creator] = catalog.new_id("user")
    return catalog.user_ids[creator]


def _attach_version_files(catalog: Catalog, version_id: int, *, stem: str, ext: str, type: str, base_model: str,
                          file_sizes, extra_files, kohya: bool, pruned_variant: bool, metadata: dict | None) -> None:
    checkpoint = type == "Checkpoint"
    for position, size in enumerate(file_sizes):
        name = f"{stem}{ext}" if position == 0 else f"{stem}_{position}{ext}"
        meta = {"format": file_format(name)}
        if checkpoint:
            meta.update({"size": "full", "fp": "fp32"})
        file = new_file_dict(catalog, version_id, name=name, primary=position == 0, metadata=meta)
        data = safetensors_bytes(size, seed=file["id"], metadata=metadata,
                                 kohya_name=stem if kohya and type in LORA_LIKE else None, base_model=base_model)
        catalog.attach_file(version_id, file, data=data)
    if pruned_variant:
        name = f"{stem}_pruned{ext}"
        file = new_file_dict(catalog, version_id, name=name, type="Pruned Model",
                             metadata={"format": file_format(name), "size": "pruned", "fp": "fp16"})
        catalog.attach_file(version_id, file, data=safetensors_bytes(max(64, file_sizes[0] // 2), seed=file["id"]))
    for extra in extra_files:
        spec = dict(extra)
        name = spec.get("name", f"{stem}_vae.safetensors")
        file = new_file_dict(catalog, version_id, name=name, type=spec.get("type", "VAE"),
                             metadata=spec.get("metadata"))
        data = spec.get("data")
        if data is None:
            data = safetensors_bytes(spec.get("size", 2048), seed=file["id"])
        catalog.attach_file(version_id, file, data=data)
