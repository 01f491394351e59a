"""The app inside ComfyUI: its routes on ComfyUI's PromptServer, its settings in ComfyUI's user folder.

Called once from the pack's ``__init__`` when ComfyUI's server exists. Only the routes are registered
then; the service (its job threads, the persisted download queue) starts with the first API request,
so the pack adds next to nothing to ComfyUI's start. Downloads the app makes land where the nodes look
(``folder_paths``' first folder for the kind) and are announced to the browser with ``send_sync``.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from . import runtime

log = logging.getLogger(__name__)

FILE_ADDED_EVENT = "civitai-companion.file-added"


class LazyService:
    """Stands in for the app's service until a request needs it, then builds it once."""

    def __init__(self, prompt_server) -> None:
        self._prompt_server = prompt_server
        self._service = None
        self._lock = threading.Lock()

    def real(self):
        with self._lock:
            if self._service is None:
                self._service = make_service(self._prompt_server)
            return self._service

    def secrets(self):
        return self.real().secrets()

    def __getattr__(self, name: str):
        return getattr(self.real(), name)


def make_service(prompt_server):
    """The app's service for ComfyUI: ComfyUI's layout, settings in ComfyUI's user directory."""
    from ..app.service import AppService, layout_factory_for
    from ..app.settings import JsonSettingsStore

    def on_file_added(path: Path, kind: str) -> None:
        try:
            prompt_server.send_sync(FILE_ADDED_EVENT, {"name": Path(path).name, "kind": kind})
        except Exception as exc:  # noqa: BLE001 - a closed browser tab must not fail a download
            log.debug("file-added event not sent: %s", exc)

    settings_file = runtime.settings_path()
    settings_file.parent.mkdir(parents=True, exist_ok=True)
    return AppService(layout_factory=layout_factory_for("comfyui"), settings=JsonSettingsStore(settings_file),
                      host="comfyui", on_file_added=on_file_added)


def setup(prompt_server) -> LazyService:
    """Register the app's API and front end on ComfyUI's route table."""
    from ..app.aiohttp import register

    service = LazyService(prompt_server)
    register(service, prompt_server.routes)
    return service
