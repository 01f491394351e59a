"""Newer versions of installed models, found with batched ``GET /models?ids=`` (100 models a request).

"Newer" means: the model's newest version (lowest ``index``, which is Civitai's own newest-first order;
``publishedAt`` when indexes are missing) is not the installed one and comes before it. The newest
version is reported even when it targets another base model (an SDXL release of an SD 1.5 LoRA): the
caller shows its ``baseModel`` so the user can tell.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Callable, Iterable

from ..api import CivitaiClient, CivitaiError, Model, ModelVersion

log = logging.getLogger(__name__)

IDS_PER_REQUEST = 100


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def newer_version(model: Model, installed: ModelVersion) -> ModelVersion | None:
    """The model's newest version if it is newer than ``installed``, else None."""
    newest = model.latest_version
    if newest is None or newest.id == installed.id:
        return None
    listed = next((v for v in model.model_versions if v.id == installed.id), None)
    if listed is not None and listed.index is not None and newest.index is not None:
        return newest if newest.index < listed.index else None
    mine = _when((listed or installed).published_at) or _when(installed.published_at)
    theirs = _when(newest.published_at)
    if mine is not None and theirs is not None:
        return newest if theirs > mine else None
    return None


def check_updates(
    client: CivitaiClient,
    installed: Iterable[ModelVersion],
    *,
    cancel: threading.Event | None = None,
    on_request: Callable[[], object] | None = None,
    progress: Callable[[int, int], object] | None = None,
) -> tuple[dict[int, ModelVersion], dict[int, Model]]:
    """``({installed version id: newer version}, {model id: model})`` for the versions given.

    A failed request is logged and its models are left out (no update claimed): an update check must
    never turn a good scan into an error.
    """
    versions = [v for v in installed if v.id is not None and v.model_id is not None]
    model_ids = list(dict.fromkeys(v.model_id for v in versions))
    models: dict[int, Model] = {}
    for start in range(0, len(model_ids), IDS_PER_REQUEST):
        if cancel is not None and cancel.is_set():
            break
        chunk = model_ids[start : start + IDS_PER_REQUEST]
        try:
            if on_request is not None:
                on_request()
            for model in client.models_by_ids(chunk):
                if model.id is not None:
                    models[model.id] = model
        except CivitaiError as exc:
            log.warning("update check failed for %d model%s: %s", len(chunk), "" if len(chunk) == 1 else "s", exc)
        if progress is not None:
            progress(min(start + IDS_PER_REQUEST, len(model_ids)), len(model_ids))
    newer: dict[int, ModelVersion] = {}
    for version in versions:
        model = models.get(version.model_id)
        found = newer_version(model, version) if model is not None else None
        if found is not None:
            newer[version.id] = found
    return newer, models
