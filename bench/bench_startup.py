"""What the project adds to a host app's start: the import of its entry point, timed in fresh processes.

ComfyUI: the repository folder loaded the way ComfyUI 0.8 loads a custom-node pack (a module named after
the folder, ``__init__.py`` executed), with ComfyUI's ``server.PromptServer`` present so the app's routes
are registered too, against a baseline pack of one trivial node loaded the same way in the same run.
ComfyUI's own modules are played by the test shims (what ComfyUI has already imported costs the pack
nothing). Bytecode is cached as in a host's own folder (the first start, which compiles, is not
counted). Each figure is the median of ``--rounds`` fresh interpreters, the pack and the baseline
alternating. Target: under 100 ms more than the baseline. Run: python bench/bench_startup.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

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


def comfyui_figures(rounds: int) -> list[tuple[str, str]]:
    """(label, figure) rows for ComfyUI."""
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        baseline = base / "custom_nodes" / "baseline_pack"
        baseline.mkdir(parents=True)
        (baseline / "__init__.py").write_text(BASELINE_PACK, encoding="utf-8")
        load_once(ROOT, base)  # a first start compiles and caches the bytecode; not counted
        load_once(baseline, base)
        pack_ms, base_ms, last = [], [], {}
        for _ in range(rounds):
            last = load_once(ROOT, base)
            pack_ms.append(last["ms"])
            base_ms.append(load_once(baseline, base)["ms"])
    pack, plain = statistics.median(pack_ms), statistics.median(base_ms)
    return [
        ("ComfyUI: pack import (median of %d)" % rounds, f"{pack:.1f} ms ({last['nodes']} nodes, {last['routes']} routes)"),
        ("ComfyUI: baseline one-node pack", f"{plain:.1f} ms"),
        ("ComfyUI: added to start (target < 100 ms)", f"{pack - plain:.1f} ms"),
        ("ComfyUI: heavy modules imported", "requests" if last["requests"] else "none (no requests, no torch)"
         if not last["torch"] else "torch"),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="fresh interpreters per figure (default 15)")
    parser.add_argument("--quick", action="store_true", help="5 rounds")
    args = parser.parse_args()
    rounds = 5 if args.quick else max(1, args.rounds)
    rows = comfyui_figures(rounds)
    width = max(len(label) for label, _ in rows)
    for label, figure in rows:
        print(f"{label:<{width}}  {figure}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
