"""Civitai Companion as a ComfyUI custom-node pack (this folder cloned into ``custom_nodes/``).

ComfyUI imports this file as a package and reads the three names below. Inside ComfyUI it also puts
the app's routes on ComfyUI's server. Anywhere else (pytest, pip, A1111/Forge, which clone the same
folder) importing it only defines the names: no ComfyUI import, no network, no hashing. A missing
dependency gives one log line naming the fix, and ComfyUI starts without these nodes.
"""

import importlib.util
import logging
import os
import sys

WEB_DIRECTORY = "./web"
NODE_CLASS_MAPPINGS = {}
NODE_DISPLAY_NAME_MAPPINGS = {}
APP = None  # inside ComfyUI: the app's service, started by its first request

_log = logging.getLogger("civitai_companion")
_HERE = os.path.dirname(os.path.abspath(__file__))
_NEEDS = ("requests", "platformdirs", "blake3", "nh3", "tqdm", "yaml")  # requirements.txt, by import name


def _core():
    """The core package from this folder under its own name, so its log lines read ``civitai_companion.*``."""
    loaded = sys.modules.get("civitai_companion")
    if loaded is not None:
        return loaded
    spec = importlib.util.spec_from_file_location(
        "civitai_companion", os.path.join(_HERE, "civitai_companion", "__init__.py"),
        submodule_search_locations=[os.path.join(_HERE, "civitai_companion")])
    module = importlib.util.module_from_spec(spec)
    sys.modules["civitai_companion"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop("civitai_companion", None)
        raise
    return module


def _load() -> None:
    global APP
    missing = [name for name in _NEEDS if importlib.util.find_spec(name) is None]
    if missing:
        _log.error("Civitai Companion: missing Python packages %s; install them with: pip install -r %s",
                   ", ".join(missing), os.path.join(_HERE, "requirements.txt"))
        return
    _core()
    from civitai_companion.comfy import NODE_CLASS_MAPPINGS as nodes, NODE_DISPLAY_NAME_MAPPINGS as names

    NODE_CLASS_MAPPINGS.update(nodes)
    NODE_DISPLAY_NAME_MAPPINGS.update(names)
    server = sys.modules.get("server")
    if getattr(getattr(server, "PromptServer", None), "instance", None) is not None:
        from civitai_companion.comfy.server import setup

        APP = setup(server.PromptServer.instance)


try:
    _load()
except Exception as exc:  # noqa: BLE001 - a broken pack must never take ComfyUI down
    _log.error("Civitai Companion not loaded: %s", exc)
