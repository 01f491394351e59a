"""What the app's page can ask, host-free: search cards, model pages, galleries, media, library, settings.

Every operation is a thin layer over the core (``api``, ``download``, ``library``, ``hosts``): it shapes
answers for the page (sized thumbnails, sanitised HTML, install state from the library index) and never
re-implements a search, a resolve or a download. Handlers that reach Civitai take as long as Civitai
takes (bounded by the client's timeouts, answered from its cache when repeated); downloads and scans run
in the job threads of :mod:`.jobs`, so their routes return at once.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable

from .. import config, safe_json
from ..api import CivitaiClient, Model, ModelVersion
from ..api.params import positive_id
from . import settings as settings_mod
from .jobs import Jobs
from .library_view import LibraryView
from . import shapes
from .media import CARD_WIDTH, MediaCache, sanitize_html
from .routes import ApiError
from .settings import SettingsStore

log = logging.getLogger(__name__)

ENUMS_TTL = 86400.0  # base models change monthly: a day is fresh enough, and spares a request per page load
DEFAULT_PAGE = 40
EMPTY_PAGE_HOPS = 3  # an empty page with a cursor is followed at once, a few times, to save the page round trips


def layout_factory_for(host: str, root: str | None = None) -> Callable[..., Any]:
    """A ``layout_factory`` for ``AppService``: the host's layout under ``root`` with the user's options."""
    from ..hosts import get_layout

    def factory(*, subfolder_template: str | None = None, subfolders: dict | None = None):
        return get_layout(host, root, subfolder_template=subfolder_template, subfolders=subfolders)

    return factory


class _SettingsClient(CivitaiClient):
    """A Civitai client whose base URL and token are the app's settings when set (read on every request)."""

    def __init__(self, service: "AppService", *, interactive: bool = True) -> None:
        self._service = service
        if interactive:  # a page waits on these answers: one retry, and no Retry-After over a few seconds
            super().__init__(max_tries=2, retry_after_cap=5.0)
        else:  # downloads and scans run in job threads: they may wait as long as the core allows
            super().__init__()

    @property
    def _base_url(self) -> str | None:  # type: ignore[override]
        return self._service.setting("base_url") or None

    @_base_url.setter
    def _base_url(self, _value: Any) -> None:
        pass

    @property
    def _token(self) -> str | None:  # type: ignore[override]
        return self._service.setting("token") or None

    @_token.setter
    def _token(self, _value: Any) -> None:
        pass


