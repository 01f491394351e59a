"""The files written next to a model: ``.civitai.info``, a preview image, and A1111's ``<base>.json``.

This module is the one place sidecars are written. Users edit ``<base>.json`` in A1111's UI and pick
their own previews, so nothing here overwrites what a user chose: the JSON is merged key by key (our
``.civitai.info`` record remembers what we wrote, so only our own values are ever updated), an existing
preview is kept unless replacing it is asked for (and then set aside, never deleted), and a sidecar that
cannot be parsed is moved aside (``<name>.bad-<timestamp>``) rather than lost. Every write goes to a
temporary file in the same folder and is moved into place with ``os.replace``: no half files.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from .. import config, safe_json
from ..api import Model, ModelVersion
from ..api.http import DEFAULT_TIMEOUT, make_session
from .hash_cache import SIDECAR_EXTENSION_KEY, sidecar_record
from .describe import DESCRIPTION_LIMIT, description_text, html_to_text, sd_version, shorten  # noqa: F401 - public here
from .previews import pick_preview_image, preview_candidates  # noqa: F401 - pick_preview_image is public here

log = logging.getLogger(__name__)

RECORD_KEY = SIDECAR_EXTENSION_KEY  # our namespace inside info["extensions"]; the hash cache reads it
INFO_SUFFIX = ".civitai.info"
PREVIEW_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".gif")
MAX_PREVIEW_BYTES = 32 * 1024 * 1024
SD_VERSIONS = ("SD1", "SD2", "SDXL", "Unknown", "Flux")

_MIME_EXT = {"image/png": ".png", "image/jpeg": ".jpg", "image/jpg": ".jpg", "image/webp": ".webp", "image/gif": ".gif"}


@dataclass
class SidecarResult:
    """What :func:`write_sidecars` did; ``warnings`` are one-line reasons for anything skipped."""

    info_path: Path | None = None
    preview_path: Path | None = None
    preview_written: bool = False
    user_json_path: Path | None = None
    user_json_changed: bool = False
    moved_aside: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # sidecars that could not be written, one line each

    def failed(self, path: Path, exc: OSError) -> None:
        """One sidecar could not be read or written: say which and why; the others are still written."""
        from .hashing import error_text

        text = error_text(exc)
        self.errors.append(text if os.fspath(path) in text else f"{path.name}: {text}")
        log.info("%s", self.errors[-1])  # the caller reports it (scan: on that file, and in its exit status)


# -- names ---------------------------------------------------------------------------------------------
def sidecar_base(model_path: str | os.PathLike) -> Path:
    """``dir/name.safetensors`` -> ``dir/name``: the model file name minus its last extension."""
    path = Path(model_path)
    return path.with_name(path.stem)


def info_path(model_path: str | os.PathLike) -> Path:
    base = sidecar_base(model_path)
    return base.with_name(base.name + INFO_SUFFIX)


def user_json_path(model_path: str | os.PathLike) -> Path:
    base = sidecar_base(model_path)
    return base.with_name(base.name + ".json")


def existing_previews(model_path: str | os.PathLike) -> list[Path]:
    """Preview files A1111 would show for this model (``<base>.preview.<ext>`` and ``<base>.<ext>``)."""
    base = sidecar_base(model_path)
    found = []
    for ext in PREVIEW_EXTENSIONS:
        for candidate in (base.with_name(base.name + ext), base.with_name(base.name + ".preview" + ext)):
            if candidate.is_file():
                found.append(candidate)
    return found


# -- atomic files ---------------------------------------------------------------------------------------
def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder and ``os.replace``: readers never see half a file."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode & 0o777  # a replaced file keeps its permissions
    except OSError:
        mode = 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_json(path: Path, document: Any) -> None:
    atomic_write_bytes(path, (json.dumps(document, ensure_ascii=False, indent=4) + "\n").encode("utf-8"))


def move_aside(path: Path, *, label: str = "bad") -> Path:
    """Rename a file to ``<name>.<label>-<timestamp>`` (never overwriting an earlier one) instead of losing it."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.{label}-{stamp}")
    n = 1
    while os.path.lexists(target):
        n += 1
        target = path.with_name(f"{path.name}.{label}-{stamp}-{n}")
    os.replace(path, target)
    if label == "bad":
        log.warning("kept unreadable %s aside as %s", path.name, target.name)
    return target


