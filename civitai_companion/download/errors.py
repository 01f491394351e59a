"""The errors only a download can have, on top of the API's (``api.errors``); re-exported by ``download``.

Like every ``CivitaiError`` they are ``OSError``s whose ``str()`` is one line: what happened, then what
to do. None of them ever contains the token or a signed URL's secrets.
"""

from __future__ import annotations

from ..api.errors import BadRequest, BadResponse, CivitaiError, NetworkError

RESUME_HINT = "run the same command again to resume"


class DownloadError(CivitaiError):
    """Base of the errors of the download transaction itself."""


class IntegrityError(DownloadError):
    """The bytes received are not the file Civitai lists; nothing was kept."""


class HashMismatch(IntegrityError):
    """The SHA-256 of the received bytes is not the one the API gave."""


class SizeMismatch(IntegrityError):
    """The received file is not as long as the server or the API said."""


class NotAModelFile(DownloadError, BadResponse):
    """The server answered with a web page (usually a login page) instead of the file."""


class UndecodableBody(IntegrityError, BadResponse):
    """The server compressed the file and the compressed data was broken; nothing was kept."""


class DownloadInterrupted(DownloadError, NetworkError):
    """The connection dropped or timed out mid-file; the ``.part`` was kept so the download can resume."""

    def __init__(self, message: str, *, part_path=None, bytes_done: int = 0, total: int | None = None, **kw) -> None:
        self.part_path = part_path
        self.bytes_done = bytes_done
        self.total = total
        kw.setdefault("hint", RESUME_HINT)
        super().__init__(message, **kw)


class DiskError(DownloadError):
    """The disk refused: full, read-only, or no permission. The ``.part`` was removed."""


class DownloadBusy(DownloadError):
    """Another process is downloading to the same path right now."""


class DownloadCancelled(DownloadError):
    """The caller cancelled; the ``.part`` is kept unless the caller discards it."""


class NoMatchingFile(BadRequest):
    """The version has no file matching the requested id or format/size/fp."""
