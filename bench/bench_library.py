"""Benchmark of the library index: prints figures measured side by side in one run (not a test).

    python bench/bench_library.py [--quick] [--files 10000] [--failing 1000] [--hash-files 8 --hash-mib 128]

(a) A rescan of an unchanged, resolved library against the fake Civitai, with and without the update
check, next to the first scan and to a rescan that may not use the index (the old cost): by-hash
requests must be 0, the update check ceil(models/100) requests, and --no-updates 0 requests.
(b) ``library --json`` over the same rows: no request, next to the rescan.
(c) A cold scan's hashing (the kinds a scan computes) against ``hashlib.file_digest`` SHA-256 alone,
one worker and all workers, for checkpoints (SHA-256, AutoV1, AutoV2) and LoRAs (+ AutoV3, a second
SHA-256 pass over the tensor bytes), and LoRAs in A1111 whose addnet hash (AutoV3 in full) the WebUI already
has, which seed the cache before a scan there. Files are read once first: warm, CPU-bound figures.
(d) A by-hash batch failure (the fake answers 503) on many files: requests and stderr lines of a
``scan``, next to the same scan against a healthy server.

The fake server runs on 127.0.0.1 in this process; wall times are mostly our own work. Timings are
the best of ``--repeat`` runs because other processes on the machine add noise.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import struct
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MIB = 1024 * 1024


def timed(job):
    started = time.perf_counter()
    result = job()
    return time.perf_counter() - started, result


def cpu_timed(job):
    """(wall s, CPU s of this process, result): on a busy machine the CPU time is the steadier figure."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = job()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def best_of(repeat: int, job) -> tuple[float, object]:
    runs = [timed(job) for _ in range(repeat)]
    return min(runs, key=lambda r: r[0])


