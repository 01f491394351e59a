#!/usr/bin/env bash
# The browser tests drive Debian's own Chromium with Playwright for Python. Playwright's downloaded browsers
# are never used (`playwright install` is not run): the tests pass executable_path=/usr/bin/chromium.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core fonts-liberation
fi
if ! .venv/bin/python -c "import playwright" 2>/dev/null; then
    .venv/bin/pip install -q "playwright>=1.40"
fi
