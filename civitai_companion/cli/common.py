"""Pieces several CLI commands share: argument types (a malformed value is a usage error, exit 2),
the client, and which app's layout ``--host``/``--root`` mean.

Nothing here imports ``requests``: ``--help`` and argument errors must stay fast."""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Iterable

HOST_CHOICES = ("a1111", "forge", "comfyui", "standalone")
MAX_ID = 2_147_483_647


class UsageError(ValueError):
    """A malformed argument found after parsing (a reference, a filter value): exit code 2, like argparse's."""


def make_client(args: argparse.Namespace):
    """The client for a command; a ``--base-url`` given on the command line is what its hints blame."""
    from ..api import CivitaiClient

    given = getattr(args, "base_url", None)
    return CivitaiClient(base_url=given, base_url_name="--base-url" if given else None)


def add_host_options(parser: argparse.ArgumentParser) -> None:
    """``--host {a1111,forge,comfyui,standalone} --root DIR``: which app's folder layout to use."""
    parser.add_argument(
        "--host",
        type=choice(HOST_CHOICES, "host"),
        metavar="{" + ",".join(HOST_CHOICES) + "}",
        help="whose folder layout to use (default: told from --root's contents, else standalone); forge is "
        "A1111's layout, and its sidecars may say 'Flux' as sd version",
    )
    parser.add_argument("--root", metavar="DIR", help="the app's folder (webui root, ComfyUI root, or models root)")


def settle_host(args: argparse.Namespace) -> None:
    """Fill in ``args.host`` when it was left out: from what ``--root`` holds, else standalone.

    A WebUI or ComfyUI folder given as ``--root`` must not silently get the standalone layout (new
    ``loras/`` inside a WebUI, a scan that finds a fraction of the files)."""
    if not hasattr(args, "host"):
        return
    if args.host is not None:
        _needs_root(args)
        return
    root = getattr(args, "root", None)
    if not root:
        args.host = "standalone"
        return
    from ..hosts import detect_host

    found = detect_host(root)
    if found is None:
        raise UsageError(
            f"cannot tell which app {root} belongs to: say it with --host a1111, forge, comfyui or standalone"
        )
    args.host, what = found
    print(f"note: {root} looks like {what}; using --host {args.host}", file=sys.stderr)


APP_NAMES = {"a1111": "AUTOMATIC1111", "forge": "Forge", "comfyui": "ComfyUI"}


def _needs_root(args: argparse.Namespace) -> None:
    """Outside the app, ``--host a1111|forge|comfyui`` cannot ask the app where its folders are: say
    which option is missing (the layout's own message speaks to Python callers)."""
    app = APP_NAMES.get(args.host)
    if app is None or getattr(args, "root", None) or args.command not in ("download", "scan", "updates"):
        return
    if getattr(args, "paths", None) or getattr(args, "folder", None) or not (getattr(args, "refs", True)):
        return  # files named, or a folder given: no layout needed
    raise UsageError(f"--host {args.host} needs --root DIR here: the {app} folder or its models folder")


def _suggest(text: str, values: Iterable[str]) -> str | None:
    """The value the user most likely meant: the same letters in another case, else a close spelling."""
    import difflib

    values = list(values)
    squash = lambda s: re.sub(r"[\s_\-.]+", "", s).lower()  # noqa: E731
    for value in values:
        if squash(value) == squash(text):
            return value
    close = difflib.get_close_matches(text.lower(), [v.lower() for v in values], n=1, cutoff=0.75)
    if close:
        return next(v for v in values if v.lower() == close[0])
    return None


def unknown_value(text: str, values: Iterable[str], what: str, *, show_all: bool = True,
                  guess: str | None = None) -> str:
    """``unknown model type 'lora'; did you mean LORA?``, else the values there are."""
    values = list(values)
    message = f"unknown {what} {text!r}"
    guess = guess or _suggest(text, values)
    if guess is not None:
        return f"{message}; did you mean {guess}?"
    if show_all and values:
        return f"{message}; use one of: {', '.join(values)}"
    return message


def choice(values: Iterable[str], what: str):
    """argparse type for a fixed list of values, spelled exactly; a near miss says what was meant."""
    values = tuple(values)

    def parse(text: str) -> str:
        if text in values:
            return text
        raise argparse.ArgumentTypeError(unknown_value(text, values, what))

    parse.__name__ = what
    return parse


def positive_int(text: str) -> int:
    """argparse type for counts and limits."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def civitai_id(what: str):
    """argparse type for a model, version, file or post id: ASCII digits, 1 to 2147483647."""

    def parse(text: str) -> int:
        value = text.strip()
        if not (value.isascii() and value.isdigit()) or len(value) > 10 or not 0 < int(value) <= MAX_ID:
            raise argparse.ArgumentTypeError(f"not a {what} id: {text!r}; ids are positive whole numbers")
        return int(value)

    parse.__name__ = f"{what} id"
    return parse


def id_list(text: str) -> list[int]:
    """argparse type for ``--ids 1,2,3``."""
    ids = [part.strip() for part in text.split(",") if part.strip()]
    if not ids or not all(part.isascii() and part.isdigit() and len(part) <= 10 and 0 < int(part) <= MAX_ID
                          for part in ids):
        raise argparse.ArgumentTypeError(f"expected model ids separated by commas, like 123,456: {text!r}")
    return [int(part) for part in ids]


def nsfw_level(text: str) -> int:
    """argparse type for ``--nsfw-level``: Civitai's levels are bit flags 1..16, combined up to 31."""
    value = positive_int(text)
    if value > 31:
        raise argparse.ArgumentTypeError(f"not an NSFW level: {text}; use 1 PG, 2 PG-13, 4 R, 8 X or 16 XXX")
    return value


def finite_float(text: str) -> float:
    """argparse type for weights: a number, not nan or inf."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a usable number: {text!r}")
    return value


def base_url(text: str) -> str:
    """argparse type for ``--base-url``: an http(s) URL with a host, checked before any request."""
    from urllib.parse import urlsplit

    value = text.strip()
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"not a site address: {text!r}; a site address looks like https://civitai.com")
    return value.rstrip("/")


def job_id(text: str) -> str:
    """argparse type for ``queue --cancel``: a job id as ``queue`` lists them, or ``all``."""
    if text == "all" or re.fullmatch(r"[0-9a-f]{12}", text):
        return text
    raise argparse.ArgumentTypeError(f"not a job id: {text!r}; use an id from 'civitai-companion queue', or all")