class AppService:
    """The app's operations. ``layout_factory(subfolder_template=, subfolders=)`` gives the host's layout
    with the user's options; ``on_file_added(path, kind)`` tells the host a model file appeared (so it can
    refresh its lists); ``before_scan(entries)`` and ``after_scan(entries)`` run in the scan's thread around
    each library scan (a host seeds our hash cache from its own, and takes ours back)."""

    def __init__(self, *, layout_factory: Callable[..., Any], settings: SettingsStore, host: str = "standalone",
                 on_file_added: Callable[[Path, str], None] | None = None, library: LibraryView | None = None,
                 state_dir: str | None = None, start_jobs: bool = True,
                 before_scan: Callable[[list], None] | None = None,
                 after_scan: Callable[[list], None] | None = None) -> None:
        self.host = host
        self.on_file_added = on_file_added
        self.before_scan, self.after_scan = before_scan, after_scan
        self._store = settings
        self._settings = settings_mod.clean(settings.load())
        self._settings_lock = threading.RLock()  # a store may read a setting while it saves
        self._layout_factory = layout_factory
        self._layout: Any = None
        self._layout_lock = threading.Lock()
        self.client = _SettingsClient(self)
        self.job_client = _SettingsClient(self, interactive=False)
        self.library_view = library or LibraryView()
        self.state_dir = Path(state_dir) if state_dir else config.home_dir()
        self.media_cache = MediaCache(self.state_dir / "media-cache")
        self._enums: tuple[float, str, dict] | None = None
        self.jobs = Jobs(self, start=start_jobs)

    def close(self) -> None:
        """Stop the job threads; running downloads stay queued with their partial files, to resume."""
        self.jobs.close()
        self.library_view.close()

    # -- settings ----------------------------------------------------------------------------------------------
    def setting(self, key: str) -> Any:
        with self._settings_lock:
            return self._settings.get(key)

    def secrets(self) -> list[str]:
        """Texts no answer may contain: every token the app may be using."""
        return [t for t in (self.setting("token"), config.api_token(None)) if t]

    def layout(self) -> Any:
        """The host's layout with the user's folder options (rebuilt when those settings change)."""
        with self._layout_lock:
            if self._layout is None:
                options = {"subfolder_template": self.setting("subfolder_template") or None,
                           "subfolders": self.setting("folders") or None}
                self._layout = self._layout_factory(**options)
            return self._layout

    def get_settings(self) -> dict:
        with self._settings_lock:
            out = {k: v for k, v in self._settings.items() if k != "token"}
            token = self._settings.get("token")
        out["token"] = settings_mod.token_status(token)
        out["effective_base_url"] = self.client.base_url
        out["host"] = self.host
        try:
            layout = self.layout()
            out["models_dir"] = str(layout.models_dir())
            # Where each kind goes (the first folder of a kind is its download folder), for the Settings view.
            out["kind_folders"] = {kind: str(paths[0]) for kind, paths in layout.scan_folders().items() if paths}
        except (OSError, ValueError) as exc:
            out["models_dir"], out["kind_folders"] = None, {}
            out["layout_error"] = str(exc)
        return out

    def put_settings(self, changes: dict) -> dict:
        """Change some settings (only the keys given); ``{"token": ""}`` forgets the saved token."""
        cleaned = {key: settings_mod.validate(key, value) for key, value in changes.items()}
        with self._settings_lock:
            updated = {**self._settings, **cleaned}
            stored = {k: v for k, v in updated.items() if k in settings_mod.KEYS and (k != "token" or v)}
            self._store.save(stored)
            self._settings = updated
        if {"subfolder_template", "folders"} & set(cleaned):
            with self._layout_lock:
                self._layout = None
        if "download_workers" in cleaned:
            self.jobs.set_workers(cleaned["download_workers"])
        if {"base_url", "token"} & set(cleaned):
            self.client.cache.clear()
            self.job_client.cache.clear()
            self._enums = None
        return self.get_settings()

    # -- browsing Civitai -------------------------------------------------------------------------------------
    def search(self, *, query=None, types=(), base_models=(), sort=None, period=None, tag=None, username=None,
               nsfw=None, cursor=None, limit=None) -> dict:
        """One page of model cards, and the cursor of the next (pages may be short or empty)."""
        mask = self._mask(nsfw, "nsfw_level")
        size = shapes.count(limit, DEFAULT_PAGE, 100, "limit")
        filters: dict[str, Any] = {"query": query, "types": list(types), "base_models": list(base_models),
                                   "sort": sort, "period": period, "tag": tag, "username": username, "limit": size}
        if mask > 1:
            filters.update(nsfw=True, browsing_level=mask)
        page = self.client.models_page(cursor=cursor, **filters)
        models = [m for m in page.items if m.id is not None and (m.nsfw_level or 1) & mask]
        hops = 0
        while not models and page.next_cursor and hops < EMPTY_PAGE_HOPS:  # Civitai's pages can be empty
            hops += 1
            page = self.client.models_page(cursor=page.next_cursor, **filters)
            models = [m for m in page.items if m.id is not None and (m.nsfw_level or 1) & mask]
        return {"items": [self._card(m) for m in models], "nextCursor": page.next_cursor}

    def model(self, model_id: str) -> dict:
        """A model page: versions with files (and where each would go), local copies, sanitised text."""
        model = self.client.model(positive_id(model_id, "model"))
        preview = self.setting("preview_nsfw_level") or 1
        stats = shapes.stats(model.stats)
        versions = [self._version(model, v, preview) for v in model.model_versions]
        return {
            "id": model.id, "name": model.name, "type": model.type, "nsfw": bool(model.nsfw),
            "nsfwLevel": model.nsfw_level, "mode": model.mode, "tags": model.tags, "stats": stats,
            "creator": shapes.creator(model), "description": sanitize_html(model.description),
            "permissions": {"allowNoCredit": model.allow_no_credit, "allowCommercialUse": model.allow_commercial_use,
                            "allowDerivatives": model.allow_derivatives,
                            "allowDifferentLicense": model.allow_different_license},
            "url": f"{self.client.base_url}/models/{model.id}",
            "versions": versions,
        }

    def images(self, *, model_version_id=None, model_id=None, cursor=None, nsfw=None, limit=None) -> dict:
        """A gallery page with each image's generation parameters."""
        if model_version_id is None and model_id is None:
            raise ApiError(400, "bad_request", "images needs modelVersionId= or modelId=")
        mask = self._mask(nsfw, "nsfw_level")
        filters: dict[str, Any] = {"limit": shapes.count(limit, DEFAULT_PAGE, 200, "limit"),
                                   "nsfw": shapes.image_nsfw(mask)}
        if model_version_id is not None:
            filters["model_version_id"] = positive_id(model_version_id, "version")
        if model_id is not None:
            filters["model_id"] = positive_id(model_id, "model")
        page = self.client.images_page(cursor=cursor, **filters)
        preview = self.setting("preview_nsfw_level") or 1
        items = [shapes.image(i, preview) for i in page.items if i.url and (i.nsfw_level or 1) & mask]
        return {"items": items, "nextCursor": page.next_cursor}

    def media(self, url: str | None, *, width: str | None = None) -> Any:
        size = None if width in (None, "") else shapes.count(width, CARD_WIDTH, 4096, "width")
        return self.media_cache.get(url or "", base_url=self.client.base_url, width=size)

    def enums(self) -> dict:
        """Model types and base models for the filters, fetched at most once a day (kept on disk)."""
        site = self.client.base_url
        now = time.time()
        if self._enums and self._enums[1] == site and now - self._enums[0] < ENUMS_TTL:
            return self._enums[2]
        path = self.state_dir / "enums.json"
        try:
            saved = safe_json.read_file(path)
        except (OSError, ValueError):
            saved = None
        fresh = (isinstance(saved, dict) and saved.get("site") == site and isinstance(saved.get("data"), dict)
                 and isinstance(saved.get("fetched"), (int, float)) and now - saved["fetched"] < ENUMS_TTL)
        if fresh:
            data, fetched = saved["data"], saved["fetched"]
        else:
            try:
                data, fetched = self.client.enums(), now
            except OSError:
                if isinstance(saved, dict) and saved.get("site") == site and isinstance(saved.get("data"), dict):
                    data, fetched = saved["data"], saved.get("fetched", now)  # stale beats nothing
                else:
                    raise
            else:
                try:
                    from ..library.sidecars import atomic_write_json

                    path.parent.mkdir(parents=True, exist_ok=True)
                    atomic_write_json(path, {"site": site, "fetched": fetched, "data": data})
                except OSError as exc:
                    log.warning("could not keep the enums: %s", exc)
        self._enums = (fetched, site, data)
        return data

    def me(self) -> dict:
        """Whose key the token is (the Settings view's "verify"); only public account fields."""
        data = self.client.me()
        return {k: data.get(k) for k in ("id", "username", "tier", "status") if k in data}

    # -- the local library ------------------------------------------------------------------------------------
    def library(self, *, types=(), base_models=(), status=None, query=None, offset=None, limit=None) -> dict:
        """Rows of the library index (no Civitai request); paged so 10,000 files stay light."""
        if status not in (None, "", "resolved", "unknown", "error", "update"):
            raise ApiError(400, "bad_request", "status is one of resolved, unknown, error, update")
        rows = self.library_view.rows(types=types, base_models=base_models, status=status or None, query=query)
        start = shapes.count(offset, 0, 10**9, "offset", minimum=0)
        size = shapes.count(limit, 500, 5000, "limit")
        return {"items": [shapes.library_row(r) for r in rows[start:start + size]], "total": len(rows),
                "offset": start, "limit": size}

    def preview(self, sha256: str) -> Any:
        from .previews import preview_response

        return preview_response(self, sha256)

    # -- jobs (see jobs.py) ----------------------------------------------------------------------------------
    def downloads(self) -> list[dict]:
        return self.jobs.downloads()

    def start_download(self, body: dict) -> dict:
        return self.jobs.start_download(body)

    def cancel_download(self, job_id: str) -> dict:
        return self.jobs.cancel_download(job_id)

    def retry_download(self, job_id: str) -> dict:
        return self.jobs.retry_download(job_id)

    def clear_downloads(self) -> dict:
        return self.jobs.clear_downloads()

    def start_scan(self, body: dict) -> dict:
        return self.jobs.start_scan(body)

    def cancel_scan(self, job_id: str) -> dict:
        return self.jobs.cancel_scan(job_id)

    def jobs_status(self) -> dict:
        return {"downloads": self.jobs.downloads(), "scans": self.jobs.scans()}

    # -- shaping ------------------------------------------------------------------------------------------------
    def _mask(self, value: str | None, setting: str) -> int:
        if value is None or value == "":
            return self.setting(setting) or 1
        text = str(value).strip().lower()
        if text in ("true", "false"):
            return settings_mod.NSFW_ALL if text == "true" else 1
        if text.isascii() and text.isdigit() and 1 <= int(text) <= settings_mod.NSFW_ALL:
            return int(text)
        raise ApiError(400, "bad_request", "nsfw is a level mask from 1 (PG) to 31, or true/false")

    def _card(self, model: Model) -> dict:
        preview = self.setting("preview_nsfw_level") or 1
        latest = model.latest_version
        images = [i for v in model.model_versions for i in v.images if i.url]
        thumb = next((i for i in images if shapes.shown(i.nsfw_level, preview)), images[0] if images else None)
        local = self._installed(model)
        installed = sorted({r.get("modelVersionId") for r in local if r.get("modelVersionId")})
        return {
            "id": model.id, "name": model.name, "type": model.type,
            "baseModel": latest.base_model if latest else (model.base_models[0] if model.base_models else None),
            "creator": model.creator.username if model.creator else None,
            "stats": shapes.stats(model.stats), "nsfwLevel": model.nsfw_level, "nsfw": bool(model.nsfw),
            "thumbnail": shapes.thumb_url(thumb), "thumbnailType": shapes.kind(thumb),
            "thumbnailNsfwLevel": thumb.nsfw_level if thumb else None,
            "blur": bool(thumb) and not shapes.shown(thumb.nsfw_level, preview),
            "versions": [{"id": v.id, "name": v.name, "baseModel": v.base_model} for v in model.model_versions],
            "installed": installed,
            "update": any(r.get("newerVersionId") for r in local),
        }

    def _installed(self, model: Model) -> list[dict]:
        """The index's rows of this model's files that are still on disk (a file deleted by hand keeps
        its row until the next scan; it must not read "Downloaded")."""
        return [row for version in model.model_versions for row in self._on_disk(version)]

    def _on_disk(self, version: ModelVersion) -> list[dict]:
        rows = self.library_view.by_version(version.id) if version.id is not None else []
        return [row for row in rows if os.path.isfile(row.get("path") or "")]

    def _version(self, model: Model, version: ModelVersion, preview: int) -> dict:
        local = self._on_disk(version)
        by_sha = {(r.get("sha256") or "").upper(): r.get("path") for r in local}
        files = []
        for f in version.files:
            files.append({
                "id": f.id, "name": f.name, "type": f.type, "sizeKB": f.size_kb, "primary": bool(f.primary),
                "format": f.metadata.format, "size": f.metadata.size, "fp": f.metadata.fp,
                "hashes": f.hashes, "pickleScanResult": f.pickle_scan_result, "virusScanResult": f.virus_scan_result,
                "folder": self._folder(model, version, f.type),
                "installed": by_sha.get((f.sha256 or "").upper()) if f.sha256 else None,
            })
        raw = version.raw
        return {
            "id": version.id, "name": version.name, "baseModel": version.base_model,
            "publishedAt": version.published_at, "createdAt": version.created_at,
            "availability": version.availability, "earlyAccess": version.is_early_access,
            "earlyAccessEndsAt": version.early_access_ends_at,
            "loginRequired": bool(raw.get("requireAuth") or raw.get("requiresAuth")),
            "trainedWords": version.trained_words, "air": version.air, "stats": shapes.stats(version.stats),
            "description": sanitize_html(version.description), "files": files,
            "images": [shapes.image(i, preview) for i in version.images if i.url],
            "installed": [r.get("path") for r in local],
            "update": any(r.get("newerVersionId") for r in local),
            "url": f"{self.client.base_url}/models/{model.id}?modelVersionId={version.id}",
        }

    def _folder(self, model: Model, version: ModelVersion, file_type: str | None) -> str | None:
        try:
            return str(self.layout().folder_for(model.type, file_type, base_model=version.base_model,
                                                model_name=model.name, version_name=version.name,
                                                model_id=model.id, version_id=version.id))
        except (OSError, ValueError) as exc:
            log.debug("no folder for %s: %s", model.type, exc)
            return None