def read_json_object(path: Path, result: SidecarResult | None = None) -> dict | None:
    """An existing JSON object sidecar; None if absent. A malformed one is moved aside and None returned."""
    try:
        document = safe_json.read_file(path)
    except FileNotFoundError:
        return None
    except ValueError:
        document = None
    if isinstance(document, dict):
        return document
    moved = move_aside(path)
    if result is not None:
        result.moved_aside.append(moved)
        result.warnings.append(f"{path.name} was not a JSON object; kept it as {moved.name}")
    return None


# -- what goes into the sidecars ----------------------------------------------------------------------
def model_page_url(version: ModelVersion, *, base_url: str | None = None) -> str | None:
    if version.model_id is None:
        return None
    url = f"{config.base_url(base_url)}/models/{version.model_id}"
    return f"{url}?modelVersionId={version.id}" if version.id is not None else url


def _read_object(path: Path) -> dict | None:
    try:
        document = safe_json.read_file(path)
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def _without_empty(value: Any) -> Any:
    """Other tools write ``""`` for what they do not know (``"air": ""``, ``"createdAt": ""``): absent."""
    if isinstance(value, dict):
        return {k: _without_empty(v) for k, v in value.items() if not (isinstance(v, str) and not v.strip())}
    if isinstance(value, list):
        return [_without_empty(v) for v in value if not (isinstance(v, str) and not v.strip())]
    return value


def read_info(model_path: str | os.PathLike) -> dict | None:
    """The ``.civitai.info`` next to a model (written by us or another tool), or None; empty strings in it
    are left out, as absent. Never moves or changes the file."""
    document = _read_object(info_path(model_path))
    return _without_empty(document) if document is not None else None


def read_user_json(model_path: str | os.PathLike) -> dict:
    """A1111's user metadata for a model; {} when absent or unreadable (never modifies it)."""
    return _read_object(user_json_path(model_path)) or {}


def _filled(value: Any) -> bool:
    return bool(value.strip()) if isinstance(value, str) else value is not None


def user_metadata(version: ModelVersion, *, host: str = "a1111", base_url: str | None = None,
                  model: Model | None = None, file_name: str | None = None) -> dict:
    """The keys we would like in ``<base>.json`` (empty values left out). The activation text leaves out
    a ``<lora:...>`` tag for this very file: A1111 adds its own and would load the LoRA twice."""
    from .prompts import network_kind, own_network_tags

    words = list(version.trained_words)
    if network_kind(version.model.type or (model.type if model is not None else None)) == "lora":
        names = [Path(file_name).stem if file_name else None, *(Path(f.name).stem for f in version.files if f.name)]
        words, _ = own_network_tags(words, names)
    wanted = {
        "description": description_text(version, model),
        "sd version": sd_version(version.base_model, host=host),
        "activation text": ", ".join(words),
        "notes": model_page_url(version, base_url=base_url) or "",
    }
    return {k: v for k, v in wanted.items() if _filled(v)}


def written_user_json(info: dict | None) -> dict:
    """What we last wrote into ``<base>.json``, as our ``.civitai.info`` record remembers it ({} if unknown)."""
    extensions = info.get("extensions") if isinstance(info, dict) else None
    record = extensions.get(RECORD_KEY) if isinstance(extensions, dict) else None
    written = record.get("userJson") if isinstance(record, dict) else None
    return dict(written) if isinstance(written, dict) else {}


