"""``download`` (verified, resumable downloads into an app's folders) and ``queue`` (the persistent queue)."""

from __future__ import annotations

import argparse
import os
import sys
import threading

from .common import UsageError, add_host_options, civitai_id, job_id, make_client, positive_int
from .output import human_size, print_json, print_table


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "download",
        parents=[common],
        help="download model files, verified by SHA-256, into the right folder",
        description="Download a version's file into the folder its type belongs in. REF is a version id, "
        "an AIR (urn:air:sdxl:lora:civitai:123@456) or a Civitai URL (…/models/123?modelVersionId=456; "
        "…/models/123 means the latest version). An interrupted download resumes when run again.",
    )
    p.add_argument("refs", nargs="*", metavar="REF", help="what to download; several run 2 at a time")
    which = p.add_argument_group("which file (default: the version's primary file)")
    which.add_argument("--file-id", type=civitai_id("file"), metavar="ID", help="this file of the version")
    which.add_argument("--format", metavar="F", help="file format, e.g. SafeTensor")
    which.add_argument("--size", metavar="S", help="pruned or full")
    which.add_argument("--fp", metavar="P", help="precision, e.g. fp16")
    add_host_options(p)
    p.add_argument("--folder", metavar="DIR", help="download into DIR (and --subfolder under it) instead of the "
                   "layout's folder")
    p.add_argument("--subfolder", metavar="TEMPLATE", help="sub-folder template, e.g. '{baseModel}/{modelName}'")
    p.add_argument("--overwrite", action="store_true", help="replace a different file of the same name")
    p.add_argument("--workers", type=positive_int, default=2, help="downloads at once with several REFs (default 2)")
    p.add_argument("--resume", action="store_true", help="finish the downloads left in the queue")
    p.set_defaults(func=cmd_download)

    p = sub.add_parser("queue", parents=[common], help="show or change the download queue")
    p.add_argument("--cancel", metavar="ID", type=job_id, help="cancel a job by id, or 'all' (its partial file is deleted)")
    p.add_argument("--clear", action="store_true", help="forget finished, failed and cancelled jobs")
    p.set_defaults(func=cmd_queue)


class _Bars:
    """tqdm bars on stderr, one per running job (keyed by name), unless bars are disabled.

    tqdm turns itself off when stderr is not a terminal; a disabled bar lacks most attributes, so the
    description is kept here, beside the bar."""

    def __init__(self, *, quiet: bool = False) -> None:
        from .. import config

        self.disabled = quiet or config.progress_disabled()
        self.bars: dict[object, tuple[object, str]] = {}
        self.lock = threading.Lock()

    def update(self, key: object, event) -> None:
        if self.disabled:
            return
        with self.lock:
            bar, shown = self.bars.get(key, (None, None))
            if event.phase not in ("checking", "downloading") or not event.total:
                if bar is not None and event.phase != "verifying":
                    bar.close()
                    del self.bars[key]
                return
            desc = f"{event.name or key}" + (f" ({event.phase})" if event.phase == "checking" else "")
            if bar is None or shown != desc:
                if bar is not None:
                    bar.close()
                from tqdm import tqdm

                bar = tqdm(total=event.total, desc=desc, unit="B", unit_scale=True,
                           unit_divisor=1024, leave=False, disable=None, file=sys.stderr)
                self.bars[key] = (bar, desc)
            bar.total = event.total
            bar.update(event.bytes_done - bar.n)

    def close(self) -> None:
        with self.lock:
            for bar, _ in self.bars.values():
                bar.close()
            self.bars.clear()


def _downloader(args: argparse.Namespace):
    """``--folder DIR`` is a layout of its own (every type in DIR, the template under it); the host still
    names the app the sidecars are written for."""
    from ..download import Downloader

    if args.folder:
        from ..hosts.base import FolderLayout

        layout = FolderLayout(os.path.abspath(os.path.expanduser(args.folder)), subfolder_template=args.subfolder)
        return Downloader(make_client(args), layout=layout, host=args.host)
    return Downloader(make_client(args), host=args.host, root=args.root, subfolder_template=args.subfolder)


def _options(args: argparse.Namespace) -> dict:
    return {"file_id": args.file_id, "format": args.format, "size": args.size, "fp": args.fp}


def _say(path, size: int | None, *, skipped: bool, resumed: bool) -> str:
    """One finished download in words, the same for one REF and for queued ones."""
    how = "already there with the same SHA-256, nothing downloaded" if skipped else (
        "resumed, SHA-256 verified" if resumed else "SHA-256 verified")
    return f"{path} ({human_size(size)}, {how})"


def _check_arguments(args: argparse.Namespace) -> None:
    """Every malformed argument is a usage error before anything is asked or written."""
    if args.file_id and (args.format or args.size or args.fp):
        raise UsageError("--file-id picks one file; leave out --format/--size/--fp")
    if not args.refs and not args.resume:
        raise UsageError("give a REF to download (a version id, an AIR or a Civitai URL), or --resume")
    from ..api import BadRequest
    from ..refs import parse_ref

    for ref in args.refs:
        try:
            parse_ref(ref, base_url=args.base_url)
        except BadRequest as exc:
            raise UsageError(exc.message) from None
    if args.subfolder is not None:
        from ..hosts.base import SubfolderTemplate

        try:
            SubfolderTemplate(args.subfolder)
        except ValueError as exc:
            raise UsageError(f"argument --subfolder: {exc}") from None
    for option, value in (("--folder", args.folder), ("--root", args.root)):
        if value and os.path.exists(os.path.expanduser(value)) and not os.path.isdir(os.path.expanduser(value)):
            raise NotADirectoryError(f"{option} {value} is a file, not a folder")


