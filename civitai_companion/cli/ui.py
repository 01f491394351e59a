"""``ui``: the Companion app in the browser, served standalone (no A1111, Forge or ComfyUI needed)."""

from __future__ import annotations

import argparse
import os

from .common import add_host_options

# The same as app.server.DEFAULT_PORT: importing the server here would load the web stack for --help.
DEFAULT_PORT = 7865


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "ui",
        parents=[common],
        help="open the Companion app (search, downloads, library, settings) in your browser",
        description="Serves the app at http://127.0.0.1:PORT/ until Ctrl-C. Downloads left running resume the "
        "next time it starts. --host/--root say whose model folders downloads go to.",
    )
    add_host_options(p)
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT}; 0 picks one)")
    p.add_argument("--listen", action="store_true", help="accept connections from other machines (binds 0.0.0.0)")
    p.add_argument("--open", action="store_true", help="open the app in the default browser")
    p.set_defaults(func=cmd_ui)


def cmd_ui(args: argparse.Namespace) -> int:
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise OSError('the app needs its extra: pip install "civitai-companion[app]"') from None
    if not 0 <= args.port <= 65535:
        raise ValueError(f"not a port: {args.port}")
    if args.base_url:
        os.environ["CIVITAI_BASE_URL"] = args.base_url
    from ..app.server import serve

    return serve(host=args.host, root=args.root, address="0.0.0.0" if args.listen else "127.0.0.1",
                 port=args.port, open_browser=args.open)
