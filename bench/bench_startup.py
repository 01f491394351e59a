"""What the extension adds to a host's start, measured in a fresh interpreter per run.

    python bench/bench_startup.py            # every host this machine can measure
    python bench/bench_startup.py a1111      # one host

Figures (printed, not asserted), each beside a baseline measured in the same run:

* a1111 (under .venv-gradio3, the Gradio A1111 pins; the WebUI's modules are tests/shims/): importing
  scripts/civitai_companion.py as the WebUI does (``-X importtime``, our modules only, since the WebUI has
  Gradio imported already) and building the "Civitai" tab; baseline: a tab of one ``gr.HTML`` built the
  same way. Target: import + tab < 100 ms over the baseline. Also counted: network connections and
  whether the hashing code was even loaded (target: no).
* comfyui (the shims play ComfyUI's modules): the repository folder loaded the way ComfyUI 0.8 loads a
  custom-node pack, with ``server.PromptServer`` present so the app's routes register too; baseline: a pack
  of one trivial node loaded the same way. Bytecode cached as in a host's folder. Target: < 100 ms more.

Each host is one entry in ``HOSTS``: a function returning ``[(label, value, unit, baseline_or_None)]``.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 7

_A1111_PROBE = r"""
import importlib.util, json, socket, sys, tempfile, time
import gradio as gr
from pathlib import Path
root = Path(sys.argv[1])
spec = importlib.util.spec_from_file_location("shims", root / "tests" / "shims" / "__init__.py")
shims = importlib.util.module_from_spec(spec); spec.loader.exec_module(shims)
class Patch:
    setitem = staticmethod(lambda m, k, v: m.__setitem__(k, v))
shims.install_a1111(Patch, tempfile.mkdtemp())
connections = []
real_connect = socket.socket.connect
socket.socket.connect = lambda self, address: (connections.append(address), real_connect(self, address))[1]
started = time.perf_counter()
spec = importlib.util.spec_from_file_location("civitai_companion_script", root / "scripts" / "civitai_companion.py")
spec.loader.exec_module(importlib.util.module_from_spec(spec))
imported = time.perf_counter()
from modules import script_callbacks
script_callbacks.fire_ui_tabs()
script_callbacks.fire_ui_settings()
built = time.perf_counter()
with gr.Blocks(analytics_enabled=False) as baseline:
    gr.HTML("<div></div>")
baseline_done = time.perf_counter()
print("RESULT " + json.dumps({"import": imported - started, "tab": built - imported,
      "baseline_tab": baseline_done - built, "connections": len(connections),
      "hashing_loaded": int("civitai_companion.library.hashing" in sys.modules)}))