def cmd_download(args: argparse.Namespace) -> int:
    _check_arguments(args)
    if len(args.refs) == 1 and not args.resume:
        return _download_one(args)
    return _download_queued(args)


def _failure(ref: str, exc: BaseException) -> dict:
    """A reference that could not be downloaded, as ``download --json`` lists it."""
    from . import error_text

    return {"ref": ref, "error": error_text(exc)}


def _download_one(args: argparse.Namespace) -> int:
    downloader = _downloader(args)
    bars = _Bars()
    try:
        result = downloader.download(args.refs[0], overwrite=args.overwrite,
                                     progress=lambda event: bars.update("file", event), **_options(args))
    except KeyboardInterrupt:
        raise KeyboardInterrupt("the partial file was kept: run the same command again to resume") from None
    except (OSError, ValueError) as exc:
        if args.json:
            print_json(_failure(args.refs[0], exc))
        raise
    finally:
        bars.close()
    if args.json:
        print_json(result.to_json())
    else:
        print(_say(result.path, result.size, skipped=result.skipped, resumed=result.resumed))
    return 0


def _download_queued(args: argparse.Namespace) -> int:
    from ..download import DownloadQueue

    from . import error_text

    downloader = _downloader(args)
    failed: list[dict] = []
    submitted = []
    for ref in args.refs:  # metadata first: a bad REF fails here, before anything is downloaded
        try:
            plan = downloader.plan(ref, **_options(args))
        except (OSError, ValueError) as exc:
            print(f"error: {ref}: {error_text(exc)}", file=sys.stderr)
            failed.append(_failure(ref, exc))
            continue
        submitted.append((plan.version.id, plan.file.id, str(plan.folder)))
    bars = _Bars()
    queue = DownloadQueue(downloader, workers=args.workers, autostart=False,
                          progress=lambda job, event: bars.update(job.id, event))
    earlier = len(queue.pending())
    if earlier and not args.json:
        print(f"resuming {_count(earlier, 'download')} left in the queue", file=sys.stderr)
    if not earlier and not submitted and not failed:
        queue.close()
        if args.json:
            print_json([])
        else:
            print("nothing to resume")
        return 0
    jobs = [queue.submit(str(v), file_id=f, folder=d, overwrite=args.overwrite) for v, f, d in submitted]
    wanted = {j.id for j in jobs} | {j.id for j in queue.pending()}
    try:
        queue.start()
        queue.wait()
    except KeyboardInterrupt:
        bars.close()
        queue.close()
        _report([j for j in queue.jobs() if j.id in wanted and j.status == "done"], failed, json_output=args.json)
        raise KeyboardInterrupt("run 'civitai-companion download --resume' to finish") from None
    bars.close()
    queue.close()
    finished = [j for j in queue.jobs() if j.id in wanted]
    for job in finished:
        if job.status != "done":
            failed.append({"ref": job.ref, "error": job.error or job.status})
            print(f"error: {job.ref}: {job.error or job.status}", file=sys.stderr)
    _report([j for j in finished if j.status == "done"], failed, json_output=args.json)
    return 1 if failed else 0


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _report(done: list, failed: list[dict], *, json_output: bool) -> None:
    """The finished jobs on stdout: a JSON list (failed references too, with their error), or one line
    each as for a single download (failures are on stderr)."""
    if json_output:
        print_json([{"path": j.path, "sha256": j.sha256, "modelVersionId": j.version_id, "bytes": j.total}
                    for j in done] + failed)
        return
    for job in done:
        print(_say(job.path, job.total, skipped=job.skipped, resumed=job.resumed))


def cmd_queue(args: argparse.Namespace) -> int:
    from ..download import DownloadQueue

    queue = DownloadQueue(autostart=False)  # reads and edits the queue file; downloads nothing
    try:
        if args.cancel:
            if args.cancel == "all":
                count = queue.cancel_all()
            else:
                count = int(queue.cancel(args.cancel))
                if not count:
                    raise ValueError(f"no pending job {args.cancel!r} in the queue (see `civitai-companion queue`)")
            if not args.json:
                print(f"cancelled {_count(count, 'job')}")
        if args.clear:
            cleared = queue.clear_finished()
            if not args.json:
                print(f"forgot {_count(cleared, 'finished job')}")
        jobs = queue.jobs()
    finally:
        queue.close()
    if args.json:
        print_json([j.to_json() for j in jobs])
    elif not args.cancel and not args.clear:
        if not jobs:
            print("the download queue is empty")
        else:
            rows = [(j.id, j.status, j.name or j.ref, human_size(j.total), j.path or j.error or "") for j in jobs]
            print_table(("ID", "STATUS", "NAME", "SIZE", "PATH / REASON"), rows, cuttable=(2,), cut_left=(4,))
    return 0
