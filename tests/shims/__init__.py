"""Host shims for tests: fresh copies of ComfyUI's ``folder_paths``, ``comfy.*``, ``server`` and A1111's ``modules.*``.

Load this file by path (it works with any pytest import mode) and call ``install_comfyui``,
``install_a1111`` or ``install_launch`` with pytest's ``monkeypatch``: the shim modules are put into ``sys.modules`` for one
test only, so code under test can ``import folder_paths`` / ``from modules import shared`` as in the host.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _load(monkeypatch, name: str, path: Path, *, package: bool = False):
    spec = importlib.util.spec_from_file_location(
        name, path, submodule_search_locations=[str(path.parent)] if package else None
    )
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


def install_comfyui(monkeypatch, base: str | os.PathLike):
    """A fresh ``folder_paths`` for a ComfyUI living in ``base``; returns the module."""
    module = _load(monkeypatch, "folder_paths", HERE / "folder_paths.py")
    module.reset(base)
    return module


COMFY_MODULES = ("comfy", "comfy.utils", "comfy.sd", "comfy.model_management", "server")


def install_comfy_modules(monkeypatch):
    """Fresh ``comfy``, ``comfy.utils``, ``comfy.sd``, ``comfy.model_management`` and ``server`` (with a
    ``PromptServer.instance``); returns them by name."""
    package = _load(monkeypatch, "comfy", HERE / "comfy" / "__init__.py", package=True)
    found = {"comfy": package}
    for name in COMFY_MODULES[1:-1]:
        module = _load(monkeypatch, name, HERE / "comfy" / (name.split(".")[1] + ".py"))
        setattr(package, name.split(".")[1], module)
        found[name] = module
    server = _load(monkeypatch, "server", HERE / "server.py")
    server.PromptServer()
    found["server"] = server
    return found


def install_a1111(monkeypatch, data_dir: str | os.PathLike, *, models_dir: str | os.PathLike | None = None):
    """Fresh ``modules``, ``modules.paths``, ``modules.shared`` for a webui in ``data_dir``; returns (shared, paths)."""
    package = _load(monkeypatch, "modules", HERE / "modules" / "__init__.py", package=True)
    paths = _load(monkeypatch, "modules.paths", HERE / "modules" / "paths.py")
    package.paths = paths
    paths.reset(data_dir, models_dir=models_dir)
    shared = _load(monkeypatch, "modules.shared", HERE / "modules" / "shared.py")
    package.shared = shared
    for name in ("script_callbacks", "cache", "ui_extra_networks", "shared_items"):
        setattr(package, name, _load(monkeypatch, f"modules.{name}", HERE / "modules" / f"{name}.py"))
    return shared, paths


def install_launch(monkeypatch, *, installed=()):
    """A fresh ``launch`` module (A1111's, as install.py sees it) with ``installed`` distributions."""
    module = _load(monkeypatch, "launch", HERE / "launch.py")
    module.installed = {name.lower().replace("-", "_") for name in installed}
    return module
