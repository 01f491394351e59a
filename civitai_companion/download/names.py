"""File names for downloads: read them from the server, make them safe, and never clobber a user's file.

A file name comes from the network (``Content-Disposition`` or the API's ``files[].name``), so it is
hostile until proven otherwise: ``../../.bashrc``, ``C:\\evil``, ``CON.safetensors``, a right-to-left
override that hides the real extension, or 300 bytes of emoji. :func:`safe_filename` turns any of them
into one harmless component of at most 255 bytes that keeps its extension.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote

MAX_NAME_BYTES = 240  # 255 on every file system, minus room for ".part.json" beside it
MAX_EXT_CHARS = 16
# Our own working files sit beside the target; a downloaded name must never look like one of them.
WORK_SUFFIXES = (".part", ".part.json", ".lock")
_RESERVED_CHARS = re.compile(r'[<>:"|?*\\/]')
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"} | {
    f"{dev}{n}" for dev in ("COM", "LPT") for n in list("0123456789") + ["¹", "²", "³"]
}


def content_disposition_filename(header: str | None) -> str | None:
    """The file name in a ``Content-Disposition`` header: RFC 5987 ``filename*`` first, then ``filename``."""
    if not header:
        return None
    params: dict[str, str] = {}
    for match in re.finditer(r';\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)', ";" + header.split(";", 1)[-1]):
        key, value = match.group(1).lower(), match.group(2).strip()
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params.setdefault(key, value)
    extended = params.get("filename*")
    if extended:
        charset, _, rest = extended.partition("'")
        _lang, _, encoded = rest.partition("'")
        if encoded:
            try:
                name = unquote(encoded, encoding=charset or "utf-8", errors="strict")
            except (LookupError, UnicodeDecodeError):
                name = None
            if name:
                return name
    plain = params.get("filename")
    return plain or None


def _strip_unsafe(text: str) -> str:
    out = []
    for ch in text:
        category = unicodedata.category(ch)
        if category in ("Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"):
            continue  # control, bidi overrides, private use, surrogates, unassigned
        out.append("_" if _RESERVED_CHARS.match(ch) else (" " if category == "Zs" else ch))
    return "".join(out)


def _fit(stem: str, ext: str, limit: int) -> str:
    """Cut ``stem`` (never ``ext``) so that ``stem + ext`` is at most ``limit`` UTF-8 bytes."""
    budget = limit - len(ext.encode("utf-8"))
    encoded = stem.encode("utf-8")
    if len(encoded) > budget:
        stem = encoded[: max(0, budget)].decode("utf-8", errors="ignore").rstrip(" .")
    return stem + ext


def safe_filename(name: str | None, *, fallback: str = "download.bin") -> str:
    """One safe file name: the last path component, cleaned; ``fallback`` when nothing usable is left."""
    text = unicodedata.normalize("NFC", str(name or ""))
    text = re.split(r"[\\/]", text)[-1]  # "../../x" and "C:\\dir\\x" both become "x"
    text = re.sub(r" {2,}", " ", _strip_unsafe(text)).strip()
    stem, dot, ext = text.rpartition(".")
    if not dot or len(ext) > MAX_EXT_CHARS or not ext.isalnum():
        stem, ext = text, ""
    else:
        ext = "." + ext
    stem = stem.strip().lstrip(".").rstrip(". ").strip()  # no hidden files, no Windows-trimmed endings
    if not stem or set(stem) <= {".", "_", " "}:
        if not ext or name == fallback:
            return fallback if name != fallback else "download.bin"
        stem = "_"
    if stem.split(".")[0].strip().upper() in _WINDOWS_RESERVED:
        stem = "_" + stem
    if (stem + ext).lower().endswith(WORK_SUFFIXES):
        stem, ext = stem + ext + "_", ""
    return _fit(stem, ext, MAX_NAME_BYTES)


def in_folder(folder: os.PathLike | str, path: os.PathLike | str) -> bool:
    """True when ``path`` is an entry directly in ``folder``: one plain name whose parent resolves to the
    folder. The entry itself is not followed: a file is only ever ``os.replace``d over it, and a symlink
    the user put there (models on another drive) is theirs to keep or replace, not a way out."""
    path = Path(path)
    return path.name not in ("", ".", "..") and path.parent.resolve() == Path(folder).resolve()


def numbered(name: str, n: int) -> str:
    """``name (n).ext`` for ``n`` >= 1, within the 255-byte limit."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    else:
        ext = "." + ext
    return _fit(stem, f" ({n}){ext}", MAX_NAME_BYTES)


def candidate_names(name: str, limit: int = 1000):
    """``name``, then ``name (1).ext``, ``name (2).ext``, ... (bounded)."""
    yield name
    for n in range(1, limit):
        yield numbered(name, n)
