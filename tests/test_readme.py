"""README.md's two newcomer commands stay true: CI runs the same test command, the main command works."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from civitai_companion.cli import build_parser, main

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


def test_readme_main_command_runs_against_a_civitai(fake_civitai, capsys):
    main_command, _ = quick_start_commands()
    cli_part = main_command.split("civitai-companion", 2)[-1]
    code = main(shlex.split(cli_part))
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.splitlines()[0].startswith("ID") and len(out.splitlines()) > 1


def test_every_command_the_readme_names_exists():
    parser = build_parser()
    commands = set(parser._subparsers._group_actions[0].choices)
    named = set(re.findall(r"civitai-companion ([a-z]+)", README))
    assert named and named <= commands, named - commands
