"""The download endpoint (307 to a signed storage URL) and the storage host that serves the bytes."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, unquote

from . import fixtures
from .catalog import FileEntry
from .wire import Request, Response, html_response, json_response, redirect, xml_error

CHUNK = 1024 * 1024
SLOW_CHUNK = 64 * 1024
DOWNLOAD_MODES = {"login_required", "downloads_disabled", "early_access", "archived", "not_found",
                  "rate_limited", "unavailable", "html_login"}
STORAGE_MODES = {"drop", "wrong_bytes", "ignore_range", "slow", "expire_urls"}
FILE_NOT_FOUND = {"error": "File not found"}
ARCHIVED_BODY = {"error": "Model archived, not available for download"}
EARLY_ACCESS_MESSAGE = ("The creator of this asset has made it available for early access. You can download it "
                        "once the early access period ends or by purchasing early access.")
_FLIP = bytes(b ^ 0x5A for b in range(256))


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def early_access_response(deadline: str | None) -> Response:
    deadline = deadline or _iso(datetime.now(timezone.utc) + timedelta(days=7))
    return json_response(403, {"error": "Early Access", "deadline": deadline, "message": EARLY_ACCESS_MESSAGE})


def _fault_response(fake, version_id: int, mode: str, opts: dict) -> Response:
    if mode == "login_required":
        return json_response(401, fixtures.LOGIN_REQUIRED_BODY)
    if mode == "downloads_disabled":
        return json_response(401, {"error": "Unauthorized",
                                   "message": "The creator of this asset has disabled downloads on this file"})
    if mode == "early_access":
        return early_access_response(opts.get("deadline"))
    if mode == "archived":
        return json_response(410, ARCHIVED_BODY)
    if mode == "not_found":
        return json_response(404, FILE_NOT_FOUND)
    if mode == "rate_limited":
        retry = opts.get("retry_after", 1)
        return json_response(429, {"error": "Too Many Requests",
                                   "message": "We've noticed an unusual amount of downloading from your account. "
                                              "Please try again later."},
                             headers=[("Retry-After", str(retry))] if retry is not None else [])
    if mode == "unavailable":
        return json_response(503, {"error": "Service Unavailable"},
                             headers=[("Retry-After", str(opts.get("retry_after", 1)))])
    return login_redirect(fake, version_id)


def login_redirect(fake, version_id: int) -> Response:
    return_url = quote(f"/api/download/models/{version_id}", safe="")
    return redirect(f"{fake.url}/login?returnUrl={return_url}")


def _looks_like_browser(request: Request) -> bool:
    return "mozilla/" in (request.headers.get("User-Agent") or "").lower()


def select_file(files: list, request: Request) -> dict | None:
    """Civitai's choice: the primary file, or the one matching type/format/size/fp when those are given;
    ``fileId`` (2026) names one file exactly."""
    wanted = {name: request.one(name) for name in ("type", "format", "size", "fp") if request.one(name)}
    candidates = list(files)
    if request.one("fileId"):
        candidates = [f for f in candidates if str(f.get("id")) == request.one("fileId").strip()]
    if "type" in wanted:
        candidates = [f for f in candidates if str(f.get("type", "")).lower() == wanted["type"].lower()]
    for name in ("format", "size", "fp"):
        if name in wanted:
            candidates = [f for f in candidates
                          if str((f.get("metadata") or {}).get(name) or "").lower() == wanted[name].lower()]
    if not candidates:
        return None
    return next((f for f in candidates if f.get("primary")), candidates[0])


def sign(fake, file_id: int, name: str, expires: int) -> str:
    message = f"{file_id}/{name}/{expires}".encode("utf-8")
    return hmac.new(fake.signing_key, message, hashlib.sha256).hexdigest()[:32]


def signed_url(fake, file: dict) -> str:
    expires = int(time.time()) + int(fake.url_ttl)
    name = file["name"]
    return (f"{fake.storage_url}/storage/{file['id']}/{quote(name)}"
            f"?expires={expires}&sig={sign(fake, file['id'], name, expires)}")


def download(fake, request: Request, raw_id: str) -> Response:
    version_id = fixtures.parse_id(raw_id)
    if version_id is None:
        return json_response(400, fixtures.id_error(raw_id))
    browser = _looks_like_browser(request)
    skip = {"login_required"} if fake.authorized(request) else set()
    fault = fake.take_faults(version_id, DOWNLOAD_MODES - skip, first_only=True)
    if fault:
        response = _fault_response(fake, version_id, fault[0].mode, fault[0].opts)
        return login_redirect(fake, version_id) if browser and response.status in (401, 403) else response
    with fake.catalog.lock:
        found = fake.catalog.versions.get(version_id)
        if found is None:
            return json_response(404, FILE_NOT_FOUND)
        model, version = found
        if model.get("mode") == "Archived":
            return json_response(410, ARCHIVED_BODY)
        ends = version.get("earlyAccessEndsAt")
        if ends and ends > _iso(datetime.now(timezone.utc)):
            return login_redirect(fake, version_id) if browser else early_access_response(ends)
        file = select_file(version.get("files", []), request)
    if file is None:
        return json_response(404, FILE_NOT_FOUND)
    return redirect(signed_url(fake, file))


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _parse_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """(start, end inclusive), "unsatisfiable", or None to send the whole file (absent or unparsable)."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match or (not match.group(1) and not match.group(2)):
        return None
    first, last = match.group(1), match.group(2)
    if not first:
        suffix = int(last)
        return (max(0, size - suffix), size - 1) if suffix and size else "unsatisfiable"
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size:
        return "unsatisfiable"
    if end < start:
        return None
    return start, end


