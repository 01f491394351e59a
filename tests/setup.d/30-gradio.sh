#!/usr/bin/env bash
# The two Gradio environments the A1111/Forge wiring is tested under, with the web stacks those hosts pin:
# A1111 v1.10 (gradio 3.41.2, FastAPI 0.94 / Starlette 0.26, pydantic 1) and Forge (gradio 4.40.0,
# FastAPI 0.104 / Starlette 0.27, pydantic 2). Quick when both are already there.
set -euo pipefail
cd "$(dirname "$0")/../.."

make_venv() {
    local dir=$1 stamp=$1/.civitai-companion-ready; shift
    local want="$*"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$dir/bin/python" -c "import gradio" 2>/dev/null; then
        "$dir/bin/pip" install -q --no-deps -e . >/dev/null
        return
    fi
    [ -x "$dir/bin/python" ] || python3 -m venv "$dir"
    "$dir/bin/pip" install -q "$@" -e ".[test]" pytest
    echo "$want" > "$stamp"
}

# Pinned as the hosts' own installs resolve them, which also spares pip a long search.
make_venv .venv-gradio3 gradio==3.41.2 gradio_client==0.5.0 fastapi==0.94.0 starlette==0.26.1 pydantic==1.10.27 \
    httpx==0.24.1 httpcore==0.15.0 h11==0.12.0 anyio==3.7.1 websockets==11.0.3 huggingface_hub==0.36.2 numpy==1.26.2
make_venv .venv-gradio4 gradio==4.40.0 gradio_client==1.2.0 fastapi==0.104.1 starlette==0.27.0 pydantic==2.8.2 \
    httpx==0.24.1 httpcore==0.15.0 h11==0.12.0 anyio==3.7.1 websockets==12.0 huggingface_hub==0.26.2 numpy==1.26.2
