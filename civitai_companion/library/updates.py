"""What counts as an update of an installed model, checked with batched ``GET /models?ids=`` (100 a request).

An update is what a user means by one: a later release of the same thing. A version of the same model
is an update of the installed one when it

- is for the same base-model family (an Illustrious LoRA is not updated by an SDXL release, a Wan 2.2 5B
  model not by the 14B ones; "Other" is a family of its own),
- has a model file (not only training data, a VAE or a config),
- is the same kind of file: an inpainting, pix2pix, refiner or diffusers-format variant only updates its
  own kind, a high-noise or low-noise half only its own half,
- is a later release: creators order versions by hand, so the order is the release date
  (``publishedAt``, else ``createdAt``), with Civitai's ``index`` only as a tie-break. When both names
  carry a version number ("v2.0", "V3+VAE") the numbers decide: a "v1" uploaded after "v2" is no
  update, and "v3.0 (noVAE)" is the same release as "v3.0 (VAE)", not a newer one.

Among several, the newest wins, preferring the installed one's VAE flavour (baked-in or "no VAE").
Releases for other base-model families published after the installed one are reported apart
(:attr:`Update.other_base`, the scan's ``otherBaseVersions``): "also for SDXL", never "newer".
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterable

from ..api import CivitaiClient, CivitaiError, Model, ModelVersion

log = logging.getLogger(__name__)

IDS_PER_REQUEST = 100

_NUMBER = re.compile(r"(?<![a-z0-9])v\s*\.?\s*(\d+(?:\.\d+)*)", re.IGNORECASE)
_BARE_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)*)\s*$")
_NO_VAE = re.compile(r"no[\s_\-]*vae|without[\s_\-]*vae|vae[\s_\-]*less", re.IGNORECASE)
_FLAVOUR_WORDS = re.compile(
    r"in[\s_\-]*paint(?:ing)?|pix2pix|refiner|no[\s_\-]*vae|without[\s_\-]*vae|baked|vae|pruned|full|"
    r"fp\s*(?:8|16|32)|bf\s*16|safe[\s_\-]*tens[eo]rs?|ckpt|diffusers|high[\s_\-]*noise|low[\s_\-]*noise|"
    r"[^a-z0-9.]+",
    re.IGNORECASE,
)


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def released(version: ModelVersion) -> datetime | None:
    """When a version came out: ``publishedAt``, else ``createdAt`` (2023 answers have only that)."""
    return _when(version.published_at) or _when(version.created_at)


def base_family(base_model: str | None) -> str | None:
    """Base models whose LoRAs and checkpoints are interchangeable share a family; others stand alone."""
    name = " ".join((base_model or "").lower().split())
    if not name:
        return None
    if re.match(r"sd ?1(\.|\s|$)", name):
        return "sd1"
    if re.match(r"sd ?2(\.|\s|$)", name):
        return "sd2"
    if name.startswith("sdxl"):
        return "sdxl"
    if name.startswith("pony") and not name.startswith("pony v7"):
        return "pony"
    if re.match(r"flux\.?1 ?(d|s|dev|schnell|krea)\b", name):
        return "flux.1"
    return name


def version_number(name: str | None) -> tuple[int, ...] | None:
    """The creator's version number ("v2.0" → (2, 0), "V3+VAE" → (3,), "8.0" → (8, 0)), if the name has one."""
    text = name or ""
    match = _NUMBER.search(text) or _BARE_NUMBER.match(text)
    if not match:
        return None
    parts = [int(p) for p in match.group(1).split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


@dataclass(frozen=True)
class Traits:
    """What tells two versions of one model apart besides their date."""

    family: str | None
    kind: str  # standard, inpainting, pix2pix, refiner, diffusers
    half: str  # "", high, low (Wan 2.2's two-part models)
    no_vae: bool
    label: str  # the name minus variant words: equal labels are one release
    number: tuple[int, ...] | None
    has_model_file: bool


def traits(version: ModelVersion) -> Traits:
    model_file = version.model_file()
    words = " ".join(filter(None, [version.name, model_file.name if model_file else None])).lower()
    base_type = (version.base_model_type or "").lower()
    if "inpaint" in base_type or re.search(r"in[\s_\-]*paint", words):
        kind = "inpainting"
    elif "pix2pix" in base_type or "pix2pix" in words:
        kind = "pix2pix"
    elif "refiner" in base_type or "refiner" in (version.name or "").lower():
        kind = "refiner"
    elif "diffusers" in words or (model_file is not None and (model_file.metadata.format or "").lower() == "diffusers"):
        kind = "diffusers"  # the same weights in another layout: no update of a single-file model
    else:
        kind = "standard"
    half = "high" if re.search(r"high[\s_\-]*noise", words) else "low" if re.search(r"low[\s_\-]*noise", words) else ""
    return Traits(
        family=base_family(version.base_model),
        kind=kind,
        half=half,
        no_vae=bool(_NO_VAE.search(version.name or "")),
        label=_FLAVOUR_WORDS.sub(" ", (version.name or "").lower()).strip(" ."),
        number=version_number(version.name),
        has_model_file=model_file is not None,
    )


def _later(candidate: ModelVersion, mine: ModelVersion) -> bool:
    theirs, ours = released(candidate), released(mine)
    if theirs is not None and ours is not None and theirs != ours:
        return theirs > ours
    if candidate.index is not None and mine.index is not None:
        return candidate.index < mine.index  # Civitai's own order, newest first
    return False


def _is_update(candidate: ModelVersion, cand: Traits, mine: ModelVersion, own: Traits) -> bool:
    if not cand.has_model_file or (cand.kind, cand.half) != (own.kind, own.half) or cand.family != own.family:
        return False
    if cand.number is not None and own.number is not None:
        return cand.number > own.number
    if cand.label == own.label:
        return False  # the same release in another flavour ("VAE baked" / "No VAE")
    return _later(candidate, mine)


def _newest(versions: list[tuple[ModelVersion, Traits]], own: Traits) -> list[tuple[ModelVersion, Traits]]:
    """Best first: the installed VAE flavour, then the latest release, then Civitai's index."""
    def key(item):
        version, t = item
        moment = released(version)
        return (t.no_vae == own.no_vae, moment.timestamp() if moment else float("-inf"),
                -(version.index if version.index is not None else 1 << 30))
    return sorted(versions, key=key, reverse=True)


@dataclass
class Update:
    """The check's answer for one installed version."""

    newer: ModelVersion | None = None
    other_base: list[ModelVersion] = field(default_factory=list)

    def other_base_json(self) -> list[dict]:
        return [{"modelVersionId": v.id, "versionName": v.name, "baseModel": v.base_model} for v in self.other_base]


def find_update(model: Model, installed: ModelVersion) -> Update:
    """The real update of ``installed`` among ``model``'s versions, and later releases for other bases."""
    listed = next((v for v in model.model_versions if v.id == installed.id), None)
    mine = listed if listed is not None else installed
    if released(mine) is None and released(installed) is not None:
        mine = installed  # a list answer without dates: the by-hash answer has them
    own = traits(mine)
    same, other = [], {}
    for version in model.model_versions:
        if version.id is None or version.id == installed.id:
            continue
        t = traits(version)
        if _is_update(version, t, mine, own):
            same.append((version, t))
        elif (t.family != own.family and t.has_model_file and (t.kind, t.half) == (own.kind, own.half)
              and released(version) and released(mine) and released(version) > released(mine)):
            other.setdefault(t.family, []).append((version, t))
    result = Update(newer=_newest(same, own)[0][0] if same else None)
    picks = [_newest(group, own)[0][0] for group in other.values()]
    result.other_base = sorted(picks, key=lambda v: released(v), reverse=True)
    return result


def newer_version(model: Model, installed: ModelVersion) -> ModelVersion | None:
    """The installed version's real update (see the module's rules), else None."""
    return find_update(model, installed).newer


def fetch_models(
    client: CivitaiClient,
    model_ids: Iterable[int],
    *,
    cancel: threading.Event | None = None,
    on_request: Callable[[], object] | None = None,
    progress: Callable[[int, int], object] | None = None,
) -> dict[int, Model]:
    """``{model id: model}`` in batches; a failed batch is logged and left out (no update is claimed):
    an update check must never turn a good scan into an error."""
    ids = list(dict.fromkeys(i for i in model_ids if i is not None))
    models: dict[int, Model] = {}
    for start in range(0, len(ids), IDS_PER_REQUEST):
        if cancel is not None and cancel.is_set():
            break
        chunk = ids[start : start + IDS_PER_REQUEST]
        try:
            if on_request is not None:
                on_request()
            for model in client.models_by_ids(chunk):
                if model.id is not None:
                    models[model.id] = model
        except CivitaiError as exc:
            log.warning("update check failed for %d model%s: %s", len(chunk), "" if len(chunk) == 1 else "s", exc)
        if progress is not None:
            progress(min(start + IDS_PER_REQUEST, len(ids)), len(ids))
    return models


def find_updates(
    client: CivitaiClient,
    installed: Iterable[ModelVersion],
    **options,
) -> tuple[dict[int, Update], dict[int, Model]]:
    """``({installed version id: Update}, {model id: model})`` for the versions given (options as
    :func:`fetch_models`)."""
    versions = [v for v in installed if v.id is not None and v.model_id is not None]
    models = fetch_models(client, (v.model_id for v in versions), **options)
    found = {}
    for version in versions:
        model = models.get(version.model_id)
        if model is not None:
            found[version.id] = find_update(model, version)
    return found, models


def check_updates(client: CivitaiClient, installed: Iterable[ModelVersion], **options
                  ) -> tuple[dict[int, ModelVersion], dict[int, Model]]:
    """``({installed version id: newer version}, {model id: model})``: only real updates."""
    found, models = find_updates(client, installed, **options)
    return {vid: u.newer for vid, u in found.items() if u.newer is not None}, models
