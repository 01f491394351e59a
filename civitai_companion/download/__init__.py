"""Downloads that are never corrupt and never land in the wrong folder.

``transaction`` is the download itself (metadata → ``.part`` while hashing → verify → ``os.replace``);
the modules beside it each hold one piece of it: ``http`` (the 307 to storage, without the token),
``stream`` (the hashing pipeline and the ``.part.json`` record), ``target`` (which file, which name,
the final checks), ``names`` (safe file names), ``lock``, ``progress``, ``errors``; ``queue`` runs
downloads on worker threads and survives restarts.
"""

from .errors import (
    DiskError,
    DownloadBusy,
    DownloadCancelled,
    DownloadError,
    DownloadInterrupted,
    HashMismatch,
    IntegrityError,
    NoMatchingFile,
    NotAModelFile,
    SizeMismatch,
)
from .progress import DownloadProgress
from .queue import DownloadJob, DownloadQueue
from .target import DownloadPlan, DownloadResult, choose_file
from .transaction import DEFAULT_TIMEOUT, Downloader, download

__all__ = [
    "DEFAULT_TIMEOUT", "DiskError", "DownloadBusy", "DownloadCancelled", "DownloadError", "DownloadInterrupted",
    "DownloadJob", "DownloadPlan", "DownloadProgress", "DownloadQueue", "DownloadResult", "Downloader",
    "HashMismatch", "IntegrityError", "NoMatchingFile", "NotAModelFile", "SizeMismatch", "choose_file", "download",
]