def merge_user_metadata(existing: dict, wanted: dict, *, ours: dict | None = None) -> dict:
    """Set a key only where it is empty or still holds what we wrote last (``ours``): a value the user
    changed is never touched, and one of ours no longer wanted (another model's words) is emptied.
    ``preferred weight`` 0 is A1111's 'not set'."""
    ours = ours or {}
    merged = dict(existing)
    for key in [*wanted, *(k for k in ours if k not in wanted)]:
        current = merged.get(key)
        if _filled(current) and not (key in ours and current == ours[key]):
            continue  # the user's
        if key in wanted:
            merged[key] = wanted[key]
        elif _filled(current):
            merged[key] = ""
    merged.setdefault("preferred weight", 0)
    return merged


# -- the preview ---------------------------------------------------------------------------------------
def sniff_image_extension(head: bytes, content_type: str | None = None) -> str | None:
    """The real extension from magic bytes, else from the Content-Type; None when it is no image."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return ".png"
    if head.startswith(b"\xff\xd8\xff"):
        return ".jpg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ".webp"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return ".gif"
    if len(head) >= 12:  # enough bytes to be sure of the signatures above: trust them over the header
        return None
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    return _MIME_EXT.get(mime)


def _fetch_image(session: requests.Session, url: str) -> tuple[bytes, str | None]:
    # Image hosts are not Civitai's API host: an Authorization header set on the session is removed here.
    headers = {"Authorization": None, "Accept": "image/png,image/jpeg,image/webp,image/gif;q=0.9,*/*;q=0.1"}
    with session.get(url, headers=headers, timeout=DEFAULT_TIMEOUT, stream=True, allow_redirects=True) as response:
        if response.status_code >= 400:
            raise OSError(f"HTTP {response.status_code}")
        chunks, total = [], 0
        for chunk in response.iter_content(256 * 1024):
            total += len(chunk)
            if total > MAX_PREVIEW_BYTES:
                raise OSError(f"larger than {MAX_PREVIEW_BYTES // (1024 * 1024)} MiB")
            chunks.append(chunk)
        return b"".join(chunks), response.headers.get("Content-Type")


def _warn(result: SidecarResult, model_path: Path, message: str) -> None:
    result.warnings.append(message)
    log.warning("%s: %s", model_path.name, message)


def write_preview(model_path: Path, version: ModelVersion, *, session: requests.Session | None = None,
                  max_nsfw_level: int = 1, replace_preview: bool = False,
                  result: SidecarResult | None = None, model: Model | None = None) -> Path | None:
    """Download the preview if there is none yet; any failure is a warning in ``result``, never raised.

    A sized copy is fetched, never the original; a version with only videos gets a still frame of one,
    else another version's first picture (``model`` gives the other versions), and a warning says so."""
    result = result if result is not None else SidecarResult()
    existing = existing_previews(model_path)
    if existing and not replace_preview:
        result.preview_path = existing[0]
        return existing[0]
    candidates = list(preview_candidates(version, model=model, max_nsfw_level=max_nsfw_level))
    if not candidates:
        result.warnings.append(f"no image at or under NSFW level {max_nsfw_level} to use as preview")
        log.info("%s: %s", model_path.name, result.warnings[-1])
        return None
    own_session = session is None
    session = session or make_session()
    try:
        for n, candidate in enumerate(candidates):
            last = n == len(candidates) - 1
            try:
                data, content_type = _fetch_image(session, candidate.url)
            except (OSError, requests.RequestException) as exc:
                if last or candidate.note is None:
                    return _warn(result, model_path, f"preview not downloaded: {exc}".splitlines()[0])
                continue
            ext = sniff_image_extension(data[:16], content_type)
            if ext is not None:
                break
            if last or candidate.note is None:
                sent = content_type or "no type"
                return _warn(result, model_path, f"preview not saved: the server sent no image ({sent})")
    finally:
        if own_session:
            session.close()
    base = sidecar_base(model_path)
    target = base.with_name(f"{base.name}.preview{ext}")
    try:
        _replace_previews(model_path, target, data, existing, result)
    except OSError as exc:
        result.failed(target, exc)
        return None
    result.preview_path, result.preview_written = target, True
    if candidate.note:
        _warn(result, model_path, candidate.note)
    return target


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


