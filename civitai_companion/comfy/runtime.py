"""What the nodes share inside ComfyUI: the client, where a reference's file already is, and a download
that moves ComfyUI's progress bar and stops on its Cancel button.

A graph is re-run often, so finding a file that is already here must cost no request: this process
remembers what it downloaded, the library index knows what was scanned or downloaded before, and the
``.civitai.info`` sidecar written beside every download says which version a file is. Only a reference
found nowhere is asked about, and then downloaded into ``folder_paths.get_folder_paths(key)[0]``.
ComfyUI modules are imported inside functions: this file imports outside ComfyUI too.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..hosts.comfyui import KEY_FOR_KIND

log = logging.getLogger(__name__)

SETTINGS_FOLDER = "civitai-companion"
POLL_SECONDS = 0.1  # how often a running download looks at ComfyUI's Cancel flag
MODEL_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".sft", ".gguf")


@dataclass
class LocalModel:
    """A model file on disk and what its Civitai version says about it."""

    path: Path
    version_id: int | None = None
    model_id: int | None = None
    name: str = ""
    model_type: str | None = None
    air: str = ""
    trained_words: list[str] = field(default_factory=list)


_known: dict[int, LocalModel] = {}  # version id -> the file this process downloaded or found
_known_lock = threading.Lock()


def settings_path() -> Path:
    """The app's settings inside ComfyUI's user directory (the token may be there, mode 0600)."""
    import folder_paths

    return Path(folder_paths.get_user_directory()) / SETTINGS_FOLDER / "settings.json"


def load_settings() -> dict:
    """The app's saved settings, or {} when there are none or they cannot be read."""
    try:
        data = json.loads(settings_path().read_text(encoding="utf-8"))
    except (OSError, ValueError, ImportError):
        return {}
    return data if isinstance(data, dict) else {}


def make_client():
    """A client with the app's base URL and token when set there, else the environment and token file."""
    from ..api import CivitaiClient

    settings = load_settings()
    token = settings.get("token") if isinstance(settings.get("token"), str) else None
    base_url = settings.get("base_url") if isinstance(settings.get("base_url"), str) else None
    return CivitaiClient(base_url=(base_url or "").strip() or None, token=(token or "").strip() or None)


def make_downloader(client=None):
    from ..download import Downloader
    from ..hosts.comfyui import ComfyUILayout

    settings = load_settings()
    template = settings.get("subfolder_template") if isinstance(settings.get("subfolder_template"), str) else None
    layout = ComfyUILayout(subfolder_template=template or None)
    return Downloader(client or make_client(), layout=layout, host="comfyui",
                      sidecars=settings.get("write_sidecars", True) is not False)


def read_reference(text: str):
    """The parsed reference (a ``refs.Ref``), or ``ValueError`` with one line saying what to type."""
    from ..refs import parse_ref

    return parse_ref(text)


def reference_key(text: str) -> str:
    """A stable key for a reference however it was typed (id, AIR or URL): ComfyUI's cache key."""
    try:
        ref = read_reference(text)
    except ValueError:
        return "invalid:" + " ".join(str(text).split())
    return f"version:{ref.version_id}" if ref.version_id is not None else f"model:{ref.model_id}"


def make_air(model_id: object, version_id: object, air: object = None) -> str:
    """Civitai's AIR when it gave one, else the short form every AIR parser reads."""
    if isinstance(air, str) and air.strip():
        return air.strip()
    if model_id and version_id:
        return f"civitai:{model_id}@{version_id}"
    return str(version_id or "")


def _from_info(path: Path, info: dict) -> LocalModel:
    model = info.get("model") if isinstance(info.get("model"), dict) else {}
    words = info.get("trainedWords") if isinstance(info.get("trainedWords"), list) else []
    version_id = info.get("id") if isinstance(info.get("id"), int) else None
    model_id = info.get("modelId") if isinstance(info.get("modelId"), int) else None
    return LocalModel(path=path, version_id=version_id, model_id=model_id,
                      name=str(model.get("name") or path.stem), model_type=model.get("type"),
                      air=make_air(model_id, version_id, info.get("air")),
                      trained_words=[w for w in words if isinstance(w, str)])


def _from_row(row: dict) -> LocalModel:
    """A library index row (``scan --json`` shape); the AIR, which rows do not hold, from the sidecar."""
    from ..library.sidecars import read_info

    words = row.get("trainedWords") if isinstance(row.get("trainedWords"), list) else []
    path = Path(row["path"])
    air = row.get("air") or (read_info(path) or {}).get("air")
    return LocalModel(path=path, version_id=row.get("modelVersionId"), model_id=row.get("modelId"),
                      name=row.get("modelName") or path.stem, model_type=row.get("type"),
                      air=make_air(row.get("modelId"), row.get("modelVersionId"), air),
                      trained_words=[w for w in words if isinstance(w, str)])


def open_library_index():
    """The library index, or None where it is not available (then the sidecars answer)."""
    try:
        from ..library.index import open_index
    except ImportError:
        return None
    try:
        return open_index()
    except Exception as exc:  # noqa: BLE001 - the index only saves requests; the nodes work without it
        log.info("library index not usable: %s", exc)
        return None


def folders_for(keys: tuple[str, ...]) -> list[Path]:
    """Every folder ComfyUI knows for these keys (extra_model_paths.yaml included), first ones first."""
    import folder_paths

    found: list[Path] = []
    for key in keys:
        try:
            found.extend(Path(p) for p in folder_paths.get_folder_paths(key))
        except KeyError:
            continue
    return found


