"""``civitai-companion``: the command line. Each command group lives in its own module with a
``register(subparsers, common)`` function; this module only builds the parser and turns every failure
into one line on stderr and a non-zero exit code."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
from collections.abc import Iterator, Sequence

from .. import __version__
from .common import UsageError, settle_host
from .common import base_url as base_url_type

# Command groups, in the order their commands appear in --help.
COMMAND_MODULES = ("search", "library", "download", "account", "ui")

LOGGER = "civitai_companion"  # logging is imported when a command runs, not for --help


def _columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` says it, without importing shutil (and the
    compression modules it pulls in) for every ``--help`` and usage error."""
    import os

    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return 80


class _Formatter(argparse.HelpFormatter):
    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None):
        super().__init__(prog, indent_increment, max_help_position, width if width is not None else _columns() - 2)


class _Parser(argparse.ArgumentParser):
    """Usage errors are one line too (``error: ...``), like every other failure; exit code 2 as argparse's."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"error: {see_help(message, self.prog)}\n")


def see_help(message: object, prog: str) -> str:
    """A usage error in one line, then where the usage is explained."""
    text = " ".join(str(message).split())
    return f"{text}{' ' if text.endswith(('?', '.')) else '; '}see {prog} --help"


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
    common.add_argument("--base-url", metavar="URL", type=base_url_type,
                        help="Civitai site to use (default: $CIVITAI_BASE_URL)")
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
    import logging

    log = logging.getLogger(LOGGER)
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


def error_text(exc: BaseException) -> str:
    """One line for a failure: our own errors as they are, an OS error as "PATH what is wrong"."""
    if isinstance(exc, OSError) and not hasattr(exc, "hint") and exc.errno is not None:
        from ..library.hashing import error_text as os_error_text

        return os_error_text(exc)
    return _one_line(exc)


def _debug_details() -> None:
    import logging

    logging.getLogger(LOGGER).debug("details", exc_info=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    with _cli_logging(getattr(args, "verbose", 0)):
        try:
            settle_host(args)
            return int(args.func(args) or 0)
        except KeyboardInterrupt as exc:  # a command may say how to pick up where it stopped
            print(f"error: interrupted{': ' + _one_line(exc) if str(exc) else ''}", file=sys.stderr)
            return 130
        except BrokenPipeError:
            return 0
        except UsageError as exc:  # a malformed argument found after parsing: the same exit code as argparse's
            print(f"error: {see_help(exc, f'{parser.prog} {args.command}')}", file=sys.stderr)
            return 2
        except (OSError, ValueError) as exc:  # CivitaiError is an OSError, BadRequest also a ValueError
            print(f"error: {error_text(exc)}", file=sys.stderr)
            _debug_details()
            return 1
        except Exception as exc:  # noqa: BLE001 - the last line of defence: a bug is one line too, never a traceback
            print(f"error: unexpected {type(exc).__name__}: {_one_line(exc) or 'no details'}; "
                  "a bug in civitai-companion, run again with -vv to see where", file=sys.stderr)
            _debug_details()
            return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
