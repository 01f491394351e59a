"""The repository folder as ComfyUI loads it from custom_nodes/: cheap, harmless elsewhere, loud when broken."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.comfy_support import NODE_IDS, ROOT

# How ComfyUI 0.8's nodes.load_custom_node imports a pack folder: a module named after the folder's path.
LOAD_LIKE_COMFYUI = """
import importlib.util, json, sys
folder = sys.argv[1]
name = folder.replace(".", "_x_")
spec = importlib.util.spec_from_file_location(name, folder + "/__init__.py")
module = importlib.util.module_from_spec(spec)
sys.modules[name] = module
for hidden in sys.argv[2:]:
    sys.modules[hidden] = None
spec.loader.exec_module(module)
heavy = sorted(m for m in ("folder_paths", "comfy", "server", "torch", "numpy", "PIL", "aiohttp", "requests")
               if sys.modules.get(m) is not None)
print(json.dumps({"nodes": sorted(module.NODE_CLASS_MAPPINGS), "web": module.WEB_DIRECTORY, "heavy": heavy}))
"""


def load_in_subprocess(tmp_path, *hidden: str) -> tuple[dict, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", LOAD_LIKE_COMFYUI, str(ROOT), *hidden], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


def test_importing_the_pack_outside_comfyui_defines_the_nodes_and_imports_nothing_heavy(tmp_path):
    found, stderr = load_in_subprocess(tmp_path)
    assert set(found["nodes"]) == NODE_IDS and found["web"] == "./web"
    assert found["heavy"] == []  # no ComfyUI module, no torch, not even requests: the nodes import them when run
    assert stderr == ""


def test_a_missing_dependency_is_one_log_line_and_no_crash(tmp_path):
    found, stderr = load_in_subprocess(tmp_path, "nh3")
    assert found["nodes"] == []
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "nh3" in lines[0] and "requirements.txt" in lines[0]


def test_only_the_entry_script_is_under_web_directory():
    """ComfyUI imports every .js there as an extension: the app itself comes from the pack's static route."""
    assert sorted(p.relative_to(ROOT / "web").as_posix() for p in (ROOT / "web").rglob("*") if p.is_file()) == [
        "civitai_companion.js"]


def test_pyproject_carries_comfy_registry_fields_and_requirements_match():
    import tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    comfy = data["tool"]["comfy"]
    assert comfy["PublisherId"] and comfy["DisplayName"] == "Civitai Companion" and comfy["Icon"]
    assert data["project"]["urls"]["Repository"]
    requirements = [line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
                    if line.strip() and not line.startswith("#")]
    assert requirements == data["project"]["dependencies"]


def test_the_example_workflow_uses_only_known_nodes_and_holds_references_as_airs():
    from civitai_companion.refs import parse_ref

    examples = sorted((ROOT / "examples").glob("*.json"))
    assert examples
    for example in examples:
        graph = json.loads(example.read_text(encoding="utf-8"))
        classes = {node["class_type"] for node in graph.values()}
        assert classes <= NODE_IDS | {"PreviewAny", "CheckpointLoaderSimple", "KSampler", "EmptyLatentImage", "VAEDecode",
                                      "SaveImage", "CLIPTextEncode"}
        for node in graph.values():
            reference = node["inputs"].get("reference")
            if reference:
                assert reference.startswith(("urn:air:", "civitai:")) and parse_ref(reference).version_id
