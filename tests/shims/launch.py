"""Test stand-in for A1111's ``launch`` module as ``install.py`` sees it: is_installed and run_pip.

``installed`` is the set of distribution names that count as present; ``pip_calls`` records each
``run_pip(command, desc)`` instead of running pip.
"""

from __future__ import annotations

installed: set[str] = set()
pip_calls: list[tuple[str, str]] = []


def is_installed(package: str) -> bool:
    return package.lower().replace("-", "_") in installed


def run_pip(command: str, desc: str | None = None, live: bool = False) -> str:
    pip_calls.append((command, desc or ""))
    return ""
