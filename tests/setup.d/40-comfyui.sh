#!/usr/bin/env bash
# What the ComfyUI tests need beside the project: ComfyUI's own aiohttp, and torch/numpy/Pillow for the
# IMAGE outputs (torch pinned to the release ComfyUI 0.8 is tried with; CPU is enough). Quick when present.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! .venv/bin/python -c "import aiohttp, numpy, PIL, torch" 2>/dev/null; then
    .venv/bin/pip install -q "aiohttp>=3.11.8" numpy Pillow "torch==2.13.0"
fi
