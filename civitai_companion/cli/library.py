"""Commands about local model files: hash, scan, updates, triggers."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .common import add_host_options, finite_float, make_client, nsfw_level, positive_int
from .output import print_fields, print_json, print_table


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("hash", parents=[common], help="compute all six Civitai hashes of files")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--workers", type=positive_int, help="files hashed at once (default: CPU count)")
    p.set_defaults(func=cmd_hash)

    p = sub.add_parser("scan", parents=[common], help="identify the model files in a library by hash")
    _library_options(p)
    p.add_argument("--no-sidecars", action="store_true", help="write no .civitai.info, preview or <name>.json")
    p.add_argument("--no-previews", action="store_true", help="write sidecars but download no preview images")
    p.add_argument("--replace-previews", action="store_true",
                   help="download Civitai's preview even where the model already has one, which is kept as "
                   "<file>.replaced-<time> (default: keep yours)")
    p.add_argument("--no-updates", action="store_true", help="do not look for newer versions")
    p.add_argument("--nsfw-level", type=nsfw_level, default=1, metavar="N",
                   help="highest NSFW level for preview images: 1 PG, 2 PG-13, 4 R, 8 X, 16 XXX (default 1)")
    p.set_defaults(func=cmd_scan)

    p = sub.add_parser("updates", parents=[common], help="list installed models that have a newer version")
    _library_options(p)
    p.set_defaults(func=cmd_updates)

    p = sub.add_parser("triggers", parents=[common], help="print the prompt text that activates a model file")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--syntax", choices=("a1111", "comfyui"), default="a1111",
                   help="a1111: <lora:NAME:W> words (default); comfyui: plain words")
    p.add_argument("--weight", type=finite_float, help="network weight (default: the preferred weight in <name>.json, else 1)")
    p.set_defaults(func=cmd_triggers)


def _library_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: the layout's model folders)")
    add_host_options(p)
    p.add_argument("--refresh", action="store_true", help="ask again about files Civitai did not know recently")
    p.add_argument("--workers", type=positive_int, help="files hashed at once (default: CPU count)")


class _Bars:
    """One tqdm bar per phase on stderr, unless progress bars are disabled."""

    LABELS = {"hash": "hashing", "resolve": "resolving", "updates": "updates", "sidecars": "sidecars"}

    def __init__(self) -> None:
        from .. import config

        self.disabled = config.progress_disabled()
        self.bars: dict = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        if self.disabled or total <= 0:
            return
        bar = self.bars.get(phase)
        if bar is None:
            from tqdm import tqdm

            unit = {"unit": "B", "unit_scale": True, "unit_divisor": 1024} if phase == "hash" else {}
            bar = self.bars[phase] = tqdm(total=total, desc=self.LABELS.get(phase, phase), leave=False, disable=None,
                                          file=sys.stderr, **unit)
        bar.total = total
        bar.update(done - bar.n)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def _print_errors(entries, root: Path | None = None) -> None:
    """One ``error:`` line on stderr per failed file; a reason shared by many files (no network) once."""
    by_reason: dict[str, list] = {}
    for e in entries:
        if e.status == "error":
            by_reason.setdefault(e.error or "failed", []).append(e.path)
    for reason, paths in by_reason.items():
        if len(paths) == 1 and str(paths[0]) in reason:
            print(f"error: {reason}", file=sys.stderr)
        else:
            where = _display(paths[0], root) if len(paths) == 1 else f"{len(paths)} files"
            print(f"error: {where}: {reason}", file=sys.stderr)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _display(path: Path, root: Path | None = None) -> str:
    """A path for a table: relative to ``--root`` when under it, else to the cwd when under it."""
    for base in ([root] if root is not None else []) + [Path.cwd()]:
        try:
            rel = os.path.relpath(path, base)
        except ValueError:  # another drive (Windows)
            continue
        if rel != ".." and not rel.startswith(".." + os.sep) and len(rel) < len(str(path)):
            return rel
    return str(path)


def _root(args: argparse.Namespace) -> Path | None:
    return Path(args.root).expanduser().absolute() if getattr(args, "root", None) else None


def cmd_hash(args: argparse.Namespace) -> int:
    from ..library.hash_cache import HashCache
    from ..library.hash_batch import hash_files
    from ..library.hashing import ALL_KINDS, error_text

    paths = [Path(f).expanduser().absolute() for f in args.files]
    bars = _Bars()
    try:
        with HashCache() as cache:
            results = hash_files(paths, ALL_KINDS, cache=cache, workers=args.workers,
                                 progress=lambda done, total, *_: bars("hash", done, total))
    finally:
        bars.close()
    failed = 0
    document = []
    for given, path in zip(args.files, paths):
        value = results.get(path)
        if isinstance(value, dict):
            document.append({"path": str(path), "hashes": {k: value[k] for k in ALL_KINDS if k in value}})
        else:
            failed += 1
            document.append({"path": str(path), "error": error_text(value)})
            print(f"error: {error_text(value)}", file=sys.stderr)
    if args.json:
        print_json(document)
    else:
        for i, item in enumerate(d for d in document if "hashes" in d):
            if i:
                print()
            print(item["path"])
            print_fields([(f"  {k}", v) for k, v in item["hashes"].items()])
    return 1 if failed else 0


def _run_scan(args: argparse.Namespace, *, sidecars: bool, updates: bool, host: str, **options):
    from ..hosts import get_layout
    from ..library.scanner import entries_for_paths, find_model_files, scan

    client = make_client(args)
    if args.paths:
        entries = entries_for_paths(args.paths)
    else:
        if args.root and not Path(args.root).expanduser().is_dir():
            raise NotADirectoryError(f"no such folder: {args.root}")
        layout = get_layout(args.host, args.root)
        entries = find_model_files(layout.scan_folders())
    bars = _Bars()
    try:
        return scan(entries, client=client, sidecars=sidecars, updates=updates, refresh=args.refresh, host=host,
                    workers=args.workers, progress=bars, **options)
    finally:
        bars.close()


def cmd_scan(args: argparse.Namespace) -> int:
    report = _run_scan(args, sidecars=not args.no_sidecars, updates=not args.no_updates, host=args.host,
                       previews=not args.no_previews, replace_previews=args.replace_previews,
                       max_nsfw_level=args.nsfw_level)
    errors, root = report.count("error"), _root(args)
    unwritten = {id(e): _sidecar_errors(e) for e in report.entries}
    failed_sidecars = sum(len(v) for v in unwritten.values())
    if args.json:
        print_json([{**e.to_json(), **({"sidecarErrors": unwritten[id(e)]} if unwritten[id(e)] else {})}
                    for e in report.entries])
        _print_errors(report.entries, root)
        _print_sidecar_errors(unwritten.values())
        return 1 if errors or failed_sidecars else 0
    if not report.entries:
        print("no model files found")
        return 0
    rows = []
    for e in report.entries:
        v = e.version
        if e.status == "resolved":
            newer = f"{e.newer.name} ({e.newer.id})" if e.newer else ""
            rows.append((e.status, _display(e.path, root), v.model.name, v.name, v.base_model, newer))
        else:
            rows.append((e.status, _display(e.path, root), e.error or "", "", "", ""))
    print_table(("STATUS", "FILE", "MODEL", "VERSION", "BASE MODEL", "NEWER"), rows, cuttable=(2, 3, 4, 5),
                cut_left=(1,))
    newer = sum(1 for e in report.entries if e.newer is not None)
    summary = f"{_count(len(report.entries), 'file')}: {report.count('resolved')} resolved, "
    summary += f"{report.count('unknown')} unknown"
    summary += f", {_count(errors, 'error')}" if errors else ""
    summary += f"; {newer} with a newer version" if newer else ""
    summary += f"; {_count(failed_sidecars, 'sidecar')} not written" if failed_sidecars else ""
    print(f"{summary} ({_count(report.requests, 'API request')})")
    _print_errors(report.entries, root)
    _print_sidecar_errors(unwritten.values())
    return 1 if errors or failed_sidecars else 0


def _sidecar_errors(entry) -> list[str]:
    """The sidecars of one file that could not be written, one line each."""
    found = list(getattr(entry.sidecars, "errors", None) or [])
    return found + [w for w in entry.warnings if w.startswith("sidecars not written") and w not in found]


def _print_sidecar_errors(groups) -> None:
    for lines in groups:
        for line in lines:
            print(f"error: {line}", file=sys.stderr)


def cmd_updates(args: argparse.Namespace) -> int:
    report = _run_scan(args, sidecars=False, updates=True, host=args.host)
    found = [e for e in report.entries if e.newer is not None]
    if args.json:
        print_json(
            [
                {
                    "path": str(e.path),
                    "modelId": e.version.model_id,
                    "modelVersionId": e.version.id,
                    "modelName": e.version.model.name,
                    "versionName": e.version.name,
                    "newerVersionId": e.newer.id,
                    "newerVersionName": e.newer.name,
                    "newerBaseModel": e.newer.base_model,
                    "newerPublishedAt": e.newer.published_at,
                }
                for e in found
            ]
        )
    elif found:
        rows = [
            (_display(e.path, _root(args)), e.version.model.name, f"{e.version.name} ({e.version.id})",
             f"{e.newer.name} ({e.newer.id})", e.newer.base_model)
            for e in found
        ]
        print_table(("FILE", "MODEL", "INSTALLED", "NEWER", "NEWER BASE MODEL"), rows, cuttable=(1, 2, 3, 4),
                    cut_left=(0,))
    else:
        print(_no_updates(report))
    _print_errors(report.entries, _root(args))
    return 1 if report.count("error") else 0


def _no_updates(report) -> str:
    resolved = report.count("resolved")
    if not report.entries:
        return "no model files found"
    if resolved == 0:
        return "no updates: no model file here was identified on Civitai"
    if resolved == 1:
        return "no updates: the 1 model file Civitai knows is at its newest version"
    return f"no updates: the {resolved} model files Civitai knows are at their newest version"


def cmd_triggers(args: argparse.Namespace) -> int:
    from ..library.prompts import edited_activation_text, prompt_for_file, split_words
    from ..library.sidecars import read_info, read_user_json

    path = Path(args.file).expanduser()
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder: name one model file")
    if not path.is_file():
        if os.path.lexists(path) and path.exists():
            raise OSError(f"{path} is not a regular file (a pipe, socket or device): name a model file")
        raise FileNotFoundError(f"no such file: {path}" if not os.path.lexists(path) else f"broken link: {path}")
    info = read_info(path)
    if info is None and not read_user_json(path).get("activation text"):
        from ..api import NotFound
        from ..library.hash_cache import HashCache
        from ..library.hash_batch import hash_files

        with HashCache() as cache:
            result = hash_files([path.absolute()], ["SHA256"], cache=cache)[path.absolute()]
        if isinstance(result, Exception):
            raise result
        try:
            info = make_client(args).version_by_hash(result["SHA256"]).raw
        except NotFound:
            raise NotFound(f"{path.name} is not on Civitai and has no activation text in its .json") from None
    prompt = prompt_for_file(path, syntax=args.syntax, weight=args.weight, info=info)
    if args.json:
        model = (info or {}).get("model") or {}
        words = (info or {}).get("trainedWords") if info else [read_user_json(path).get("activation text", "")]
        document = {"path": str(path.absolute()), "type": model.get("type"), "trainedWords": split_words(words or [])}
        edited = edited_activation_text(path, info) if info else None
        if edited is not None:  # the user's words, which the prompt uses (as A1111 does)
            document["activationText"] = edited
        print_json({**document, "prompt": prompt})
    elif prompt:
        print(prompt)
    else:
        print(f"{path.name} has no trained words", file=sys.stderr)
    return 0
