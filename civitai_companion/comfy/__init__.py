"""ComfyUI's side of the project: the Civitai nodes and the glue that serves the app inside ComfyUI.

Importing this package imports no ComfyUI module and nothing heavy; ComfyUI modules are imported when
a node runs or when :func:`~.server.setup` is called from inside ComfyUI.
"""

from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
