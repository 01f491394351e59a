"""Test stand-in for A1111's ``modules.shared_items``: list refreshes the Settings dropdowns use."""

from __future__ import annotations

calls: list[str] = []


def refresh_vae_list() -> None:
    calls.append("vae")


def refresh_checkpoints() -> None:
    calls.append("checkpoints")