"""


def _own_import_us(stderr: str) -> int:
    """Cumulative microseconds of our top-level imports in a ``-X importtime`` report."""
    total = 0
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if match and match.group(3).split(".")[0] == "civitai_companion" and len(match.group(2)) <= 1:
            total += int(match.group(1))
    return total


def a1111() -> list[tuple[str, float, str, float | None]]:
    python = ROOT / ".venv-gradio3" / "bin" / "python"
    if not python.exists():
        raise RuntimeError(".venv-gradio3 is missing: run bash tests/setup.d/30-gradio.sh")
    runs = []
    for _ in range(RUNS):
        done = subprocess.run([str(python), "-X", "importtime", "-c", _A1111_PROBE, str(ROOT)], cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
        result = next((line for line in done.stdout.splitlines() if line.startswith("RESULT ")), None)
        if result is None:
            raise RuntimeError(done.stderr[-2000:])
        runs.append({**json.loads(result[7:]), "own_import_us": _own_import_us(done.stderr)})

    def median(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    return [
        ("import scripts/civitai_companion.py", median("import") * 1000, "ms", None),
        ("  of which civitai_companion.* (-X importtime)", median("own_import_us") / 1000, "ms", None),
        ("build the Civitai tab + settings", median("tab") * 1000, "ms", median("baseline_tab") * 1000),
        ("added to start (import + tab - baseline tab)",
         (median("import") + median("tab") - median("baseline_tab")) * 1000, "ms", 100.0),
        ("network connections at import and tab", max(r["connections"] for r in runs), "", 0),
        ("hashing module loaded at import and tab (1 = yes)", max(r["hashing_loaded"] for r in runs), "", 0),
    ]


# One fresh interpreter: ComfyUI's modules in place first (untimed), then the pack's import (timed).
LOAD_PACK = """
import importlib.util, json, sys, time
sys.path.insert(0, {shims!r})
import aiohttp.web, logging, folder_paths, server
folder_paths.reset({base!r})
server.PromptServer()
folder = {folder!r}
started = time.perf_counter()
spec = importlib.util.spec_from_file_location(folder.replace(".", "_x_"), folder + "/__init__.py")
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
elapsed = time.perf_counter() - started
routes = sum(1 for r in server.PromptServer.instance.routes)
print(json.dumps({{"ms": elapsed * 1000, "nodes": len(module.NODE_CLASS_MAPPINGS), "routes": routes,
                  "requests": "requests" in sys.modules, "torch": "torch" in sys.modules}}))
"""

BASELINE_PACK = '''class Passthrough:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"text": ("STRING", {"default": ""})}}

    RETURN_TYPES = ("STRING",)
    FUNCTION = "run"
    CATEGORY = "baseline"

    def run(self, text):
        return (text,)


NODE_CLASS_MAPPINGS = {"Passthrough": Passthrough}
'''


def load_once(folder: Path, base: Path) -> dict:
    """One fresh interpreter; bytecode is cached (in a private folder) as it is in a host's own folders."""
    code = LOAD_PACK.format(shims=str(ROOT / "tests" / "shims"), base=str(base), folder=str(folder))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
    env["PYTHONPYCACHEPREFIX"] = str(base / "pycache")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=base,
                          env=env)
    if done.returncode != 0:
        raise SystemExit(f"loading {folder} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def comfyui() -> list[tuple[str, float, str, float | None]]:
    """The pack loaded as ComfyUI 0.8 loads it (the shims play ComfyUI), against a one-node baseline pack."""
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        baseline = base / "custom_nodes" / "baseline_pack"
        baseline.mkdir(parents=True)
        (baseline / "__init__.py").write_text(BASELINE_PACK, encoding="utf-8")
        load_once(ROOT, base)  # a first start compiles and caches the bytecode; not counted
        load_once(baseline, base)
        runs, plain = [], []
        for _ in range(RUNS):
            runs.append(load_once(ROOT, base))
            plain.append(load_once(baseline, base)["ms"])
    pack, baseline_ms = statistics.median(r["ms"] for r in runs), statistics.median(plain)
    return [
        ("import the pack (nodes and routes)", pack, "ms", baseline_ms),
        ("added to start (pack - one-node baseline pack)", pack - baseline_ms, "ms", 100.0),
        ("requests or torch imported (1 = yes)", max(int(r["requests"] or r["torch"]) for r in runs), "", 0),
    ]


HOSTS = {"a1111": a1111, "comfyui": comfyui}


def main(argv: list[str]) -> int:
    wanted = argv or list(HOSTS)
    for name in wanted:
        if name not in HOSTS:
            print(f"unknown host {name!r}; choose from {', '.join(HOSTS)}", file=sys.stderr)
            return 2
        try:
            rows = HOSTS[name]()
        except RuntimeError as exc:
            print(f"{name}: not measured: {exc}")
            continue
        print(f"{name} (median of {RUNS} fresh interpreters)")
        for label, value, unit, baseline in rows:
            against = "" if baseline is None else f"   (baseline/target {baseline:.1f}{unit})"
            print(f"  {label:<48} {value:8.1f}{unit}{against}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
