"""Pieces several CLI commands share."""

from __future__ import annotations

import argparse

from ..api import CivitaiClient


def make_client(args: argparse.Namespace) -> CivitaiClient:
    return CivitaiClient(base_url=getattr(args, "base_url", None))


def add_host_options(parser: argparse.ArgumentParser) -> None:
    """``--host {a1111,comfyui,standalone} --root DIR``: which app's folder layout to use."""
    parser.add_argument(
        "--host",
        choices=("a1111", "comfyui", "standalone"),
        default="standalone",
        help="whose folder layout to use (default: standalone)",
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
