"""Run by AUTOMATIC1111 / Forge before start (and by ComfyUI-Manager after it installs the pack).

A1111 does not read requirements.txt: each missing requirement is installed with the WebUI's own
``launch.run_pip``. When everything is present this only asks ``launch.is_installed`` and does nothing.
Without A1111's ``launch`` module (ComfyUI-Manager, a plain Python) it installs nothing and says so.
"""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# import name -> pip requirement (requirements.txt names the same packages)
REQUIREMENTS = {
    "requests": "requests>=2.28",
    "tqdm": "tqdm>=4.60",
    "platformdirs": "platformdirs>=3",
    "blake3": "blake3>=0.3",
    "nh3": "nh3>=0.2.14",
}


def requirements(path=os.path.join(HERE, "requirements.txt")):
    """Package names from requirements.txt, so this file never disagrees with it."""
    try:
        with open(path, encoding="utf-8") as fh:
            lines = [line.split("#")[0].strip() for line in fh]
    except OSError:
        return dict(REQUIREMENTS)
    found = {}
    for line in lines:
        if line:
            name = re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0]
            found[name.lower().replace("-", "_")] = line
    return found or dict(REQUIREMENTS)


def missing(is_installed):
    return [spec for name, spec in requirements().items() if not is_installed(name)]


def main():
    try:
        import launch
    except ImportError:
        print("civitai-companion: not inside AUTOMATIC1111/Forge; install requirements.txt with pip", file=sys.stderr)
        return
    for spec in missing(launch.is_installed):
        launch.run_pip(f'install "{spec}"', f"{spec} for Civitai Companion")


if __name__ == "__main__":
    main()
