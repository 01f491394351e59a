"""Resolve a library of 1,000 model files against the fake Civitai: batched POSTs vs one GET per file.

Prints, from one run: HTTP requests and wall time of the batched resolve (target <= 12 requests), the
same for one GET /model-versions/by-hash/:hash per file, and the update check's requests. The fake
server is on 127.0.0.1, so wall times here are mostly our own overhead; against civitai.com every
request also pays a round trip (the estimate line uses --rtt). Run: python bench/bench_resolve.py
(``--quick``: 200 files).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, help="model files in the library (default 1000, --quick 200)")
    parser.add_argument("--quick", action="store_true", help="a library of 200 files")
    parser.add_argument("--versions", type=int, default=4, help="versions per model; older ones are installed")
    parser.add_argument("--rtt", type=float, default=0.15, help="round trip to civitai.com for the estimate (s)")
    args = parser.parse_args()
    args.files = args.files or (200 if args.quick else 1000)

    from tests.fake_civitai import FakeCivitai

    with tempfile.TemporaryDirectory() as tmp, FakeCivitai(seed_fixtures=False, generated=0) as fake:
        os.environ["CIVITAI_COMPANION_HOME"] = str(Path(tmp) / "state")
        os.environ["CIVITAI_BASE_URL"] = fake.url
        os.environ["CIVITAI_DISABLE_PROGRESS_BARS"] = "1"
        from civitai_companion.api import CivitaiClient
        from civitai_companion.library.hash_cache import HashCache
        from civitai_companion.library import entries_for_paths, scan
        from civitai_companion.library.resolve import UnknownCache

        library = Path(tmp) / "loras"
        library.mkdir()
        started = time.perf_counter()
        shas = []
        n_models = -(-args.files // args.versions)
        for m in range(n_models):
            model = fake.add_model(name=f"Bench Model {m}", versions=args.versions, file_sizes=(1024,))
            for index, version in enumerate(model["modelVersions"]):
                if len(shas) == args.files:
                    break
                f = version["files"][0]
                (library / f"m{m}_v{index}.safetensors").write_bytes(fake.file_bytes(f["id"]))
                shas.append(f["hashes"]["SHA256"])
        print(f"library: {len(shas)} files of {n_models} models, built in {time.perf_counter() - started:.1f} s")

        cache = HashCache(Path(tmp) / "hashes.sqlite")
        scan(entries_for_paths([library]), cache=cache, sidecars=False, updates=False,
             unknown_cache=UnknownCache(Path(tmp) / "u0.sqlite"))  # warm the hash cache: time the resolve only

        fake.clear_requests()
        started = time.perf_counter()
        report = scan(entries_for_paths([library]), cache=cache, sidecars=False, updates=False,
                      unknown_cache=UnknownCache(Path(tmp) / "u1.sqlite"), client=CivitaiClient())
        batched_time = time.perf_counter() - started
        batched = len(fake.requests_to("api"))
        assert report.count("resolved") == len(shas), report.count("resolved")

        fake.clear_requests()
        client = CivitaiClient(cache_ttl=0)
        started = time.perf_counter()
        singles = [client.version_by_hash(sha) for sha in shas]
        single_time = time.perf_counter() - started
        single = len(fake.requests_to("api"))
        assert all(v.id for v in singles)

        fake.clear_requests()
        started = time.perf_counter()
        report = scan(entries_for_paths([library]), cache=cache, sidecars=False, updates=True,
                      unknown_cache=UnknownCache(Path(tmp) / "u2.sqlite"))
        full_time = time.perf_counter() - started
        update_requests = len(fake.requests_to("api", path_prefix="/api/v1/models"))
        with_updates = sum(1 for e in report.entries if e.newer is not None)

    print(f"batched resolve : {batched:5d} requests  {batched_time:7.2f} s  (target <= {args.files // 100 + 2} requests)")
    print(f"one GET per file: {single:5d} requests  {single_time:7.2f} s")
    print(f"ratio           : {single / batched:5.0f}x fewer requests, {single_time / batched_time:5.1f}x faster here")
    print(f"at {args.rtt * 1000:.0f} ms per round trip: about {batched * args.rtt:.1f} s vs {single * args.rtt:.0f} s")
    print(f"with update check: +{update_requests} GET /models?ids= requests, {full_time:.2f} s in all; "
          f"{with_updates} files have a newer version")
    return 0


if __name__ == "__main__":
    sys.exit(main())
