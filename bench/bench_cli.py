"""How long ``civitai-companion --help`` and an argument error take, beside ``python -c pass``.

Both figures come from the same run on the same machine, so the ratio and the difference (our own start-up
cost) mean something on a busy machine too. The target: ``--help`` and argument errors within 100 ms.
Run: ``python bench/bench_cli.py [--runs N]``. Prints the imports that cost most with ``--imports``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    "python -c pass (baseline)": ["-c", "pass"],
    "civitai-companion --help": ["-m", "civitai_companion", "--help"],
    "civitai-companion show abc (argument error)": ["-m", "civitai_companion", "show", "abc"],
    "civitai-companion download --help": ["-m", "civitai_companion", "download", "--help"],
}


# An installed package has its bytecode compiled; so do we (into a private folder, warmed up first) even
# where PYTHONDONTWRITEBYTECODE is set, or every run would measure the compiler.
PYCACHE = tempfile.mkdtemp(prefix="bench-cli-pycache-")
ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
       "PYTHONPYCACHEPREFIX": PYCACHE, "CIVITAI_BASE_URL": "http://127.0.0.1:9"}


def _once(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=ENV, check=False)
    return time.perf_counter() - start


def _heaviest_imports(limit: int = 10) -> list[tuple[int, str]]:
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "civitai_companion", "--help"], cwd=ROOT,
                          capture_output=True, text=True, check=False, env=ENV)
    rows = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    return sorted(rows, reverse=True)[:limit]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each command, interleaved (default 15)")
    parser.add_argument("--imports", action="store_true", help="also list the imports that cost most")
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for argv in CASES.values():  # warm-up: bytecode written, files in the page cache
        _once(argv)
    for _ in range(args.runs):  # interleaved, so a busy moment hurts every case alike
        for name, argv in CASES.items():
            times[name].append(_once(argv))
    base = statistics.median(times["python -c pass (baseline)"])
    print(f"{'command':48} {'median':>9} {'× baseline':>11} {'over baseline':>14}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:48} {median * 1000:7.1f} ms {median / base:10.2f}× {(median - base) * 1000:11.1f} ms")
    worst = max(statistics.median(v) for n, v in times.items() if "baseline" not in n)
    print(f"slowest: {worst * 1000:.1f} ms (target ≤ 100 ms)")
    if args.imports:
        print("\nheaviest imports of --help (cumulative µs):")
        for micros, name in _heaviest_imports():
            print(f"{micros:>10}  {name}")
    shutil.rmtree(PYCACHE, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
