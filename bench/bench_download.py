"""Download throughput, memory and resume cost against the fake Civitai on loopback.

    python bench/bench_download.py            # 1 GiB
    python bench/bench_download.py --quick    # 64 MiB
    python bench/bench_download.py --size-mib 256 --repeat 5

Figures, all measured in the same run against the same server (a child process, so the GIL of the
server never slows the client being measured):

* our download (metadata, 307, stream to ``.part`` with SHA-256 on the fly, verify, fsync, rename)
  against ``curl -o`` of the same signed URL (no verification, no fsync), as a throughput ratio
  (target >= 0.8); without curl, a plain ``requests`` streaming loop is the baseline instead;
* peak memory above the baseline while downloading (RSS sampled every 5 ms; target < 64 MiB);
* a connection cut at 50% and resumed with ``Range``: bytes transferred / file size (target <= 1.05).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MIB = 1024 * 1024


# -- the server, in a child process -------------------------------------------------------------------------
def serve(path: str) -> None:
    """Child: run the fake with one model whose file is ``path``; obey ``fault``/``clear`` lines on stdin."""
    from tests.fake_civitai import FakeCivitai

    fake = FakeCivitai(seed_fixtures=False, generated=0).start()
    model = fake.add_model(name="Bench Checkpoint", type="Checkpoint", file_sizes=(4096,))
    version_id = model["modelVersions"][0]["id"]
    file = fake.add_file(version_id, name="bench-model.safetensors", path=path, primary=True,
                         metadata={"format": "SafeTensor", "size": "full", "fp": "fp16"})
    print(json.dumps({"url": fake.url, "version_id": version_id, "file_id": file["id"],
                      "sha256": file["hashes"]["SHA256"]}), flush=True)
    for line in sys.stdin:
        words = line.split()
        if words[:1] == ["fault"]:
            fake.set_fault(version_id, words[1], times=1, **({"after_bytes": int(words[2])} if len(words) > 2 else {}))
        elif words[:1] == ["clear"]:
            fake.clear_faults()
        print("ok", flush=True)
    fake.stop()


class Server:
    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve", str(path)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd=ROOT)
        self.info = json.loads(self.proc.stdout.readline())

    def command(self, text: str) -> None:
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "ok"

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


# -- measuring ------------------------------------------------------------------------------------------------
def rss() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class PeakMemory:
    """Samples RSS in a thread; ``extra`` is the peak above the level when sampling started."""

    def __enter__(self):
        self.base = self.peak = rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())
        self.extra = self.peak - self.base


def signed_url(base: str, version_id: int) -> str:
    import requests

    response = requests.get(f"{base}/api/download/models/{version_id}", allow_redirects=False, timeout=30)
    return response.headers["Location"]


def baseline_curl(url: str, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["curl", "-s", "-f", "-o", str(out), url], check=True)
    return time.perf_counter() - start


def baseline_requests(url: str, out: Path) -> float:
    import requests

    start = time.perf_counter()
    with requests.get(url, stream=True, timeout=60) as response, open(out, "wb") as fh:
        for chunk in response.iter_content(MIB):
            fh.write(chunk)
    return time.perf_counter() - start


def ours(base: str, version_id: int, root: Path, **options):
    from civitai_companion.api import CivitaiClient
    from civitai_companion.download import Downloader

    downloader = Downloader(CivitaiClient(base_url=base), host="standalone", root=root, sidecars=False,
                            hash_cache=False, **options)
    start = time.perf_counter()
    with PeakMemory() as memory:
        result = downloader.download(version_id)
    return time.perf_counter() - start, memory.extra, result


def settle(*paths: Path) -> None:
    """Delete the outputs and flush dirty pages, so each run starts with the same disk state."""
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists():
            path.unlink()
    if hasattr(os, "sync"):
        os.sync()


def make_file(path: Path, size: int) -> None:
    block = os.urandom(MIB)
    with open(path, "wb") as fh:
        for i in range(size // MIB):
            fh.write(block[i % 251:] + block[: i % 251])  # every MiB differs, cheaply
        fh.write(os.urandom(size % MIB))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="64 MiB instead of 1 GiB")
    parser.add_argument("--size-mib", type=int, help="file size in MiB (default 1024)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side; the median counts (default 3)")
    parser.add_argument("--dir", help="work folder (default: a new temporary folder, removed afterwards)")
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0
    size = (args.size_mib or (64 if args.quick else 1024)) * MIB
    work = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="civitai-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    source = work / "source.safetensors"
    print(f"file: {size / MIB:.0f} MiB in {work}; python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    make_file(source, size)
    server = Server(source)
    base, version_id = server.info["url"], server.info["version_id"]
    curl = shutil.which("curl")
    label = "curl -o" if curl else "requests streaming (curl not found)"
    try:
        baseline_times, our_times, memories = [], [], []
        for run in range(args.repeat):
            out = work / "baseline.bin"
            settle(out)
            url = signed_url(base, version_id)
            baseline_times.append(baseline_curl(url, out) if curl else baseline_requests(url, out))
            settle(out, work / "models")
            seconds, extra, result = ours(base, version_id, work / "models")
            assert result.sha256 == server.info["sha256"] and result.size == size
            our_times.append(seconds)
            memories.append(extra)
            print(f"  run {run + 1}: {label} {size / MIB / baseline_times[-1]:7.0f} MiB/s   "
                  f"ours {size / MIB / seconds:7.0f} MiB/s   peak extra memory {extra / MIB:5.1f} MiB")
        settle(work / "models", work / "baseline.bin")
        base_t, our_t = statistics.median(baseline_times), statistics.median(our_times)
        ratio = base_t / our_t
        print(f"baseline ({label}, no verification): {size / MIB / base_t:.0f} MiB/s (median of {args.repeat})")
        print(f"ours (SHA-256 verified, fsynced):      {size / MIB / our_t:.0f} MiB/s (median of {args.repeat})")
        print(f"throughput ratio ours/baseline:        {ratio:.2f}  (target >= 0.80) {'OK' if ratio >= 0.8 else 'BELOW TARGET'}")
        peak = max(memories)
        print(f"peak extra memory:                     {peak / MIB:.1f} MiB  (target < 64 MiB) {'OK' if peak < 64 * MIB else 'OVER'}")

        server.command(f"fault drop {size // 2}")
        seconds, _, result = ours(base, version_id, work / "models", max_resumes=1)
        assert result.sha256 == server.info["sha256"] and result.resumed
        factor = result.transferred / size
        print(f"cut at 50% and resumed with Range:     {factor:.3f} x the file size transferred "
              f"(target <= 1.05) {'OK' if factor <= 1.05 else 'OVER'}")
        settle(work / "models")
    finally:
        server.close()
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
