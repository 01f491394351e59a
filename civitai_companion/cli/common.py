"""Pieces several CLI commands share."""

from __future__ import annotations

import argparse

from ..api import CivitaiClient


def make_client(args: argparse.Namespace) -> CivitaiClient:
    return CivitaiClient(base_url=getattr(args, "base_url", None))


def add_host_options(parser: argparse.ArgumentParser) -> None:
    """``--host {a1111,forge,comfyui,standalone} --root DIR``: which app's folder layout to use."""
    parser.add_argument(
        "--host",
        choices=("a1111", "forge", "comfyui", "standalone"),
        default="standalone",
        help="whose folder layout to use (default: standalone); forge is A1111's layout, and its sidecars "
        "may say 'Flux' as sd version",
    )
    parser.add_argument("--root", metavar="DIR", help="the app's folder (webui root, ComfyUI root, or models root)")


def positive_int(text: str) -> int:
    """argparse type for counts and limits."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive number")
    return value


def id_list(text: str) -> list[int]:
    """argparse type for ``--ids 1,2,3``."""
    ids = [part.strip() for part in text.split(",") if part.strip()]
    if not ids or not all(part.isascii() and part.isdigit() and len(part) <= 10 and int(part) > 0 for part in ids):
        raise argparse.ArgumentTypeError(f"expected model ids separated by commas, like 123,456: {text!r}")
    return [int(part) for part in ids]
