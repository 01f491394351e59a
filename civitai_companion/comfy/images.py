"""Preview images for the nodes: Civitai's (or the local sidecar's) picture as a ComfyUI IMAGE, and a
copy in ComfyUI's temp folder so the node can show it after it runs.

torch, numpy and Pillow come with ComfyUI; they are imported only when a node runs.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

log = logging.getLogger(__name__)

BLANK_SIZE = 64
PREVIEW_WIDTH = 450  # Civitai's image hosts size images by a /width=N/ path segment


def sized_url(url: str, width: int = PREVIEW_WIDTH) -> str:
    """Ask Civitai's image host for a small copy rather than the original (often many megabytes)."""
    parts = url.split("/")
    for i, part in enumerate(parts):
        if part.startswith("width=") or part == "original=true":
            parts[i] = f"width={width}"
            return "/".join(parts)
    if len(parts) > 1 and "." in parts[-1]:
        return "/".join(parts[:-1] + [f"width={width}", parts[-1]])
    return url


def fetch_preview(client, version, *, max_nsfw_level: int = 1) -> bytes | None:
    """The bytes of the version's first still image at or under the NSFW level; None when there is none
    or it cannot be fetched (a missing preview never fails a node)."""
    from ..library.sidecars import _fetch_image, pick_preview_image, sniff_image_extension

    image = pick_preview_image(version, max_nsfw_level=max_nsfw_level)
    if image is None:
        return None
    try:
        data, content_type = _fetch_image(client.session, sized_url(image.url))
    except Exception as exc:  # noqa: BLE001 - network or HTTP trouble: the node still gives its text outputs
        log.info("preview of version %s not fetched: %s", version.id, exc)
        return None
    return data if sniff_image_extension(data[:16], content_type) else None


def read_local_preview(model_path: Path) -> bytes | None:
    from ..library.sidecars import existing_previews

    for candidate in existing_previews(model_path):
        try:
            return candidate.read_bytes()
        except OSError:
            continue
    return None


def to_image(data: bytes | None):
    """A ComfyUI IMAGE (float32 tensor [1, H, W, 3] in 0..1); a small black one when there is no picture."""
    import io

    import numpy as np
    import torch

    if data:
        try:
            from PIL import Image

            with Image.open(io.BytesIO(data)) as picture:
                array = np.asarray(picture.convert("RGB"), dtype=np.float32) / 255.0
            return torch.from_numpy(array)[None,]
        except Exception as exc:  # noqa: BLE001 - a broken image is no reason to fail the node
            log.info("preview image not readable: %s", exc)
    return torch.zeros((1, BLANK_SIZE, BLANK_SIZE, 3), dtype=torch.float32)


def save_for_ui(data: bytes | None) -> list[dict]:
    """The picture written once into ComfyUI's temp folder, in the shape a node's ``ui.images`` takes."""
    if not data:
        return []
    import folder_paths

    from ..library.sidecars import sniff_image_extension

    ext = sniff_image_extension(data[:16]) or ".png"
    name = f"civitai-preview-{hashlib.sha256(data).hexdigest()[:16]}{ext}"
    folder = Path(folder_paths.get_temp_directory())
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        if not target.is_file():
            target.write_bytes(data)
    except OSError as exc:
        log.info("preview not shown: %s", exc)
        return []
    return [{"filename": name, "subfolder": "", "type": "temp"}]
