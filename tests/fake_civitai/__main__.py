"""Run the fake by hand: `python -m tests.fake_civitai --port 8765`."""

from __future__ import annotations

import argparse
import threading

from .server import FakeCivitai


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fake_civitai",
                                     description="Serve a fake Civitai API and storage host until Ctrl-C.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="API port (0 = any free port)")
    parser.add_argument("--storage-port", type=int, default=0, help="storage host port (default: any free port)")
    parser.add_argument("--generated", type=int, default=40, help="how many generated models (default 40)")
    parser.add_argument("--no-fixtures", action="store_true", help="leave out the recorded Civitai models")
    parser.add_argument("--token", default="test-token", help="the API token the fake accepts")
    args = parser.parse_args(argv)
    fake = FakeCivitai(seed_fixtures=not args.no_fixtures, generated=args.generated, host=args.host,
                       port=args.port, storage_port=args.storage_port, token=args.token)
    try:
        fake.start()
    except OSError as exc:
        parser.exit(1, f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}\n")
    print(f"Fake Civitai API at {fake.url} (storage host {fake.storage_url}), {len(fake.models)} models")
    print(f"API token: {fake.token}")
    print(f"Try: CIVITAI_BASE_URL={fake.url} CIVITAI_API_TOKEN={fake.token} civitai-companion search", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("stopping")
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
