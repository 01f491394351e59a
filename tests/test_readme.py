"""README.md's two newcomer commands stay true: CI runs the same test command, the main command works."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import requests

from civitai_companion.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    return [b.strip() for b in blocks[:2]]


def test_ci_runs_the_readme_test_command():
    _main_command, test_command = quick_start_commands()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci.splitlines()


def test_readme_main_command_serves_the_app_against_a_civitai(fake_civitai, tmp_path):
    """The Quick start's command as a user runs it (only the port is a free one, not 7865): it prints its
    URL, the page and a search answer there, and Ctrl-C stops it cleanly."""
    main_command, _ = quick_start_commands()
    assert 'pip install -q -e ".[app]"' in main_command
    cli_part = shlex.split(main_command.split("civitai-companion", 2)[-1])
    assert cli_part[0] == "ui"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVITAI_")}
    env.update(CIVITAI_BASE_URL=fake_civitai.url, CIVITAI_COMPANION_HOME=str(tmp_path / "state"),
               XDG_CONFIG_HOME=str(tmp_path / "config"), NO_PROXY="127.0.0.1,localhost")
    proc = subprocess.Popen([sys.executable, "-m", "civitai_companion", *cli_part, "--port", "0"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert "running at http://127.0.0.1:" in first, first
        url = first.split("running at ", 1)[1].split()[0]
        session = requests.Session()
        session.trust_env = False
        assert "<civitai-companion" in session.get(url, timeout=30).text
        assert session.get(url + "civitai-companion/api/search", params={"limit": 3}, timeout=30).json()["items"]
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "stopped" in out, err


def test_the_readme_api_table_is_the_route_table():
    from civitai_companion.app.routes import build_routes

    section = README.split("### The JSON API", 1)[1].split("\n## ", 1)[0]
    documented = set()
    for cell in re.findall(r"^\| (`[^|]*`(?: · `[^|]*`)*) \|", section, flags=re.M):
        for method, path in re.findall(r"`(GET|POST|PUT|DELETE) ([\w/{}]+)", cell):
            documented.add((method, path))
    actual = {(route.method, route.path) for route in build_routes(object())}
    assert documented == actual


def test_every_command_the_readme_names_exists():
    parser = build_parser()
    commands = set(parser._subparsers._group_actions[0].choices)
    named = set(re.findall(r"civitai-companion ([a-z]+)", README))
    assert named and named <= commands, named - commands
