"""``civitai-companion``: the command line. Each command group lives in its own module with a
``register(subparsers, common)`` function; this module only builds the parser and turns every failure
into one line on stderr and a non-zero exit code."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import sys
from typing import Iterator, Sequence

from .. import __version__

# Command groups, in the order their commands appear in --help.
COMMAND_MODULES = ("search", "library", "download", "account", "ui")

log = logging.getLogger("civitai_companion")


class _Parser(argparse.ArgumentParser):
    """Usage errors are one line too (``error: ...``), like every other failure; exit code 2 as argparse's."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"error: {' '.join(message.split())} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="civitai-companion",
        description="Search Civitai, identify local model files by hash, and download verified files.",
        epilog="Environment: CIVITAI_BASE_URL (default https://civitai.com), CIVITAI_API_TOKEN (or CIVITAI_API_KEY; "
        "else the file saved by 'civitai-companion token'), CIVITAI_COMPANION_HOME (state and caches), "
        "CIVITAI_COMPANION_MODELS (the standalone layout's models folder), CIVITAI_COMPANION_UNKNOWN_TTL (seconds "
        "a file Civitai did not know is remembered as unknown, default 86400), CIVITAI_DISABLE_PROGRESS_BARS.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = _Parser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON document to stdout")
    common.add_argument("--base-url", metavar="URL", help="Civitai site to use (default: $CIVITAI_BASE_URL)")
    common.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        module.register(sub, common)
    return parser


@contextlib.contextmanager
def _cli_logging(verbosity: int) -> Iterator[None]:
    """Show our warnings on stderr while a command runs, then put the logger back as it was
    (``main`` is also called in-process by tests and scripts)."""
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    saved = (log.handlers[:], log.level, log.propagate)
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False
    try:
        yield
    finally:
        log.handlers[:], log.level, log.propagate = saved


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    with _cli_logging(getattr(args, "verbose", 0)):
        try:
            return int(args.func(args) or 0)
        except KeyboardInterrupt as exc:  # a command may say how to pick up where it stopped
            print(f"error: interrupted{': ' + _one_line(exc) if str(exc) else ''}", file=sys.stderr)
            return 130
        except BrokenPipeError:
            return 0
        except (OSError, ValueError) as exc:  # CivitaiError is an OSError, BadRequest also a ValueError
            print(f"error: {_one_line(exc)}", file=sys.stderr)
            log.debug("details", exc_info=True)
            return 1
        except Exception as exc:  # noqa: BLE001 - the last line of defence: a bug is one line too, never a traceback
            print(f"error: unexpected {type(exc).__name__}: {_one_line(exc) or 'no details'} "
                  "(a bug in civitai-companion; run again with -vv to see where)", file=sys.stderr)
            log.debug("details", exc_info=True)
            return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
