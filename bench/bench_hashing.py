"""Benchmark of civitai_companion.library.hashing: prints figures measured side by side in one run (not a test).

    python bench/bench_hashing.py [--quick] [--size-mib 2048] [--files 16 --file-mib 256]
                                  [--rescan-files 10000] [--repeat 3] [--dir DIR]

(a) SHA-256 of one big file, ours vs hashlib.file_digest; (b) all six kinds in one pass vs six separate
passes; (c) a scan of many large files, all workers vs one thread, with peak memory measured in a fresh
child process; (d) a rescan of many small unchanged files with a warm cache (bytes hashed must be 0).

The page cache cannot be dropped without root, so every file is read once before it is timed: the
figures are for warm files (CPU-bound hashing, the worst case for overlapping reads with hashing).
Timings are the best of ``--repeat`` runs, with ours and the reference alternated, because other
processes on the machine add noise. Temporary files go under ``--dir`` (default: the system temp dir)
and are deleted at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from civitai_companion.library.hash_cache import HashCache  # noqa: E402
from civitai_companion.library.hash_batch import hash_files  # noqa: E402
from civitai_companion.library.hashing import ALL_KINDS, hash_file  # noqa: E402

MIB = 1024 * 1024


def make_model(path: Path, size: int, block: bytes) -> Path:
    """A safetensors-shaped file (so AutoV3 has work to do) of ``size`` bytes from a repeated random block."""
    header = json.dumps({"__metadata__": {"format": "pt"}}).encode()
    header += b" " * (-len(header) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header)
        left = size - 8 - len(header)
        while left > 0:
            f.write(block[: min(left, len(block))])
            left -= len(block)
    return path


def reference_sha256(path: Path) -> str:
    with open(path, "rb") as f:
        if hasattr(hashlib, "file_digest"):
            return hashlib.file_digest(f, "sha256").hexdigest()
        h, buf = hashlib.sha256(), bytearray(2**18)  # what file_digest does on 3.11+
        view = memoryview(buf)
        while n := f.readinto(buf):
            h.update(view[:n])
        return h.hexdigest()


def best_of(repeat: int, *jobs):
    """Run the jobs in turn ``repeat`` times; the best wall time of each."""
    best = [float("inf")] * len(jobs)
    for _ in range(repeat):
        for i, job in enumerate(jobs):
            start = time.perf_counter()
            job()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def rate(nbytes: int, seconds: float) -> str:
    return f"{nbytes / seconds / MIB:8.0f} MiB/s"


CHILD = """
import json, resource, sys, time, tracemalloc
sys.path.insert(0, sys.argv[1])
from civitai_companion.library.hash_batch import hash_files
paths, workers = json.loads(sys.argv[2]), int(sys.argv[3])
tracemalloc.start()
start = time.perf_counter()
result = hash_files(paths, workers=workers) if workers else None
seconds = time.perf_counter() - start
peak = tracemalloc.get_traced_memory()[1]
try:  # VmHWM is this program's own peak; ru_maxrss on Linux also remembers the parent's size at fork
    hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
except (OSError, StopIteration):
    hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "traced_peak": peak, "maxrss_kib": hwm,
                  "bytes": result.stats.bytes_hashed if result else 0,
                  "failed": result.stats.files_failed if result else 0}))
"""


def child_scan(paths: list[Path], workers: int) -> dict:
    """hash_files in a fresh process, so its peak RSS is the scan's own (workers=0: import only)."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(ROOT), json.dumps([str(p) for p in paths]), str(workers)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout)


def bench_big_file(tmp: Path, size: int, block: bytes, repeat: int) -> None:
    path = make_model(tmp / "big.safetensors", size, block)
    reference_sha256(path)  # warm the page cache
    print(f"\n(a) SHA-256 of one {size // MIB} MiB file (warm page cache), best of {repeat}")
    ref, ours, ours_seq = best_of(
        repeat,
        lambda: reference_sha256(path),
        lambda: hash_file(path, ["SHA256"]),
        lambda: hash_file(path, ["SHA256"], threads=0),
    )
    print(f"    hashlib.file_digest            {rate(size, ref)}")
    print(f"    hash_file (default)            {rate(size, ours)}   ratio {ref / ours:.3f}  (target >= 0.95)")
    print(f"    hash_file (threads=0)          {rate(size, ours_seq)}   ratio {ref / ours_seq:.3f}")

    print(f"\n(b) all six kinds of the same file, best of {repeat}")
    one_pass, one_pass_seq, separate = best_of(
        repeat,
        lambda: hash_file(path),
        lambda: hash_file(path, threads=0),
        lambda: [hash_file(path, [kind], threads=0) for kind in ALL_KINDS],
    )
    print(f"    one pass (default threads)     {rate(size, one_pass)}  {one_pass:7.2f} s")
    print(f"    one pass (threads=0)           {rate(size, one_pass_seq)}  {one_pass_seq:7.2f} s")
    print(f"    six separate passes            {rate(size, separate)}  {separate:7.2f} s")
    print(f"    separate / one pass: {separate / one_pass:.2f}x (default), {separate / one_pass_seq:.2f}x (threads=0)")
    path.unlink()


