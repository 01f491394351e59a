"""Stand-in for ``comfy.utils``: ``ProgressBar`` (with the global hook ComfyUI's server sets) and
``load_torch_file``, which here reads a safetensors header instead of tensors."""

from __future__ import annotations

import json
import struct

PROGRESS_BAR_HOOK = None


def set_progress_bar_global_hook(function) -> None:
    global PROGRESS_BAR_HOOK
    PROGRESS_BAR_HOOK = function


class ProgressBar:
    def __init__(self, total, node_id=None):
        self.total = total
        self.current = 0
        self.hook = PROGRESS_BAR_HOOK
        self.node_id = node_id

    def update_absolute(self, value, total=None, preview=None):
        if total is not None:
            self.total = total
        if value > self.total:
            value = self.total
        self.current = value
        if self.hook is not None:
            self.hook(self.current, self.total, preview, node_id=self.node_id)

    def update(self, value):
        self.update_absolute(self.current + value)


def load_torch_file(ckpt, safe_load=False, device=None, return_metadata=False):
    """The tensor names and shapes of a safetensors file (ComfyUI returns the tensors themselves)."""
    with open(ckpt, "rb") as fh:
        (length,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(length))
    metadata = header.pop("__metadata__", None)
    state = {"__file__": str(ckpt), **header}
    return (state, metadata) if return_metadata else state
