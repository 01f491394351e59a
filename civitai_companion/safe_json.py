"""JSON from places we do not control (the network, sidecars, state files), where every failure is a ValueError.

``json.loads`` has more ways to fail than ``ValueError``: text nested a few thousand levels deep raises
``RecursionError``, and bytes that are not UTF-8 raise ``UnicodeDecodeError`` only when decoded first.
Callers already treat ``ValueError`` as "unreadable, move on"; this keeps that one promise true.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from typing import Any

MAX_FILE_BYTES = 64 * 1024 * 1024  # no sidecar or state file of ours comes near this


def loads(data: str | bytes | bytearray) -> Any:
    """``json.loads`` (bytes are UTF-8, a BOM is allowed); any malformed input raises ``ValueError``."""
    try:
        text = bytes(data).decode("utf-8-sig") if isinstance(data, (bytes, bytearray)) else data
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def read_file(path: str | os.PathLike, *, max_bytes: int = MAX_FILE_BYTES) -> Any:
    """The JSON document in a file: ``OSError`` if it cannot be read (absent, a folder, a FIFO or device,
    no permission), ``ValueError`` if it is not JSON or is too big to be one of ours (not read at all).

    Opened non-blocking and checked to be a regular file before reading: a FIFO named like a sidecar
    would otherwise block a scan (and the host app running it) forever.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        st = os.fstat(fd)  # before fdopen, which fails on a folder naming the descriptor, not the path
    except OSError:
        os.close(fd)
        raise
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a folder, not a JSON file", os.fspath(path))
        raise OSError(errno.EINVAL, "is not a regular file (a pipe, socket or device), not a JSON file",
                      os.fspath(path))
    with os.fdopen(fd, "rb") as fh:
        if st.st_size > max_bytes:
            raise ValueError(f"{os.fspath(path)} is too big for a JSON file ({st.st_size} bytes)")
        return loads(fh.read(max_bytes + 1))
