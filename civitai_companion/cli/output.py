"""Printing for the CLI: JSON documents for machines, aligned tables for people."""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Collection, Sequence


def print_json(document: object) -> None:
    import json

    json.dump(document, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


KEEP_WIDTH = 30  # a description column keeps half of this while another, wider one can give room


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return " ".join(str(value).split())


def _char_width(ch: str) -> int:
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0  # accents, variation selectors, zero-width joiners
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def width(text: str) -> int:
    """Columns ``text`` takes in a terminal: an emoji or a CJK character takes two, an accent none."""
    if text.isascii():
        return len(text)
    return sum(_char_width(ch) for ch in text)


def _take(text: str, room: int, *, from_end: bool) -> str:
    """The longest start (or end) of ``text`` that fits in ``room`` columns."""
    chars = reversed(text) if from_end else iter(text)
    kept: list[str] = []
    used = 0
    for ch in chars:
        w = _char_width(ch)
        if used + w > room:
            break
        kept.append(ch)
        used += w
    return "".join(reversed(kept)) if from_end else "".join(kept)


def cut(text: str, room: int, *, left: bool = False) -> str:
    """``text`` in ``room`` columns, ``…`` marking the cut; ``left`` keeps the end (a path's file
    name) and starts at a ``/`` when one is in reach, so no folder name is shown half."""
    if width(text) <= room:
        return text
    if not left:
        return _take(text, max(1, room - 1), from_end=False) + "…"
    tail = _take(text, max(1, room - 1), from_end=True)
    start = len(text) - len(tail)
    slash = tail.find("/")
    if text[start - 1] != "/" and 0 < slash < len(tail) - 1:  # the tail starts inside a folder name
        tail = tail[slash:]
    return "…" + tail


def pad(text: str, room: int) -> str:
    return text + " " * max(0, room - width(text))


def _is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _path_floor(values: Sequence[str]) -> int:
    """A path column never gets narrower than its longest file name (with ``…/`` before it)."""
    floor = 0
    for value in values:
        name = value.rstrip("/").rsplit("/", 1)[-1]
        floor = max(floor, width(value) if name == value else width(name) + 2)
    return floor


def _fit(widths: list[int], floors: list[int], order: Sequence[int], total: int) -> None:
    """Narrow the columns in ``order`` (descriptions first, then paths) to ``total``, none below its floor;
    columns not in ``order`` (ids, URLs, hashes) are never cut, and a line too wide for them overflows."""
    over = sum(widths) + 2 * (len(widths) - 1) - total
    for i in order:
        if over <= 0:
            return
        step = max(0, min(over, widths[i] - floors[i]))
        widths[i] -= step
        over -= step


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, shrink: int | None = None,
                cut_left: Collection[int] = (), cuttable: Sequence[int] = ()) -> None:
    """An aligned table. Piped or redirected, every value is printed whole (a cut URL or file name is of
    no use to a script). In a terminal, the description columns ``cuttable`` (and ``shrink``) are cut
    first, on the right; then the path columns ``cut_left`` from the left, never into the file name."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([width(h)] + [width(r[i]) for r in cells]) for i, h in enumerate(headers)]
    descriptions = [i for i in ([*cuttable] + ([shrink] if shrink is not None else [])) if i not in cut_left]
    if _is_terminal():
        floors = [width(h) for h in headers]
        for i in cut_left:
            floors[i] = max(floors[i], _path_floor([r[i] for r in cells]))
        import shutil

        total = shutil.get_terminal_size((120, 24)).columns
        keep = [max(f, min(w, KEEP_WIDTH // 2)) for f, w in zip(floors, widths)]
        by_width = sorted(descriptions, key=widths.__getitem__, reverse=True)
        _fit(widths, keep, by_width, total)  # descriptions first, keeping a little of each
        _fit(widths, floors, by_width, total)  # then down to their headers
        _fit(widths, floors, list(cut_left), total)  # only then paths, never into the file name

    def line(values: Sequence[str]) -> str:
        return "  ".join(pad(cut(v, w, left=i in cut_left), w) for i, (v, w) in enumerate(zip(values, widths)))

    lines = [line(headers).rstrip()] + [line(row).rstrip() for row in cells]
    sys.stdout.write("\n".join(lines) + "\n")


def print_fields(pairs: Sequence[tuple[str, object]]) -> None:
    width = max((len(k) for k, _ in pairs), default=0)
    for key, value in pairs:
        if value in (None, "", []):
            continue
        if isinstance(value, (list, tuple)):
            value = ", ".join(str(v) for v in value)
        sys.stdout.write(f"{key.ljust(width)}  {value}\n")


def human_size(num_bytes: float | None) -> str:
    if num_bytes is None:
        return "-"
    size = float(num_bytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"
