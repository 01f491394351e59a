"""Printing for the CLI: JSON documents for machines, aligned tables for people."""

from __future__ import annotations

import json
import shutil
import sys
from typing import Any, Sequence


def print_json(document: Any) -> None:
    json.dump(document, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return " ".join(str(value).split())


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, shrink: int | None = None) -> None:
    """An aligned table fitted to the terminal; column ``shrink`` (default: the widest) is cut to fit."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    total = shutil.get_terminal_size((120, 24)).columns
    over = sum(widths) + 2 * (len(widths) - 1) - total
    if over > 0 and widths:
        col = shrink if shrink is not None else max(range(len(widths)), key=widths.__getitem__)
        widths[col] = max(len(headers[col]), widths[col] - over)
    def fit(text: str, width: int) -> str:
        return text if len(text) <= width else text[: max(1, width - 1)] + "…"
    lines = ["  ".join(fit(h, w).ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines += ["  ".join(fit(c, w).ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
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