def _model_beside(info_file: Path) -> Path | None:
    base = info_file.name[: -len(".civitai.info")]
    for suffix in MODEL_SUFFIXES:
        candidate = info_file.with_name(base + suffix)
        if candidate.is_file():
            return candidate
    return None


def _from_sidecars(version_id: int, keys: tuple[str, ...]) -> LocalModel | None:
    from ..library.sidecars import read_info

    for folder in folders_for(keys):
        if not folder.is_dir():
            continue
        for info_file in folder.rglob("*.civitai.info"):
            model_path = _model_beside(info_file)
            if model_path is None:
                continue
            info = read_info(model_path) or {}
            if info.get("id") == version_id:
                return _from_info(model_path, info)
    return None


def remember(found: LocalModel) -> LocalModel:
    if found.version_id is not None:
        with _known_lock:
            _known[found.version_id] = found
    return found


def _index_rows(ask) -> list[dict]:
    """Rows from the library index (opened and closed around one question); [] without an index."""
    index = open_library_index()
    if index is None:
        return []
    try:
        return list(ask(index) or ())
    except Exception as exc:  # noqa: BLE001 - the index only saves requests
        log.info("library index not usable: %s", exc)
        return []
    finally:
        close = getattr(index, "close", None)
        if close is not None:
            close()


def find_local(version_id: int, keys: tuple[str, ...] | None = None) -> LocalModel | None:
    """The file of a version already on disk, found without a request: memory, index, then sidecars."""
    keys = keys or tuple(dict.fromkeys(KEY_FOR_KIND.values()))
    with _known_lock:
        known = _known.get(version_id)
    if known is not None and known.path.is_file():
        return known
    for row in _index_rows(lambda index: index.by_version(version_id)):
        if row.get("path") and Path(row["path"]).is_file():
            return remember(_from_row(row))
    found = _from_sidecars(version_id, keys)
    return remember(found) if found is not None else None


def local_info(path: Path) -> LocalModel | None:
    """What is known about a local file without a request: the index row, else its sidecar."""
    from ..library.sidecars import read_info

    for row in _index_rows(lambda index: index.rows(paths=[str(path)])):
        if row.get("modelVersionId"):
            return _from_row(row)
    info = read_info(path)
    return _from_info(path, info) if info and isinstance(info.get("id"), int) else None


def record(result, plan) -> None:
    """Tell the library index about a verified download (the app's Library then lists it at once)."""
    try:
        from ..library.index import index_download
    except ImportError:
        return
    index_download(result, plan, host="comfyui")


def run_download(downloader, plan):
    """Run one planned download on a worker thread while this (ComfyUI's) thread moves the progress
    bar and watches Cancel; a cancelled download keeps only its resumable ``.part``, never a model file."""
    import comfy.model_management as mm
    from comfy.utils import ProgressBar

    from ..download import DownloadCancelled

    bar = ProgressBar(max(1, plan.size or 1))
    cancel = threading.Event()
    latest: list = [None]
    outcome: dict = {}

    def work() -> None:
        try:
            outcome["result"] = downloader.run(plan, progress=lambda event: latest.__setitem__(0, event), cancel=cancel)
        except BaseException as exc:  # noqa: BLE001 - handed to the node's thread below
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="civitai-download", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(POLL_SECONDS)
            if mm.processing_interrupted():
                cancel.set()
            event = latest[0]
            if event is not None and event.total:
                bar.update_absolute(min(event.bytes_done, event.total), event.total)  # ComfyUI's hook raises on Cancel
    finally:
        if worker.is_alive():  # this thread is leaving (Cancel raised in the progress hook): stop the download
            cancel.set()
            worker.join()
        if cancel.is_set():
            log.info("download of %s cancelled; the partial file is kept so the next run resumes it", plan.name)
    error = outcome.get("error")
    if isinstance(error, DownloadCancelled) or cancel.is_set():
        mm.throw_exception_if_processing_interrupted()
        raise mm.InterruptProcessingException()
    if error is not None:
        raise error
    return outcome["result"]


def kinds_label(kinds: tuple[str, ...]) -> str:
    return " or ".join(k.replace("_", " ") for k in kinds)


def ensure_model(reference: str, *, kinds: tuple[str, ...] | None = None) -> LocalModel:
    """The local file for a reference: found without a request when it is here, else downloaded.

    ``kinds`` limits what the reference may be (a LoRA loader takes no checkpoint); the error names
    the node to use instead.
    """
    ref = read_reference(reference)
    keys = tuple(KEY_FOR_KIND[k] for k in kinds) if kinds else None
    if ref.version_id is not None:
        found = find_local(ref.version_id, keys)
        if found is not None:
            return found
    downloader = make_downloader()
    plan = downloader.plan(ref.text)
    version = plan.version
    kind = downloader.layout.kind_for(version.model.type, plan.file.type)
    if kinds and kind not in kinds:
        raise ValueError(f"{reference.strip()} is a {version.model.type or kind} ({kind.replace('_', ' ')}), "
                         f"not a {kinds_label(kinds)}: use {suggest_node(kind)}")
    if version.id is not None:
        found = find_local(version.id, keys)
        if found is not None:
            return found
    result = run_download(downloader, plan)
    record(result, plan)
    return remember(LocalModel(
        path=Path(result.path), version_id=version.id, model_id=version.model_id,
        name=version.model.name or Path(result.path).stem, model_type=version.model.type,
        air=make_air(version.model_id, version.id, version.air), trained_words=list(version.trained_words)))


def suggest_node(kind: str) -> str:
    return {"lora": "CivitaiLoraLoader", "checkpoint": "CivitaiCheckpointLoader"}.get(kind, "CivitaiDownload")
