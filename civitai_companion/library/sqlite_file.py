"""What the hash cache and the library index share: an SQLite file of ours that never makes its caller
fail. A damaged file is moved aside and rebuilt; one that cannot be opened turns the store off."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Callable, TypeVar

_T = TypeVar("_T")


def move_database_aside(path: Path, aside: Path) -> list[tuple[Path, OSError]]:
    """Move an SQLite file and its -wal/-shm companions to ``aside`` (or delete what cannot be moved);
    the files that could be neither, with why."""
    stuck = []
    for suffix in ("", "-wal", "-shm"):
        src = Path(f"{path}{suffix}")
        try:
            if src.exists():
                os.replace(src, Path(f"{aside}{suffix}"))
        except OSError as move_error:
            try:
                src.unlink()
            except OSError:
                stuck.append((src, move_error))
    return stuck


class GuardedSQLite:
    """Subclasses set ``path``, ``_lock``, ``_disabled``, ``_warned`` and give ``_connect()``/``close()``."""

    LABEL = "database"            # "hash cache", "library index": how messages name the file
    OFF = "it is not used"        # what follows when the file cannot be opened at all
    REBUILT = "starting a new one"
    ALIEN = ("no such",)          # OperationalError texts that mean "a file of another shape under our name"
    UNAVAILABLE_NOTE = ""

    @property
    def _log(self) -> logging.Logger:  # the subclass's module logger: its messages are the store's own
        return logging.getLogger(type(self).__module__)

    def _run(self, operation: Callable[[object], _T], default: _T) -> _T:
        """Run one database operation under the lock; the store never makes its caller fail."""
        import sqlite3

        with self._lock:
            for attempt in range(2):
                if self._disabled:
                    return default
                try:
                    return operation(self._connect())
                except sqlite3.OperationalError as exc:
                    if attempt == 0 and any(marker in str(exc) for marker in self.ALIEN):
                        self._move_aside(exc)
                        continue
                    self._warn(f"{self.LABEL} {self.path} is unavailable for now ({exc}){self.UNAVAILABLE_NOTE}")
                    return default
                except sqlite3.DatabaseError as exc:
                    if attempt:
                        break
                    self._move_aside(exc)
                except OSError as exc:
                    self._warn(f"{self.LABEL} {self.path} cannot be opened ({exc}); {self.OFF}")
                    self._disabled = True
            return default

    def _move_aside(self, exc: Exception) -> None:
        self.close()
        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        self._log.warning("%s %s is damaged (%s); moved it to %s, %s", self.LABEL, self.path, exc, aside.name,
                    self.REBUILT)
        for src, move_error in move_database_aside(self.path, aside):
            self._warn(f"cannot move or delete {src} ({move_error}); {self.OFF}")
            self._disabled = True

    def _warn(self, message: str) -> None:
        self._log.log(logging.DEBUG if self._warned else logging.WARNING, message)
        self._warned = True
