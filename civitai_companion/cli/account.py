"""Commands about the user's account: ``me`` (whose token is in use) and ``token`` (save it safely)."""

from __future__ import annotations

import argparse
import sys

from .common import make_client
from .output import print_fields, print_json


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("me", parents=[common], help="show the account your API token belongs to")
    p.set_defaults(func=cmd_me)
    p = sub.add_parser(
        "token",
        parents=[common],
        help="save your API token (read from a prompt or stdin) in a file only you can read",
        description="Reads an API key from a hidden prompt (or stdin when piped), checks it against Civitai, "
        "and saves it with mode 0600 in the user config dir. CIVITAI_API_TOKEN still wins when set.",
    )
    p.add_argument("--no-check", action="store_true", help="save without asking Civitai whether the key works")
    p.add_argument("--forget", action="store_true", help="delete the saved token file")
    p.set_defaults(func=cmd_token)


def _account_fields(me: dict) -> list[tuple[str, object]]:
    return [("username", me.get("username")), ("id", me.get("id")), ("tier", me.get("tier")), ("status", me.get("status"))]


def cmd_me(args: argparse.Namespace) -> int:
    from ..api import AuthRequired

    client = make_client(args)
    if not client.token:
        raise AuthRequired("no API token", hint="set CIVITAI_API_TOKEN or run 'civitai-companion token'")
    me = client.me()
    if args.json:
        print_json(me)
    else:
        print_fields(_account_fields(me))
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from .. import config

    path = config.token_file()
    if args.forget:
        try:
            path.unlink()
            removed = True
        except FileNotFoundError:
            removed = False
        if args.json:
            print_json({"path": str(path), "removed": removed})
        else:
            print(f"removed {path}" if removed else "no saved token")
        return 0
    if sys.stdin.isatty():
        import getpass

        token = getpass.getpass("Civitai API key (hidden): ")
    else:
        token = sys.stdin.readline()
    token = token.strip()
    if not token:
        raise ValueError("no token given")
    me = None
    if not args.no_check:
        from ..api import AuthRequired, CivitaiClient

        try:
            me = CivitaiClient(base_url=args.base_url, token=token,
                               base_url_name="--base-url" if args.base_url else None).me()
        except AuthRequired as exc:  # the key just typed is to blame, not a variable or the saved file
            exc.hint = "the key was not saved; copy it again from your Civitai account settings"
            raise
    saved = config.save_token(token)
    who = f" for {me.get('username')}" if me and me.get("username") else ""
    if args.json:
        print_json({"path": str(saved), "username": me.get("username") if me else None})
    else:
        print(f"saved{who} in {saved} (readable by you only)")
    return 0
