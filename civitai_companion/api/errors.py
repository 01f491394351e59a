"""One small tree of exceptions, and the one function that turns an HTTP response into them.

Every error inherits from a builtin (``OSError``, ``ValueError``) so callers that know nothing of this
package still catch them sensibly. Each carries the server's own message and a next step for the user.
The API token never appears in any of them: URLs are shown without their query strings' secrets.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .. import config, safe_json

SECRET_PARAMS = {"token", "sig", "signature", "x-amz-signature", "x-amz-credential", "expires", "x-amz-security-token"}


class CivitaiError(OSError):
    """Base of every error this package raises for Civitai; ``str()`` is one line: message + next step."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        url: str | None = None,
        server_message: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = _one_line(message)
        self.status = status
        self.url = redact_url(url) if url else None
        self.server_message = server_message
        self.hint = _one_line(hint) if hint else None
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class NotFound(CivitaiError):
    """404 with a JSON body: the model, version, file or user does not exist (or is not visible)."""


class UnknownRoute(NotFound):
    """404 with an HTML body: the URL is not an API route at all (wrong base URL or a typo in a path)."""


class AuthRequired(CivitaiError):
    """401: an API token is needed (or the one given was rejected)."""


class DownloadsDisabled(AuthRequired):
    """401: the creator has disabled downloads of this file; no token helps."""


class Forbidden(CivitaiError):
    """403 other than early access."""


class EarlyAccess(Forbidden):
    """403 Early Access: the version is only for supporters until ``deadline``."""

    def __init__(self, message: str, *, deadline: str | None = None, **kw: Any) -> None:
        self.deadline = deadline
        super().__init__(message, **kw)


class Archived(NotFound):
    """410: the model is archived and its files are gone from Civitai."""


class RateLimited(CivitaiError):
    """429 (a real rate limit) or 503 overload after our retries; ``retry_after`` in seconds if known."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)


class BadRequest(CivitaiError, ValueError):
    """400 and other usage errors: the request itself is wrong; retrying does not help."""


class PageLimit(BadRequest):
    """Civitai's 429 "too many pages, use cursors": a usage error, never retried."""


class RegionBlocked(CivitaiError):
    """451: Civitai does not serve this content in the caller's region."""


class ServerError(CivitaiError):
    """5xx that did not go away with retries."""


class NetworkError(CivitaiError):
    """The connection failed or timed out (after retries). Downloads can resume from here."""


class BadResponse(CivitaiError):
    """The server answered, but not with what the API promises (HTML, bad JSON, wrong shape)."""


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def human_time(text: str | None, *, time_of_day: bool = False) -> str | None:
    """An ISO timestamp as people write it, ``31 Dec 2099`` (``31 Dec 2099, 14:30 UTC`` with
    ``time_of_day`` when it is not midnight); text that is no timestamp comes back as it was."""
    if not text:
        return text
    from datetime import datetime, timezone

    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return text
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc)
    day = f"{when.day} {when.strftime('%b %Y')}"
    if time_of_day and (when.hour, when.minute) != (0, 0):
        return f"{day}, {when.strftime('%H:%M')} UTC"
    return day


def redact_url(url: str) -> str:
    """The URL with secrets (token, signatures) removed from its query: safe for logs and messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if not parts.query:
        return url
    query = [(k, "***" if k.lower() in SECRET_PARAMS else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*")))


def scrub_secret(error: CivitaiError, secret: str | None) -> CivitaiError:
    """Remove ``secret`` from every text of ``error``: a server that echoes the token back in its error
    body must not put it into our messages or logs."""
    if not secret:
        return error
    for name in ("message", "server_message", "hint"):
        value = getattr(error, name, None)
        if isinstance(value, str) and secret in value:
            setattr(error, name, value.replace(secret, "***"))
    error.args = tuple(a.replace(secret, "***") if isinstance(a, str) else a for a in error.args)
    return error


def rejected_token_hint(source: str | None) -> str:
    """What to fix when Civitai rejects a token from ``source`` (see ``config.api_token_with_source``).
    Names where the token is, never the token."""
    where = "create a key in your Civitai account settings"
    if source == config.TOKEN_FILE_SOURCE:
        return f"the token in use is the one saved in {config.token_file()}; run 'civitai-companion token' to save a new key"
    if source == config.GIVEN_TOKEN or source is None:
        return f"check the API key given; {where}"
    return f"check {source}; {where}"


def server_message(body: Any) -> str | None:
    """Pull a readable message out of any of Civitai's error shapes (plain, zod, tRPC issue arrays)."""
    if isinstance(body, str):
        return body.strip() or None
    if isinstance(body, list):  # tRPC endpoints send a bare array of zod issues
        return _issues_text(body)
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict):  # zod: {"error": {"name": "ZodError", "message": "<json of issues>"}} or {"issues": [...]}
        issues = error.get("issues")
        if issues is None and isinstance(error.get("message"), str):
            try:
                issues = safe_json.loads(error["message"])
            except ValueError:
                return _one_line(error["message"])
        return _issues_text(issues) if isinstance(issues, list) else _one_line(str(error.get("message") or error))
    # Keep the server's own order: {"error": "Unauthorized", "message": "..."} reads label-first,
    # {"message": "An unexpected error occurred", "error": "<detail>"} reads summary-first.
    texts = [v for k, v in body.items() if k in ("error", "message") and isinstance(v, str) and v.strip()]
    if len(texts) == 2 and (texts[0] in texts[1] or texts[1] in texts[0]):
        texts = [max(texts, key=len)]
    if texts:
        return _one_line(": ".join(texts))
    return None


