"""Test stand-in for A1111's ``modules.paths``: the webui's folders.

In the real webui ``data_path`` is ``--data-dir`` (default: the webui folder) and ``models_path`` is
``<data_path>/models`` (Forge: ``--models-dir`` overrides it). ``reset(data_dir)`` points them at a temp dir.
"""

from __future__ import annotations

import os
import tempfile

script_path = data_path = models_path = extensions_dir = extensions_builtin_dir = ""


def reset(data_dir: str | os.PathLike, *, models_dir: str | os.PathLike | None = None) -> None:
    global script_path, data_path, models_path, extensions_dir, extensions_builtin_dir
    script_path = data_path = os.path.abspath(os.fspath(data_dir))
    models_path = os.path.abspath(os.fspath(models_dir)) if models_dir else os.path.join(data_path, "models")
    extensions_dir = os.path.join(data_path, "extensions")
    extensions_builtin_dir = os.path.join(script_path, "extensions-builtin")


reset(os.environ.get("A1111_SHIM_DATA") or os.path.join(tempfile.gettempdir(), "a1111-shim"))
