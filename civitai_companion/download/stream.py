"""The bytes of a download: the hashing pipeline and the ``.part.json`` record beside the ``.part``.

The pipeline is two threads: the caller's thread only reads the socket, a writer thread hashes each
chunk and appends it to the ``.part``. hashlib and ``os.write`` release the GIL, so on two cores the
network never waits for SHA-256, and the bytes are hashed on their way to disk: there is no second read.
A bounded queue keeps memory flat (``QUEUE_DEPTH`` chunks) whatever the file size.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable

from .. import safe_json
from .errors import DownloadCancelled

log = logging.getLogger(__name__)

CHUNK_SIZE = 1024 * 1024
QUEUE_DEPTH = 8
STATE_VERSION = 1


# -- the .part record --------------------------------------------------------------------------------------
@dataclass
class PartState:
    """What a ``.part`` is a part of. Never holds a URL (signed URLs expire and carry secrets) or a token."""

    version_id: int
    file_id: int | None
    name: str
    size: int | None = None
    sha256: str | None = None
    created: float = 0.0

    def to_json(self) -> dict:
        data = asdict(self)
        return {
            "stateVersion": STATE_VERSION,
            "modelVersionId": data["version_id"],
            "fileId": data["file_id"],
            "name": data["name"],
            "size": data["size"],
            "sha256": data["sha256"],
            "created": data["created"],
        }

    @classmethod
    def from_json(cls, data: object) -> "PartState | None":
        if not isinstance(data, dict):
            return None
        vid, fid, name = data.get("modelVersionId"), data.get("fileId"), data.get("name")
        size, sha = data.get("size"), data.get("sha256")
        if not isinstance(vid, int) or not isinstance(name, str) or (fid is not None and not isinstance(fid, int)):
            return None
        return cls(
            version_id=vid,
            file_id=fid,
            name=name,
            size=size if isinstance(size, int) and size >= 0 else None,
            sha256=sha.upper() if isinstance(sha, str) else None,
            created=float(data.get("created") or 0.0) if isinstance(data.get("created"), (int, float)) else 0.0,
        )


def part_path(target: Path) -> Path:
    return target.with_name(target.name + ".part")


def state_path(target: Path) -> Path:
    return target.with_name(target.name + ".part.json")


def write_state(target: Path, state: PartState) -> None:
    """Write ``<target>.part.json`` atomically (a torn record would strand the ``.part``)."""
    path = state_path(target)
    tmp = path.with_name(f".civitai-part-{os.getpid()}-{threading.get_ident()}.tmp")  # short: names may be long
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(state.to_json(), fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_state(path: Path) -> PartState | None:
    try:
        return PartState.from_json(safe_json.read_file(path, max_bytes=1024 * 1024))
    except (OSError, ValueError):
        return None


def find_state(folder: Path, version_id: int, file_id: int | None) -> tuple[Path, PartState] | None:
    """The unfinished download of this file in ``folder``: (target path, record), newest first."""
    found = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return None
    for entry in entries:
        if not entry.name.endswith(".part.json"):
            continue
        state = read_state(Path(entry.path))
        if state is None or state.version_id != version_id or state.file_id != file_id:
            continue
        target = Path(entry.path[: -len(".part.json")])
        found.append((state.created, target, state))
    if not found:
        return None
    found.sort(key=lambda item: item[0], reverse=True)
    return found[0][1], found[0][2]


def remove_partial(target: Path) -> None:
    """Remove ``<target>.part`` and ``<target>.part.json``; missing files are fine."""
    for path in (part_path(target), state_path(target)):
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("could not remove %s: %s", path, exc.strerror or exc)


# -- the pipeline ------------------------------------------------------------------------------------------
def write_chunk(fd: int, data) -> None:
    """Write all of ``data`` (``os.write`` may write less than asked)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class WriteFailed(Exception):
    """Writing the ``.part`` failed (disk full, permission, I/O error): ``original`` is the OSError."""

    def __init__(self, original: BaseException) -> None:
        self.original = original
        super().__init__(str(original))


class _Writer(threading.Thread):
    """Hashes and writes the chunks the reader queues, in order; remembers the first error."""

    def __init__(self, fd: int, hasher, start: int, on_bytes: Callable[[int], object] | None, depth: int):
        super().__init__(name="civitai-download-writer", daemon=True)
        self.fd, self.hasher, self.position, self.on_bytes = fd, hasher, start, on_bytes
        self.queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self.error: BaseException | None = None

    def run(self) -> None:
        while True:
            chunk = self.queue.get()
            if chunk is None:
                return
            if self.error is not None:
                continue  # keep draining so the reader never blocks on a full queue
            try:
                self.hasher.update(chunk)
                write_chunk(self.fd, chunk)
            except BaseException as exc:  # noqa: BLE001 - handed to the reader thread
                self.error = WriteFailed(exc)
                continue
            self.position += len(chunk)
            if self.on_bytes is not None:
                try:
                    self.on_bytes(self.position)
                except BaseException as exc:  # noqa: BLE001 - a callback may cancel by raising
                    self.error = exc


def stream_into(
    chunks: Iterable[bytes],
    fd: int,
    hasher,
    *,
    start: int = 0,
    on_bytes: Callable[[int], object] | None = None,
    cancel: threading.Event | None = None,
    depth: int = QUEUE_DEPTH,
    limit: int | None = None,
) -> int:
    """Append ``chunks`` to ``fd`` while ``hasher`` digests them; return the file position reached.

    A network error from ``chunks`` propagates after every chunk already received is on disk, so the
    ``.part`` stays a clean prefix. A disk error stops the reader and is raised as :class:`WriteFailed`.
    ``limit`` stops reading once the file would be longer than that (a server sending too much).
    """
    writer = _Writer(fd, hasher, start, on_bytes, depth)
    writer.start()
    received = start
    try:
        for chunk in chunks:
            if not chunk:
                continue
            if writer.error is not None:
                break
            if cancel is not None and cancel.is_set():
                raise DownloadCancelled("download cancelled", hint="the partial file was kept; download again to resume")
            received += len(chunk)
            writer.queue.put(chunk)
            if limit is not None and received > limit:
                break
    finally:
        writer.queue.put(None)
        writer.join()
    if writer.error is not None:
        raise writer.error
    return writer.position


def hash_prefix(path: Path, hasher, *, length: int, on_bytes: Callable[[int], object] | None = None) -> int:
    """Feed the first ``length`` bytes of ``path`` to ``hasher`` (resuming continues the same SHA-256)."""
    done = 0
    buf = bytearray(4 * CHUNK_SIZE)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        while done < length:
            n = fh.readinto(view[: min(len(buf), length - done)])
            if not n:
                break
            hasher.update(view[:n])
            done += n
            if on_bytes is not None:
                on_bytes(done)
    return done


def close_quietly(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


def fsync_dir(folder: Path) -> None:
    """Make the rename durable (POSIX); Windows cannot open directories, and does not need to."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