def _replace_previews(model_path: Path, target: Path, data: bytes, existing: list[Path], result) -> None:
    """Write ``target`` and set every other preview aside, since A1111 shows ``<base>.png`` and the
    like before ``<base>.preview.*``; a file holding the same image is dropped, any other one is kept
    as ``<name>.replaced-<timestamp>`` and named in a warning."""
    kept = move_aside(target, label="replaced") if target in existing and not _same_bytes(target, data) else None
    try:
        atomic_write_bytes(target, data)
    except OSError:
        if kept is not None:
            os.replace(kept, target)
        raise
    moved = [(target, kept)] if kept is not None else []
    for old in existing:
        if old == target:
            continue
        if _same_bytes(old, data):
            old.unlink(missing_ok=True)
        else:
            moved.append((old, move_aside(old, label="replaced")))
    for old, aside in moved:
        result.moved_aside.append(aside)
        _warn(result, model_path, f"kept {old.name} as {aside.name}: A1111 now shows {target.name}")


# -- the one entry point -------------------------------------------------------------------------------
def write_sidecars(model_path: Path, version: ModelVersion, *, sha256: str, session: requests.Session | None = None,
                   max_nsfw_level: int = 1, preview: bool = True, replace_preview: bool = False,
                   host: str = "a1111", base_url: str | None = None, model: Model | None = None) -> SidecarResult:
    """Write ``.civitai.info``, the preview and the merged ``<base>.json`` for one resolved model file.

    A sidecar that cannot be read or written is named in ``errors`` and the others are still written;
    a preview that cannot be fetched only adds a warning. ``host="forge"`` writes ``Flux`` as sd version for Flux models. The info
    record's ``userJson`` remembers the values we wrote into ``<base>.json``, so a later run may update
    them (another host, another model under the same name) and knows any other value is the user's.
    ``model`` (the version's model, when known) lends its description and other versions' previews.
    """
    model_path = Path(model_path)
    result = SidecarResult()
    info, path = info_path(model_path), user_json_path(model_path)
    try:
        previous = read_json_object(info, result)
    except OSError as exc:  # e.g. a folder named like the info file: it cannot be replaced either
        result.failed(info, exc)
        info = None
        previous = None
    if preview:
        write_preview(model_path, version, session=session, max_nsfw_level=max_nsfw_level,
                      replace_preview=replace_preview, result=result, model=model)
    ours = written_user_json(previous)
    wanted = user_metadata(version, host=host, base_url=base_url, model=model, file_name=model_path.name)
    try:  # the JSON first: the info record then says what the JSON really holds, even if this write fails
        existing = read_json_object(path, result) or {}
        merged = merge_user_metadata(existing, wanted, ours=ours)
        if merged != existing or not path.exists():
            atomic_write_json(path, merged)
            result.user_json_changed = True
        ours = {key: value for key, value in wanted.items() if merged.get(key) == value}
        result.user_json_path = path
    except OSError as exc:
        result.failed(path, exc)
    if info is not None:
        try:
            _write_info(model_path, version, previous, sha256=sha256, written=ours, base_url=base_url)
            result.info_path = info
        except OSError as exc:
            result.failed(info, exc)
    return result


def _write_info(model_path: Path, version: ModelVersion, previous: dict | None, *, sha256: str, written: dict,
                base_url: str | None) -> None:
    """Civitai's version JSON plus our record; other tools' ``extensions`` are kept."""
    document = dict(version.raw)
    extensions = previous.get("extensions") if previous else None
    extensions = dict(extensions) if isinstance(extensions, dict) else {}
    record = sidecar_record(model_path, sha256, model_url=model_page_url(version, base_url=base_url) or "")
    record["userJson"] = written  # what we wrote into <base>.json: only these values may be updated later
    extensions[RECORD_KEY] = record
    document["extensions"] = extensions
    atomic_write_json(info_path(model_path), document)
