"""FakeCivitai: the catalog plus two local HTTP servers (the Civitai API host and a storage host)."""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path

from . import api, downloads, fixtures
from .builder import build_model, new_file_dict, safetensors_bytes
from .catalog import Catalog, load_fixture_catalog
from .generated import build_generated
from .wire import (HTML_TYPE, RecordingServer, Request, RequestRecord, Response, json_response, make_handler,
                   xml_error)

FAULT_MODES = downloads.DOWNLOAD_MODES | downloads.STORAGE_MODES
_STORAGE_PATH = re.compile(r"^/storage/(\d+)/([^/]+)$")


@dataclass
class Fault:
    mode: str
    remaining: int | None
    opts: dict = field(default_factory=dict)


@dataclass
class ApiFault:
    prefix: str
    status: int
    remaining: int | None
    retry_after: float | int | None
    body: object


class FakeCivitai:
    """A faithful local Civitai: real response shapes, real bytes, and switchable failures.

    Build it, `start()` it (or use it as a context manager) and point CIVITAI_BASE_URL at `fake.url`.
    """

    def __init__(self, *, seed_fixtures: bool = True, generated: int = 40, host: str = "127.0.0.1",
                 port: int = 0, storage_port: int = 0, token: str = "test-token") -> None:
        self.host, self.port, self.storage_port = host, port, storage_port
        self.token = token
        self.url_ttl = 86400
        self.signing_key = os.urandom(16)
        self.me = {"id": 4242, "username": "fake-tester", "tier": "free", "status": "active"}
        self.catalog = Catalog()
        if seed_fixtures:
            load_fixture_catalog(self.catalog)
        self.special, self._generated_ids = build_generated(self.catalog, generated)
        visible = [i for i in self._generated_ids if self.catalog.models[i].get("nsfwLevel") == 1]
        self.favorite_ids = set(visible[:3])
        self.hidden_ids = set(visible[3:4])
        self.requests: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._faults: dict[int, list[Fault]] = {}
        self._api_faults: list[ApiFault] = []
        self._servers: list = []
        self.url = ""
        self.storage_url = ""

    # ---- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> "FakeCivitai":
        if self._servers:
            return self
        api_server = RecordingServer((self.host, self.port), make_handler("api", self._dispatch, self._record))
        try:
            storage_server = RecordingServer((self.host, self.storage_port),
                                             make_handler("storage", self._dispatch, self._record))
        except OSError:
            api_server.server_close()
            raise
        self._servers = [api_server, storage_server]
        self.url = f"http://{self.host}:{api_server.server_address[1]}"
        self.storage_url = f"http://{self.host}:{storage_server.server_address[1]}"
        self.catalog.move_to(self.url)
        for server in self._servers:
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                             name="fake-civitai", daemon=True).start()
        return self

    def stop(self) -> None:
        servers, self._servers = self._servers, []
        for server in servers:
            server.shutdown()
            server.drop_connections()
            server.server_close()

    def __enter__(self) -> "FakeCivitai":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- catalog -----------------------------------------------------------------------------------

    @property
    def models(self) -> dict:
        return self.catalog.models

    @property
    def versions(self) -> dict:
        return self.catalog.versions

    def generated_models(self, *, type: str | None = None, nsfw_level: int | None = None) -> list[dict]:
        """Generated models (not the recorded ones), optionally of one type or NSFW level."""
        out = [self.catalog.models[i] for i in self._generated_ids if i in self.catalog.models]
        if type is not None:
            out = [m for m in out if m["type"] == type]
        if nsfw_level is not None:
            out = [m for m in out if m.get("nsfwLevel") == nsfw_level]
        return out

    def add_model(self, *, name: str, type: str = "LORA", base_model: str = "SD 1.5", versions: int = 1,
                  file_sizes=(4096,), nsfw_level: int = 1, trained_words=None, creator: str | None = "fakeuser",
                  tags=(), extra_files=(), **options) -> dict:
        """Add a model whose files are real safetensors with true hashes; returns the model dict."""
        model = build_model(self.catalog, name=name, type=type, base_model=base_model, versions=versions,
                            file_sizes=file_sizes, nsfw_level=nsfw_level, trained_words=trained_words,
                            creator=creator, tags=tags, extra_files=extra_files, **options)
        self._generated_ids.append(model["id"])
        return model

    def add_file(self, version_id: int, *, name: str, path=None, data: bytes | None = None, size: int | None = None,
                 type: str = "Model", primary: bool = False, metadata: dict | None = None,
                 hashes: dict | None = None) -> dict:
        """Attach a file to a version: `path` streams from disk (hashes computed by streaming unless given)."""
        file = new_file_dict(self.catalog, version_id, name=name, type=type, primary=primary, metadata=metadata)
        if path is None and data is None:
            data = safetensors_bytes(size or 4096, seed=file["id"])
        return self.catalog.attach_file(version_id, file, data=data, path=path, hashes=hashes)

    def file_bytes(self, file_id: int) -> bytes:
        entry = self.catalog.files[file_id]
        if entry.data is not None:
            return entry.data
        if entry.path is not None:
            return Path(entry.path).read_bytes()
        raise KeyError(f"file {file_id} is a recorded fixture without bytes")

    def file_path(self, file_id: int) -> Path | None:
        return self.catalog.files[file_id].path

    def file(self, file_id: int) -> dict:
        return self.catalog.files[file_id].file

    def by_hash(self, value: str) -> list[dict]:
        """Catalog file dicts having `value` as any of their hashes."""
        return [entry.file for entry in self.catalog.files_by_hash(value)]

    # ---- faults ------------------------------------------------------------------------------------

    def set_fault(self, version_id: int, mode: str, *, times: int | None = None, **opts) -> None:
        if mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {mode!r}; expected one of {sorted(FAULT_MODES)}")
        with self._lock:
            self._faults.setdefault(version_id, []).append(Fault(mode, times, opts))

    def set_api_fault(self, path_prefix: str, status: int, *, times: int | None = 1, retry_after=None,
                      body=None) -> None:
        with self._lock:
            self._api_faults.append(ApiFault(path_prefix, status, times, retry_after, body))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._api_faults.clear()

    def take_faults(self, version_id: int, modes: set, *, first_only: bool = False) -> list[Fault]:
        """Faults of `modes` armed for a version, each counted as used once."""
        taken = []
        with self._lock:
            for fault in list(self._faults.get(version_id, [])):
                if fault.mode not in modes:
                    continue
                taken.append(fault)
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults[version_id].remove(fault)
                if first_only:
                    break
        return taken

    def _take_api_fault(self, path: str) -> ApiFault | None:
        with self._lock:
            for fault in self._api_faults:
                if path.startswith(fault.prefix):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self._api_faults.remove(fault)
                    return fault
        return None

    # ---- requests ----------------------------------------------------------------------------------

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self.requests.append(record)

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def requests_to(self, server: str = "api", *, path_prefix: str = "") -> list[RequestRecord]:
        with self._lock:
            return [r for r in self.requests if r.server == server and r.path.startswith(path_prefix)]

    def authorized(self, request: Request) -> bool:
        """The header wins over ?token=; a wrong token is simply anonymous."""
        if not self.token:
            return False
        header = request.headers.get("Authorization")
        if header is not None:
            scheme, _, value = header.partition(" ")
            return scheme.lower() == "bearer" and value.strip() == self.token
        return request.one("token") == self.token

    def _dispatch(self, role: str, request: Request) -> Response:
        if role == "storage":
            match = _STORAGE_PATH.match(request.path)
            if not match or request.method not in ("GET", "HEAD"):
                return xml_error(404, "NoSuchKey", "The specified key does not exist.")
            return downloads.storage(self, request, *match.groups())
        fault = self._take_api_fault(request.path)
        if fault is not None:
            return _api_fault_response(fault)
        return api.route_api(self, request)


def _api_fault_response(fault: ApiFault) -> Response:
    headers = [("Retry-After", str(fault.retry_after))] if fault.retry_after is not None else []
    body = fault.body
    if body is None:
        if fault.status == 500:
            body = fixtures.server_error_body()
        else:
            try:
                body = {"error": HTTPStatus(fault.status).phrase}
            except ValueError:
                body = {"error": f"HTTP {fault.status}"}
    if isinstance(body, (dict, list)):
        return json_response(fault.status, body, headers=headers)
    if isinstance(body, str):
        kind = HTML_TYPE if body.lstrip().startswith("<") else "text/plain; charset=utf-8"
        return Response(fault.status, body.encode("utf-8"), kind, headers)
    return Response(fault.status, bytes(body), "application/octet-stream", headers)