def bench_scan(tmp: Path, files: int, file_size: int, block: bytes, repeat: int) -> None:
    folder = tmp / "scan"
    folder.mkdir()
    paths = []
    for i in range(files):  # rotate the block so no two files are equal
        paths.append(make_model(folder / f"m{i:03d}.safetensors", file_size, block[i:] + block[:i]))
    for path in paths:
        reference_sha256(path)
    workers = os.cpu_count() or 1
    total = files * file_size
    print(f"\n(c) scan of {files} x {file_size // MIB} MiB, all six kinds, no cache, best of {repeat}")
    base = child_scan([], 0)
    best = {1: None, workers: None}
    for _ in range(repeat):
        for w in best:
            run = child_scan(paths, w)
            assert run["failed"] == 0 and run["bytes"] == total, run
            if best[w] is None or run["seconds"] < best[w]["seconds"]:
                best[w] = run
    one, many = best[1], best[workers]
    for label, run in (("workers=1", one), (f"workers={workers}", many)):
        extra = (run["maxrss_kib"] - base["maxrss_kib"]) / 1024
        print(f"    {label:12s} {rate(total, run['seconds'])}  {run['seconds']:7.2f} s"
              f"   peak RSS {run['maxrss_kib'] / 1024:6.1f} MiB (+{extra:.1f} over a bare import),"
              f" traced peak {run['traced_peak'] / MIB:.1f} MiB")
    speedup = one["seconds"] / many["seconds"]
    print(f"    parallel speed-up: {speedup:.2f}x on {workers} CPUs (target >= 1.8 on 2 cores)")
    shutil.rmtree(folder)


def bench_rescan(tmp: Path, count: int) -> None:
    folder = tmp / "small"
    folder.mkdir()
    for i in range(count):
        (folder / f"f{i:05d}.bin").write_bytes(i.to_bytes(4, "little") * 1024)
    paths = sorted(folder.iterdir())
    db = tmp / "hashes.sqlite"
    print(f"\n(d) {count} small files (4 KiB), all six kinds, cache {db.name}")
    with HashCache(db) as cache:
        start = time.perf_counter()
        first = hash_files(paths, cache=cache)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        again = hash_files(paths, cache=cache)
        warm = time.perf_counter() - start
    with HashCache(db) as cache:  # as a new process would: fresh connection
        start = time.perf_counter()
        fresh = hash_files(paths, cache=cache)
        fresh_time = time.perf_counter() - start
    runs = (("first scan", cold, first), ("rescan", warm, again), ("rescan, new cache", fresh_time, fresh))
    for label, seconds, res in runs:
        s = res.stats
        print(f"    {label:18s} {seconds:7.2f} s   bytes hashed {s.bytes_hashed:>10}   from cache {s.files_cached:>6}"
              f"   hashed {s.files_hashed:>6}   failed {s.files_failed}")
    ok = again.stats.bytes_hashed == 0 and fresh.stats.bytes_hashed == 0
    print(f"    zero bytes hashed on rescan: {'yes' if ok else 'NO'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: 256 MiB, 4 x 64 MiB, 1000 files")
    parser.add_argument("--size-mib", type=int)
    parser.add_argument("--files", type=int)
    parser.add_argument("--file-mib", type=int)
    parser.add_argument("--rescan-files", type=int)
    parser.add_argument("--repeat", type=int)
    parser.add_argument("--dir", type=Path, help="where to write temporary files")
    args = parser.parse_args(argv)
    defaults = (256, 4, 64, 1000, 2) if args.quick else (2048, 16, 256, 10000, 3)
    for name, value in zip(("size_mib", "files", "file_mib", "rescan_files", "repeat"), defaults):
        if getattr(args, name) is None:
            setattr(args, name, value)
    need = max(args.size_mib, args.files * args.file_mib) * MIB
    tmp = Path(tempfile.mkdtemp(prefix="civitai-hash-bench-", dir=args.dir))
    free = shutil.disk_usage(tmp).free
    if free < need * 1.1:
        shutil.rmtree(tmp)
        print(f"not enough disk space in {tmp.parent}: need {need // MIB} MiB, have {free // MIB} MiB", file=sys.stderr)
        return 1
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, temp dir {tmp}")
    block = os.urandom(16 * MIB)
    try:
        bench_big_file(tmp, args.size_mib * MIB, block, args.repeat)
        bench_scan(tmp, args.files, args.file_mib * MIB, block, args.repeat)
        bench_rescan(tmp, args.rescan_files)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
