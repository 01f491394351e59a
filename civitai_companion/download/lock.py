"""One download per target path: a thread lock in this process, an ``O_EXCL`` lock file for others."""

from __future__ import annotations

import errno
import logging
import os
import socket
import threading
import time
from pathlib import Path

from .errors import DownloadBusy, DownloadCancelled

log = logging.getLogger(__name__)


class PathLock:
    """One download per target path: a thread lock in this process and an O_EXCL lock file for others.

    The lock avoids wasted work, it does not guarantee correctness: the SHA-256 check does. A lock
    file whose process is gone (same machine) or older than ``stale_after`` seconds is taken over.
    """

    _guard = threading.Lock()
    _locks: dict[str, list] = {}  # path -> [lock, users]

    def __init__(
        self,
        path: Path,
        *,
        wait: float = 0.0,
        stale_after: float = 6 * 3600.0,
        poll: float = 0.2,
        cancel: threading.Event | None = None,
    ):
        self.path = Path(path)
        self.cancel = cancel
        self.lock_file = self.path.with_name(self.path.name + ".lock")
        self.wait, self.stale_after, self.poll = wait, stale_after, poll
        self._key = os.path.normcase(os.path.abspath(self.path))
        self._entry: list | None = None
        self._token = f"{socket.gethostname()} {os.getpid()} {threading.get_ident()} {time.time()}"

    def __enter__(self) -> "PathLock":
        with self._guard:
            entry = self._locks.setdefault(self._key, [threading.Lock(), 0])
            entry[1] += 1
        self._entry = entry
        while not entry[0].acquire(timeout=self.poll):  # another thread downloads this path: wait for it
            if self.cancel is not None and self.cancel.is_set():
                self._forget_entry()
                raise DownloadCancelled("download cancelled while waiting for another download of the same file")
        try:
            self._acquire_file()
        except BaseException:
            self._release_thread()
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            with open(self.lock_file, encoding="utf-8") as fh:
                mine = fh.read() == self._token
            if mine:
                self.lock_file.unlink()
        except OSError:
            pass
        self._release_thread()

    def _release_thread(self) -> None:
        entry = self._entry
        if entry is None:
            return
        entry[0].release()
        self._forget_entry()

    def _forget_entry(self) -> None:
        entry, self._entry = self._entry, None
        if entry is None:
            return
        with self._guard:
            entry[1] -= 1
            if entry[1] == 0 and self._locks.get(self._key) is entry:
                del self._locks[self._key]

    def _acquire_file(self) -> None:
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fd = os.open(self.lock_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                if self._stale():
                    log.info("taking over stale lock %s", self.lock_file)
                    try:
                        self.lock_file.unlink()
                    except FileNotFoundError:
                        pass
                    continue
                if time.monotonic() >= deadline:
                    raise DownloadBusy(
                        f"another download of {self.path.name} is running",
                        hint=f"wait for it to finish, or delete {self.lock_file.name} if no download is running",
                    ) from None
                time.sleep(self.poll)
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(self._token)
            return

    def _stale(self) -> bool:
        try:
            age = time.time() - self.lock_file.stat().st_mtime
            with open(self.lock_file, encoding="utf-8") as fh:
                parts = fh.read().split()
        except FileNotFoundError:
            return True
        except OSError:
            return False
        if age > self.stale_after:
            return True
        if len(parts) >= 2 and parts[0] == socket.gethostname() and parts[1].isdigit():
            return not _pid_alive(int(parts[1]))
        return len(parts) < 2 and age > 60  # an unreadable, old lock file


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process holds the thread lock, so a file naming us is left over
    if os.name != "posix":
        return True  # os.kill(pid, 0) would terminate the process on Windows; rely on the lock's age
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError as exc:
        return exc.errno != errno.ESRCH
    return True