def build_library(fake, folder: Path, files: int) -> int:
    """``files`` resolved LoRAs: models of two versions, both installed. Returns the number of models."""
    folder.mkdir(parents=True)
    models = -(-files // 2)
    written = 0
    for m in range(models):
        model = fake.add_model(name=f"Bench Lora {m}", versions=2, file_sizes=(64,), trained_words=[f"w{m}"])
        for v, version in enumerate(model["modelVersions"]):
            if written < files:
                (folder / f"m{m:05}_v{v}.safetensors").write_bytes(fake.file_bytes(version["files"][0]["id"]))
                written += 1
    return models


def bench_rescan(fake, tmp: Path, files: int, repeat: int) -> None:
    from civitai_companion.api import CivitaiClient
    from civitai_companion.cli import main
    from civitai_companion.library import entries_for_paths, scan

    folder = tmp / "loras"
    started = time.perf_counter()
    models = build_library(fake, folder, files)
    print(f"(a) library: {files} files of {models} models, built in {time.perf_counter() - started:.1f} s")

    def run(**options):
        fake.clear_requests()
        took, cpu, report = cpu_timed(lambda: scan(entries_for_paths([folder]), client=CivitaiClient(),
                                                   sidecars=False, folders=[folder], **options))
        by_hash = len(fake.requests_to("api", path_prefix="/api/v1/model-versions/by-hash"))
        return took, report, by_hash, len(fake.requests_to("api")), cpu

    cold, report, cold_hash, cold_all, _cpu = run()
    assert report.count("resolved") == files, report.count("resolved")
    no_index = min((run(index=False) for _ in range(repeat)), key=lambda r: r[0])
    updates = min((run() for _ in range(repeat)), key=lambda r: r[0])
    quiet = min((run(updates=False) for _ in range(repeat)), key=lambda r: r[0])
    assert updates[1].from_index == quiet[1].from_index == files
    want = -(-models // 100)
    print(f"    first scan                      {cold:6.2f} s  {cold_all:4d} requests ({cold_hash} by-hash)")
    print(f"    rescan, index not used          {no_index[0]:6.2f} s  {no_index[3]:4d} requests ({no_index[2]} by-hash)")
    print(f"    rescan                          {updates[0]:6.2f} s  {updates[3]:4d} requests ({updates[2]} by-hash; "
          f"target 0 by-hash, {want} in all)")
    print(f"    rescan --no-updates             {quiet[0]:6.2f} s  {quiet[3]:4d} requests (target 0 requests, < 1 s; "
          f"{quiet[4]:.2f} s CPU)")
    print(f"    --no-updates vs index not used  {no_index[0] / quiet[0]:6.1f}x faster, "
          f"vs first scan {cold / quiet[0]:.1f}x faster")

    def listing():
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(["library", "--json"]) == 0
        return out.getvalue()

    fake.clear_requests()
    listing()  # the command modules' first import is not the listing's cost
    took, cpu, text = min((cpu_timed(listing) for _ in range(repeat)), key=lambda r: r[0])
    rows = len(json.loads(text))
    print(f"(b) library --json, {rows} rows     {took:6.2f} s  {len(fake.requests_to('api')):4d} requests "
          f"(target 0 requests, < 0.5 s; {cpu:.2f} s CPU); {quiet[0] / took:.1f}x faster than the quickest rescan")


def make_model(path: Path, size: int, block: bytes) -> Path:
    header = json.dumps({"__metadata__": {"format": "pt"}}).encode()
    header += b" " * (-len(header) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header)
        left = size - 8 - len(header)
        while left > 0:
            f.write(block[: min(left, len(block))])
            left -= len(block)
    return path


def reference(paths: list[Path]) -> None:
    for path in paths:
        with open(path, "rb") as f:
            hashlib.file_digest(f, "sha256")


def bench_hashing(tmp: Path, count: int, size: int, repeat: int) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from civitai_companion.library.hash_batch import hash_files
    from civitai_companion.library.hashing import scan_kinds

    block = os.urandom(4 * MIB)
    paths = [make_model(tmp / f"big{i}.safetensors", size, block) for i in range(count)]
    reference(paths)  # warm the page cache
    total = count * size
    cores = os.cpu_count() or 1

    def ours(kind: str, workers: int):
        return lambda: hash_files(paths, ["SHA256"], workers=workers, also=lambda _p: scan_kinds(kind))

    def ref_parallel():
        with ThreadPoolExecutor(cores) as pool:
            list(pool.map(lambda p: reference([p]), paths))

    def best(job):  # (wall, cpu) of the fastest of ``repeat`` runs
        return min((cpu_timed(job)[:2] for _ in range(repeat)), key=lambda r: r[0])

    ref1, ref1_cpu = best(lambda: reference(paths))
    refn, _ = best(ref_parallel)
    print(f"(c) {count} x {size // MIB} MiB, {cores} cores; hashlib.file_digest SHA-256: "
          f"{total / ref1 / MIB:.0f} MiB/s on 1 thread, {total / refn / MIB:.0f} MiB/s on {cores} threads "
          f"({ref1 / refn:.2f}x: what this machine's load leaves of {cores} cores)")
    for kind in ("checkpoint", "lora"):
        one, one_cpu = best(ours(kind, 1))
        every, _ = best(ours(kind, cores))
        kinds = "+".join(scan_kinds(kind))
        print(f"    {kind:10} {kinds:34} per core {ref1_cpu / one_cpu:4.2f}x SHA-256 alone by CPU time, "
              f"{ref1 / one:4.2f}x by wall time (target >= 0.9); {cores} workers {ref1 / every:4.2f}x (target >= 1.8)")
    bench_seeded_loras(tmp, paths, ref1, ref1_cpu, repeat)
    for path in paths:
        path.unlink()


def bench_seeded_loras(tmp: Path, paths: list[Path], ref1: float, ref1_cpu: float, repeat: int) -> None:
    """Inside A1111 a scan starts from the WebUI's own LoRA hashes (the addnet hash, AutoV3 in full): the
    cache is seeded with them as before a scan there, and the same cold scan reads each file once."""
    from civitai_companion.library.hash_batch import hash_files
    from civitai_companion.library.hash_cache import HashCache
    from civitai_companion.library.hashing import ADDNET, hash_file, scan_kinds

    addnet = {p: hash_file(p, [ADDNET])[ADDNET] for p in paths}
    runs = []
    for run in range(repeat):
        with HashCache(tmp / f"seeded-{run}.sqlite") as cache:
            cache.put_many([(p, {ADDNET: addnet[p]}, None) for p in paths])
            runs.append(cpu_timed(lambda: hash_files(paths, ["SHA256"], cache=cache, workers=1,
                                                      also=lambda _p: scan_kinds("lora")))[:2])
    one, one_cpu = min(runs)
    print(f"    lora, A1111's addnet hashes known (seeded before the scan) per core {ref1_cpu / one_cpu:4.2f}x "
          f"SHA-256 alone by CPU time, {ref1 / one:4.2f}x by wall time (target >= 0.9)")


def bench_failure(fake, tmp: Path, files: int) -> None:
    from civitai_companion.cli import main
    from tests.fake_civitai import make_safetensors

    folder = tmp / "failing"
    folder.mkdir()
    for i in range(files):
        (folder / f"f{i:05}.safetensors").write_bytes(make_safetensors(4, seed=10_000 + i))

    def scan_cli(*extra):
        err = io.StringIO()
        fake.clear_requests()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(["scan", str(folder), "--no-sidecars", "--no-updates", *extra])
        return code, len(fake.requests_to("api")), err.getvalue().strip().splitlines()

    fake.set_api_fault("/api/v1/model-versions/by-hash", 503, times=None)
    took, (code, failing, lines) = timed(lambda: scan_cli())
    fake.clear_faults()
    _code, healthy, _lines = scan_cli("--refresh")
    print(f"(d) by-hash answering 503, {files} files: {failing} requests (target <= 20), {len(lines)} stderr "
          f"line(s) (target <= 3), exit {code}, {took:.1f} s of bounded back-off; healthy server: {healthy} "
          f"requests; {files / failing:.0f}x fewer than one request per file")
    for line in lines:
        print(f"    {line[:150]}")


def main_(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes: 2,000 files, 4 x 64 MiB")
    parser.add_argument("--files", type=int, help="files in the rescanned library (default 10000)")
    parser.add_argument("--failing", type=int, default=1000, help="files in the batch-failure scan")
    parser.add_argument("--hash-files", type=int, help="files hashed in (c) (default 8)")
    parser.add_argument("--hash-mib", type=int, help="size of each of them in MiB (default 128)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", help="where temporary files go (default: the system temp dir)")
    args = parser.parse_args(argv)
    files = args.files or (2000 if args.quick else 10_000)
    hash_files_n = args.hash_files or (4 if args.quick else 8)
    hash_mib = args.hash_mib or (64 if args.quick else 128)

    from tests.fake_civitai import FakeCivitai

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp, FakeCivitai(seed_fixtures=False, generated=0) as fake:
        tmp = Path(tmp)
        os.environ["CIVITAI_COMPANION_HOME"] = str(tmp / "state")
        os.environ["CIVITAI_BASE_URL"] = fake.url
        os.environ["CIVITAI_DISABLE_PROGRESS_BARS"] = "1"
        bench_rescan(fake, tmp, files, args.repeat)
        bench_hashing(tmp, hash_files_n, hash_mib * MIB, args.repeat)
        bench_failure(fake, tmp, args.failing)
    return 0


if __name__ == "__main__":
    sys.exit(main_())
