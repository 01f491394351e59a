"""Local preview images, served only from inside the layout's model folders.

The route takes a SHA-256, never a path; the path comes from the library index. Even so, the file must
resolve (symlinks followed) to a place inside one of the model folders: an index row or a preview link
pointing elsewhere on the disk is refused, so the route can never read an arbitrary file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .routes import ApiError, ApiResponse

MAX_PREVIEW_BYTES = 32 * 1024 * 1024
_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp", ".gif": "image/gif"}


def _hex64(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text)


def model_roots(layout: Any) -> list[str]:
    """Every model folder of the layout, as real paths."""
    roots = []
    for paths in layout.scan_folders().values():
        for path in paths:
            real = os.path.normcase(os.path.realpath(path))  # Windows paths compare without case
            if real not in roots:
                roots.append(real)
    return roots


def inside(path: str | os.PathLike, roots: list[str]) -> bool:
    """``path`` (symlinks resolved) lies inside one of ``roots``."""
    real = os.path.normcase(os.path.realpath(path))
    return any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def preview_response(service: Any, sha256: str) -> ApiResponse:
    if not _hex64(sha256 or ""):
        raise ApiError(400, "bad_request", "a preview is asked for by the model file's SHA-256 (64 hex digits)")
    row = service.library_view.by_sha256(sha256.upper())
    if not row or not row.get("path"):
        raise ApiError(404, "not_found", "no file with that SHA-256 in the library")
    roots = model_roots(service.layout())
    model_path = Path(row["path"])
    candidates = []
    if isinstance(row.get("preview"), str) and row["preview"]:
        candidates.append(Path(row["preview"]))
    from ..library.sidecars import existing_previews

    candidates.extend(existing_previews(model_path))
    refused = False
    for candidate in candidates:
        if ".." in candidate.parts or not candidate.is_absolute():
            refused = True
            continue
        if candidate.suffix.lower() not in _TYPES or not candidate.is_file():
            continue
        if not inside(candidate, roots):
            refused = True
            continue
        try:
            with open(candidate, "rb") as fh:
                data = fh.read(MAX_PREVIEW_BYTES + 1)
        except OSError:
            continue
        if len(data) > MAX_PREVIEW_BYTES:
            continue
        return ApiResponse(200, raw=data, content_type=_TYPES[candidate.suffix.lower()],
                           headers={"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"})
    if refused:
        raise ApiError(403, "outside_model_folders", "the preview is outside the model folders")
    raise ApiError(404, "not_found", "this model file has no preview")