def _content_disposition(name: str) -> str:
    ascii_name = name.encode("ascii", "replace").decode("ascii").replace("?", "_")
    ascii_name = ascii_name.replace("\\", "_").replace('"', "_")
    value = f'attachment; filename="{ascii_name}"'
    if ascii_name != name:
        value += f"; filename*=UTF-8''{quote(name, safe='')}"
    return value


def _chunks(entry: FileEntry, start: int, length: int, chunk: int, corrupt: bool):
    if entry.data is not None:
        view = memoryview(entry.data)
        for offset in range(start, start + length, chunk):
            piece = bytes(view[offset:min(offset + chunk, start + length)])
            yield piece.translate(_FLIP) if corrupt else piece
        return
    with open(entry.path, "rb") as handle:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            piece = handle.read(min(chunk, remaining))
            if not piece:
                return
            remaining -= len(piece)
            yield piece.translate(_FLIP) if corrupt else piece


def storage(fake, request: Request, raw_id: str, raw_name: str) -> Response:
    if "Authorization" in request.headers:
        return xml_error(400, "InvalidArgument", "Only one auth mechanism allowed; only the X-Amz-Algorithm "
                                                 "query parameter, Signature query string parameter or the "
                                                 "Authorization header should be specified")
    entry = fake.catalog.files.get(int(raw_id)) if raw_id.isdigit() else None
    name = unquote(raw_name)
    if entry is None or entry.file.get("name") != name:
        return xml_error(404, "NoSuchKey", "The specified key does not exist.")
    expires_raw, sig = request.one("expires") or "", request.one("sig") or ""
    if not expires_raw.isdigit() or not hmac.compare_digest(sig, sign(fake, entry.file["id"], name, int(expires_raw))):
        return xml_error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
                                                       "signature you provided.")
    if int(expires_raw) < time.time() or fake.take_faults(entry.version_id, {"expire_urls"}):
        return xml_error(403, "AccessDenied", "Request has expired")
    if entry.data is None and entry.path is None:
        return xml_error(404, "NoSuchKey", "The specified key does not exist.")
    size = len(entry.data) if entry.data is not None else entry.path.stat().st_size
    modes = STORAGE_MODES - {"expire_urls"}
    faults = {f.mode: f.opts for f in fake.take_faults(entry.version_id, modes)} if request.method == "GET" else {}
    headers = [("Accept-Ranges", "bytes"), ("Content-Disposition", _content_disposition(name)),
               ("ETag", '"%s"' % (entry.file.get("hashes") or {}).get("SHA256", "")[:32].lower()),
               ("Last-Modified", "Wed, 01 Jan 2025 12:00:00 GMT")]
    wanted = None if "ignore_range" in faults else _parse_range(request.headers.get("Range"), size)
    if wanted == "unsatisfiable":
        return Response(416, b"", "application/octet-stream", [("Content-Range", f"bytes */{size}")])
    status, start, length = 200, 0, size
    if wanted is not None:
        status, start = 206, wanted[0]
        length = wanted[1] - wanted[0] + 1
        headers.append(("Content-Range", f"bytes {wanted[0]}-{wanted[1]}/{size}"))
    delay = float(faults["slow"].get("delay", 0.05)) if "slow" in faults else 0.0
    close_after = int(faults["drop"].get("after_bytes", length // 2)) if "drop" in faults else None
    body = _chunks(entry, start, length, SLOW_CHUNK if delay else CHUNK, "wrong_bytes" in faults)
    if request.method == "HEAD":
        body.close()
        body = b""
    return Response(status, body, "application/octet-stream", headers, length=length, close_after=close_after,
                    delay=delay)


def login_page(fake, request: Request) -> Response:
    return html_response(200, fixtures.LOGIN_HTML)
