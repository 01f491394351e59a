"""Commands about local model files: hash, scan, library, updates, triggers."""

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
    p.add_argument("--no-updates", action="store_true",
                   help="do not look for newer versions (a rescan of an unchanged library then sends no request)")
    p.add_argument("--offline", action="store_true",
                   help="send no request at all: answer from the library index, the hash cache and sidecars")
    p.add_argument("--nsfw-level", type=nsfw_level, default=1, metavar="N",
                   help="highest NSFW level for preview images: 1 PG, 2 PG-13, 4 R, 8 X, 16 XXX (default 1)")
    p.set_defaults(func=cmd_scan)

    p = sub.add_parser("library", parents=[common],
                       help="list the model files the library index knows, at once (no hashing, no request)")
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="files or folders (default: the layout's folders with --root, else everything indexed)")
    add_host_options(p)
    p.add_argument("--type", action="append", default=[], dest="types", metavar="T",
                   help="only this Civitai type or kind (LORA, Checkpoint, lora, ...); may be repeated")
    p.add_argument("--base-model", action="append", default=[], dest="base_models", metavar="B",
                   help="only this base model (SDXL 1.0, Pony, ...); may be repeated")
    p.add_argument("--status", choices=("resolved", "unknown", "error", "update"),
                   help="only files with this status; update: a newer version is known")
    p.add_argument("--query", metavar="TEXT", help="only files whose names, trained words or file name hold TEXT")
    p.set_defaults(func=cmd_library)

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
    p.add_argument("--refresh", action="store_true",
                   help="ask Civitai again about every file, also those the library index or the unknown-hash "
                   "cache already answer for")
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


def _layout_folders(args: argparse.Namespace) -> dict:
    from ..hosts import get_layout

    if args.root and not Path(args.root).expanduser().is_dir():
        raise NotADirectoryError(f"no such folder: {args.root}")
    return get_layout(args.host, args.root).scan_folders()


def _run_scan(args: argparse.Namespace, *, sidecars: bool, updates: bool, host: str, **options):
    from ..library.scanner import entries_for_paths, find_model_files, scan

    if options.get("offline") and args.refresh:
        raise ValueError("--offline and --refresh contradict each other: asking again needs the network")
    client = make_client(args)
    if args.paths:
        entries = entries_for_paths(args.paths)
        folders = [Path(p).expanduser().absolute() for p in args.paths if Path(p).expanduser().is_dir()]
    else:
        layout_folders = _layout_folders(args)
        entries = find_model_files(layout_folders)
        folders = [folder for paths in layout_folders.values() for folder in paths]
    bars = _Bars()
    try:
        return scan(entries, client=client, sidecars=sidecars, updates=updates, refresh=args.refresh, host=host,
                    workers=args.workers, progress=bars, folders=folders, **options)
    finally:
        bars.close()


def _print_rows(rows: list[dict], root: Path | None) -> None:
    """The table ``scan`` and ``library`` share, from ``scan --json`` rows."""
    table = []
    for r in rows:
        if r.get("status") == "resolved":
            newer = r.get("newerVersionId")
            newer = f"{r.get('newerVersionName') or '?'} ({newer})" if newer is not None else ""
            table.append((r["status"], _display(Path(r["path"]), root), r.get("modelName"), r.get("versionName"),
                          r.get("baseModel"), newer))
        else:
            table.append((r.get("status"), _display(Path(r["path"]), root), r.get("error") or "", "", "", ""))
    print_table(("STATUS", "FILE", "MODEL", "VERSION", "BASE MODEL", "NEWER"), table, cuttable=(2, 3, 4, 5),
                cut_left=(1,))


def _print_rows_json(rows: list[dict]) -> None:
    """``scan --json`` and ``library --json``: one JSON array, a row per line. Indenting each row's keys
    would take json's pure-Python encoder, several times slower for a library of 10,000 files."""
    import json

    if not rows:
        sys.stdout.write("[]\n")
        return
    sys.stdout.write("[\n  " + ",\n  ".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n]\n")


def _summary(rows: list[dict]) -> str:
    counts = {s: sum(1 for r in rows if r.get("status") == s) for s in ("resolved", "unknown", "error")}
    newer = sum(1 for r in rows if r.get("newerVersionId") is not None)
    text = f"{_count(len(rows), 'file')}: {counts['resolved']} resolved, {counts['unknown']} unknown"
    text += f", {_count(counts['error'], 'error')}" if counts["error"] else ""
    return text + (f"; {newer} with a newer version" if newer else "")


def cmd_scan(args: argparse.Namespace) -> int:
    report = _run_scan(args, sidecars=not args.no_sidecars, updates=not args.no_updates and not args.offline,
                       host=args.host, previews=not args.no_previews, replace_previews=args.replace_previews,
                       max_nsfw_level=args.nsfw_level, offline=args.offline)
    errors, root = report.count("error"), _root(args)
    unwritten = {id(e): _sidecar_errors(e) for e in report.entries}
    failed_sidecars = sum(len(v) for v in unwritten.values())
    if args.json:
        _print_rows_json([{**e.to_json(), **({"sidecarErrors": unwritten[id(e)]} if unwritten[id(e)] else {})}
                          for e in report.entries])
        _print_errors(report.entries, root)
        _print_sidecar_errors(unwritten.values())
        return 1 if errors or failed_sidecars else 0
    if not report.entries:
        print("no model files found")
        return 0
    rows = [e.to_json() for e in report.entries]
    _print_rows(rows, root)
    where = f"; {report.from_index} from the library index" if report.from_index else ""
    unwritten_text = f"; {_count(failed_sidecars, 'sidecar')} not written" if failed_sidecars else ""
    print(f"{_summary(rows)}{unwritten_text} ({_count(report.requests, 'API request')}{where})")
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


def cmd_library(args: argparse.Namespace) -> int:
    """The index as the last scans and downloads left it: no hashing, no request, the same rows as scan."""
    from ..library.index import open_index

    if args.paths:
        paths = [Path(p).expanduser().absolute() for p in args.paths]
    elif args.root:
        paths = [folder for folders in _layout_folders(args).values() for folder in folders]
    else:
        paths = None
    with open_index() as index:
        rows = index.rows(paths=paths, types=args.types, base_models=args.base_models, status=args.status,
                          query=args.query)
    if args.json:
        _print_rows_json(rows)
        return 0
    if not rows:
        filtered = args.types or args.base_models or args.status or args.query
        print("no indexed model file matches" if filtered else
              "no model files in the library index yet: run 'civitai-companion scan' first")
        return 0
    _print_rows(rows, _root(args))
    print(_summary(rows))
    return 0


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
                    **({"otherBaseVersions": e.to_json()["otherBaseVersions"]} if e.other_base else {}),
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
    if not args.json:  # releases for other base models are news, not updates
        for e in (e for e in report.entries if e.other_base):
            also = ", ".join(f"{o.base_model}: {o.name} ({o.id})" for o in e.other_base)
            print(f"also for {also} — {_display(e.path, _root(args))}")
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
