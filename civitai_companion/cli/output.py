"""Printing for the CLI: JSON documents for machines, aligned tables for people."""

from __future__ import annotations

import json
import shutil
import sys
from typing import Any, Collection, Sequence


def print_json(document: Any) -> None:
    json.dump(document, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return " ".join(str(value).split())


def cut(text: str, width: int, *, left: bool = False) -> str:
    """``text`` in ``width`` characters, ``…`` marking the cut; ``left`` keeps the end (a path's file
    name) and starts at a ``/`` when one is in reach, so no folder name is shown half."""
    if len(text) <= width:
        return text
    if not left:
        return text[: max(1, width - 1)] + "…"
    start = len(text) - max(1, width - 1)
    tail = text[start:]
    slash = tail.find("/")
    if text[start - 1] != "/" and 0 < slash < len(tail) - 1:  # the tail starts inside a folder name
        tail = tail[slash:]
    return "…" + tail


KEEP_WIDTH = 30  # a cut column keeps this much while another, wider one can give room


def _fit(widths: list[int], headers: Sequence[str], total: int, shrink: int | None) -> None:
    """Narrow ``widths`` to ``total``: column ``shrink`` first, then the widest others (one long error
    message must not squeeze a file name to nothing), then ``shrink`` down to its header."""
    over = sum(widths) + 2 * (len(widths) - 1) - total
    if over <= 0 or not widths:
        return
    col = shrink if shrink is not None else max(range(len(widths)), key=widths.__getitem__)

    def take(i: int, floor: int) -> None:
        nonlocal over
        step = max(0, min(over, widths[i] - max(floor, len(headers[i]))))
        widths[i] -= step
        over -= step

    take(col, KEEP_WIDTH)
    for floor in (KEEP_WIDTH, 12):
        for i in sorted((i for i in range(len(widths)) if i != col), key=widths.__getitem__, reverse=True):
            take(i, floor)
    take(col, 0)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, shrink: int | None = None,
                cut_left: Collection[int] = ()) -> None:
    """An aligned table fitted to the terminal; column ``shrink`` (default: the widest) is cut to fit,
    from the left for the columns in ``cut_left`` (paths, whose useful part is the file name)."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    _fit(widths, headers, shutil.get_terminal_size((120, 24)).columns, shrink)

    def line(values: Sequence[str]) -> str:
        return "  ".join(cut(v, w, left=i in cut_left).ljust(w) for i, (v, w) in enumerate(zip(values, widths)))

    lines = [line(headers).rstrip()] + [line(row).rstrip() for row in cells]
    sys.stdout.write("\n".join(lines) + "\n")


def print_fields(pairs: Sequence[tuple[str, Any]]) -> None:
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
