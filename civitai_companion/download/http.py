"""The two requests of a download: Civitai's redirect (with the token), then the storage host (without).

``GET /api/download/models/<id>`` is sent with ``allow_redirects=False``: the 307's ``Location`` is a
signed URL on another host, and it is fetched with no ``Authorization`` header at all (S3-style hosts
reject a second auth mechanism, and the token must never leave Civitai). Signed URLs expire, so every
attempt, and every resume, asks Civitai for a fresh one; ``Range`` goes to the storage host only.
"""

from __future__ import annotations

import http.client
import logging
import socket
from pathlib import Path
from urllib.parse import urljoin

import requests
import urllib3

from ..api import CivitaiClient
from ..api.errors import CivitaiError, Forbidden, NotFound, redact_url
from .errors import RESUME_HINT, DownloadInterrupted, NotAModelFile, UndecodableBody
from .stream import part_path
from .target import download_query

log = logging.getLogger(__name__)

NETWORK_ERRORS = (
    requests.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    socket.timeout,
    ConnectionError,
)
TIMEOUT_ERRORS = (requests.Timeout, socket.timeout, urllib3.exceptions.ReadTimeoutError, urllib3.exceptions.TimeoutError)


class RangeNotSatisfiable(Exception):
    """The storage host answered 416: it has nothing past the bytes we already have."""


def download_params(plan) -> list[tuple[str, str]]:
    """The query that makes Civitai pick this file and not just the primary one."""
    return download_query(plan.version, plan.file)


def open_body(client: CivitaiClient, plan, *, offset: int, timeout, target: Path | None) -> requests.Response:
    """The response that carries the file's bytes (from ``offset`` when the server honours ``Range``).

    Raises the API's errors (401 login / downloads disabled, 403 early access, 404, 410, 429, network)
    with the hint to resume when a ``.part`` is kept, or :class:`RangeNotSatisfiable`.
    """
    api_url = f"{client.base_url}/api/download/models/{plan.version.id}"
    headers, token_source = client.auth(api_url)
    error_kw = {
        "base_url": client.base_url,
        "has_token": bool(headers),
        "token_source": token_source,
        "not_found": f"version {plan.version.id} has no file to download (404)",
    }
    refused: CivitaiError | None = None
    for _ in range(2):  # a signed URL that expired or was revoked gets one fresh resolve
        try:
            response = client.transport.send(
                "GET", api_url, params=download_params(plan) or None, headers=headers, stream=True,
                allow_redirects=False, error_kw=error_kw, timeout=timeout,
            )
        except CivitaiError as exc:
            raise resumable(exc, target) from None
        location = response.headers.get("Location")
        if not (response.is_redirect and location):
            return response  # a mirror serving the file itself, or a page: the caller checks
        response.close()
        storage = urljoin(response.url, location)
        log.debug("fetching %s from %s", plan.name, redact_url(storage))
        storage_headers = {"Accept": "*/*", "Accept-Encoding": "identity", "Authorization": None}
        if offset:
            storage_headers["Range"] = f"bytes={offset}-"
        try:
            return client.transport.send(
                "GET", storage, headers=storage_headers, stream=True, timeout=timeout,
                error_kw={"not_found": "the storage host does not have this file"},
            )
        except CivitaiError as exc:
            if exc.status == 416 and offset:
                raise RangeNotSatisfiable() from None
            if isinstance(exc, (Forbidden, NotFound)) or exc.status in (400, 401):
                refused = exc
                log.info("the storage host refused the signed link (HTTP %s); asking Civitai again", exc.status)
                continue
            raise resumable(exc, target) from None
    status = refused.status if refused is not None else None
    raise resumable(
        CivitaiError(f"the storage host refused the download link twice (HTTP {status})", status=status,
                     hint="try again later"),
        target,
    )


def body_chunks(response: requests.Response, size: int):
    """The body in chunks of at most ``size``. Unlike ``iter_content``, bytes that arrived before a
    dropped connection are yielded before the error is raised, so the ``.part`` keeps them."""
    if is_encoded(response):
        try:
            yield from response.iter_content(size)  # we asked for identity; decode whatever came anyway
        except requests.exceptions.ContentDecodingError:
            raise UndecodableBody(
                f"the server sent {response.headers.get('Content-Encoding')}-compressed data that could not be "
                "decoded; nothing was kept",
                hint="try again later",
            ) from None
        return
    raw = response.raw
    # read1 returns what has arrived (up to size): progress and cancel stay live on a slow link.
    read = raw.read1 if hasattr(raw, "read1") else raw.read  # urllib3 1.26 has no read1
    while True:
        data = read(size, decode_content=False)
        if not data:
            return
        yield data


def is_encoded(response: requests.Response) -> bool:
    """The body is compressed (though we asked for identity): its Content-Length and Range offsets count
    compressed bytes, not the file's, so neither says anything about the file."""
    return response.headers.get("Content-Encoding", "identity").strip().lower() not in ("", "identity")


def resumable(exc: CivitaiError, target: Path | None) -> CivitaiError:
    """Add "run again to resume" to an error that stopped a download whose ``.part`` was kept."""
    if target is not None and part_path(target).exists() and "resume" not in (exc.hint or ""):
        exc.hint = f"{exc.hint}; the partial file was kept: {RESUME_HINT}" if exc.hint else f"the partial file was kept: {RESUME_HINT}"
    return exc


def interrupted(exc: BaseException | None, target: Path | None, done: int, total: int | None) -> DownloadInterrupted:
    kind = "timed out" if isinstance(exc, TIMEOUT_ERRORS) else "connection lost"
    of = f" of {total}" if total is not None else ""
    name = f"{target.name}: " if target is not None else ""
    return DownloadInterrupted(
        f"{name}{kind} after {done}{of} bytes",
        part_path=part_path(target) if target is not None else None,
        bytes_done=done,
        total=total,
    )


def html_error(response: requests.Response) -> NotAModelFile:
    return NotAModelFile(
        "Civitai answered with a web page (probably a login page) instead of the file; nothing was saved",
        status=response.status_code,
        hint="set CIVITAI_API_TOKEN to an API key from your Civitai account settings",
    )
