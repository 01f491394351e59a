#!/usr/bin/env bash
# Everything the test suite needs on a fresh machine (Python 3.11 and pip): the project's venv, then each
# step in tests/setup.d/ (browser, Gradio environments). Every step is quick when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -e ".[test,app]"
for step in tests/setup.d/*.sh; do
    [ -e "$step" ] || continue
    bash "$step"
done