def _issues_text(issues: list) -> str | None:
    parts = []
    for issue in issues:
        if not isinstance(issue, dict):
            continue
        path = ".".join(str(p) for p in issue.get("path") or [])
        text = _one_line(str(issue.get("message", "invalid input")))
        parts.append(f"{path}: {text}" if path else text)
    return "; ".join(parts) or None


def _retry_after(headers: Any) -> float | None:
    value = (headers or {}).get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime
        from datetime import datetime, timezone

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def looks_like_html(content_type: str | None, head: bytes | str) -> bool:
    if content_type and "html" in content_type.lower():
        return True
    if isinstance(head, bytes):
        head = head[:512].decode("latin-1")
    text = head.lstrip().lower()
    return text.startswith("<!doctype html") or text.startswith("<html")


def error_for(
    status: int,
    *,
    body: Any = None,
    content_type: str | None = None,
    headers: Any = None,
    url: str | None = None,
    base_url: str | None = None,
    not_found: str | None = None,
    has_token: bool = False,
    token_source: str | None = None,
    base_url_name: str = "CIVITAI_BASE_URL",
) -> CivitaiError:
    """Map one failed response to the right exception, with the server's words and a next step.

    ``token_source`` says where a rejected token came from (see :func:`rejected_token_hint`)."""
    where = f" on {base_url}" if base_url else ""
    safe_url = redact_url(url) if url else None
    html = looks_like_html(content_type, body if isinstance(body, (str, bytes)) else "")
    msg = None if html else server_message(body)
    common = {"status": status, "url": safe_url, "server_message": msg}
    lower = (msg or "").lower()

    if status == 404 and html:
        path = urlsplit(safe_url).path if safe_url else "?"
        return UnknownRoute(
            f"unknown API route {path}{where}: a web page answered, not the API",
            hint=f"check that {base_url_name} points at a Civitai site",
            **common,
        )
    if status == 400:
        return BadRequest(f"bad request: {msg or 'rejected by the server'}", **common)
    if status == 401:
        if "disabled downloads" in lower:
            return DownloadsDisabled(msg or "the creator has disabled downloads", hint="no token can change that", **common)
        if has_token:
            return AuthRequired(
                f"unauthorized: {msg or 'the API token was not accepted'}",
                hint=rejected_token_hint(token_source),
                **common,
            )
        return AuthRequired(
            f"login required: {msg or 'this needs an API token'}",
            hint="set CIVITAI_API_TOKEN to an API key from your Civitai account settings",
            **common,
        )
    if status == 403:
        if isinstance(body, dict) and str(body.get("error", "")).lower().replace("-", " ") == "early access":
            deadline = body.get("deadline") if isinstance(body.get("deadline"), str) else None
            until = f" until {human_time(deadline, time_of_day=True)}" if deadline else ""
            detail = body.get("message") if isinstance(body.get("message"), str) and body["message"].strip() else None
            return EarlyAccess(
                f"early access{until}: {_one_line(detail) if detail else 'only supporters can download this version yet'}",
                deadline=deadline,
                hint="wait for the deadline or get access on the model page",
                **common,
            )
        return Forbidden(f"forbidden: {msg or 'access denied'}", **common)
    if status == 404:
        return NotFound(f"{not_found}{where}" if not_found else f"not found{where}: {msg or safe_url}", **common)
    if status == 410:
        return Archived(f"archived: {msg or 'the files of this model are no longer on Civitai'}", **common)
    if status == 429 and "too many pages" in lower:
        return PageLimit(f"page limit: {msg}", hint="page with cursors (nextCursor), not page numbers", **common)
    if status in (429, 503):
        retry_after = _retry_after(headers)
        wait = f"; retry after {retry_after:g} s" if retry_after is not None else ""
        label = "rate limited" if status == 429 else "Civitai is overloaded"
        return RateLimited(
            f"{label}{where}{wait}: {msg or 'too many requests'}",
            retry_after=retry_after,
            hint="try again later",
            **common,
        )
    if status == 451:
        return RegionBlocked(f"blocked in your region: {msg or 'unavailable'}", **common)
    if status >= 500:
        return ServerError(f"Civitai server error {status}{where}: {msg or 'no details'}", hint="try again later", **common)
    return CivitaiError(f"HTTP {status}{where}: {msg or 'unexpected answer'}", **common)


def error_for_response(response: Any, **kw: Any) -> CivitaiError:
    content_type = response.headers.get("Content-Type", "")
    text = response.text if response.content else ""
    body: Any = text
    if text and not looks_like_html(content_type, text):
        try:
            body = response.json()
        except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than Python's stack
            body = text[:300]
    return error_for(response.status_code, body=body, content_type=content_type, headers=response.headers, url=response.url, **kw)


_HEX = re.compile(r"^[0-9a-fA-F]+$")


def is_hex(text: str) -> bool:
    return bool(_HEX.match(text or ""))
