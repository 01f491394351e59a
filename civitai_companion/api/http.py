"""The HTTP layer: one session factory, bounded retries, and a small GET cache.

Retries are our own loop rather than ``urllib3.Retry`` because the decision needs the response body:
Civitai's 429 "too many pages, use cursors" is a usage error that must never be retried, while a real
429 is retried after ``Retry-After``; and a ``Retry-After`` longer than our cap should fail fast with a
clear message instead of blocking a UI for minutes.
"""

from __future__ import annotations

import logging
import random
import socket
import ssl
import threading
import time
from collections import OrderedDict
from typing import Any, Callable
from urllib.parse import urlsplit

import requests

from .. import __version__
from .errors import (
    BadRequest,
    BadResponse,
    CivitaiError,
    NetworkError,
    PageLimit,
    RateLimited,
    error_for_response,
    looks_like_html,
    redact_url,
    scrub_secret,
)

log = logging.getLogger(__name__)

USER_AGENT = f"civitai-companion/{__version__}"
DEFAULT_TIMEOUT = (10.0, 60.0)  # (connect, read) seconds
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524})
QUICK_TRIES = 2  # refused connections, unknown host names and TLS failures: one retry, not five


def make_session() -> requests.Session:
    """A session whose User-Agent names us (browser-like agents get login pages instead of JSON errors)."""
    session = requests.Session()
    session.headers["User-Agent"] = f"{USER_AGENT} python-requests/{requests.__version__}"
    session.headers["Accept"] = "application/json"
    return session


class ResponseCache:
    """An in-memory TTL cache for GET answers, like Civitai's own edge cache (300 s by default)."""

    def __init__(self, *, ttl: float = 300.0, max_entries: int = 256, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._data: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            hit = self._data.get(key)
            if hit is None:
                return None
            stored, value = hit
            if self._clock() - stored > self.ttl:
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            self._data[key] = (self._clock(), value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class Transport:
    """Sends requests with a timeout always, retries what is worth retrying, and maps errors."""

    def __init__(
        self,
        *,
        session: requests.Session | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        max_tries: int = 5,
        backoff: float = 0.5,
        backoff_cap: float = 8.0,
        retry_after_cap: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.session = session or make_session()
        self.timeout = timeout
        self.max_tries = max(1, min(int(max_tries), 5))
        self.backoff = backoff
        self.backoff_cap = backoff_cap
        self.retry_after_cap = retry_after_cap
        self.sleep = sleep
        self.base_url_name = "CIVITAI_BASE_URL"  # what a hint blames for a wrong site address

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        base = min(self.backoff_cap, self.backoff * (2 ** (attempt - 1)))
        return base * (0.5 + random.random() / 2)

    def send(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        json_body: Any = None,
        headers: dict | None = None,
        stream: bool = False,
        allow_redirects: bool = True,
        error_kw: dict | None = None,
        timeout: Any = None,
    ) -> requests.Response:
        """One logical request: returns a successful response or raises a ``CivitaiError``."""
        error_kw = {"base_url_name": self.base_url_name, **(error_kw or {})}
        last_error: CivitaiError | None = None
        tries = self.max_tries
        attempt = 0
        while attempt < tries:
            attempt += 1
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    json=json_body,
                    headers=headers,
                    stream=stream,
                    allow_redirects=allow_redirects,
                    timeout=timeout or self.timeout,
                )
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                # ChunkedEncodingError: the connection dropped in the middle of the body.
                what, quick, hint = _network_failure(exc, url, error_kw["base_url_name"])
                if quick:
                    tries = min(tries, QUICK_TRIES)
                last_error = NetworkError(f"{what}: {method} {redact_url(url)}", url=url, hint=hint)
                retry_after = None
            except (requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema, requests.exceptions.InvalidURL):
                raise BadRequest(
                    f"not a valid URL: {redact_url(url)}", url=url,
                    hint=f"{error_kw['base_url_name']} must look like https://civitai.com",
                ) from None
            except requests.exceptions.ContentDecodingError:
                raise BadResponse(
                    f"the answer from {redact_url(url)} could not be decoded (its compression is broken)",
                    url=url,
                ) from None
            except requests.exceptions.TooManyRedirects:
                raise BadResponse(f"too many redirects for {redact_url(url)}", url=url, hint="try again later") from None
            except requests.RequestException as exc:  # anything else of requests': not worth retrying
                raise CivitaiError(f"request failed: {type(exc).__name__} for {redact_url(url)}", url=url) from None
            else:
                if response.status_code < 400:
                    return response
                error = scrub_secret(error_for_response(response, **error_kw), _bearer(headers))
                response.close()
                if isinstance(error, PageLimit) or response.status_code not in RETRY_STATUSES:
                    raise error
                last_error = error
                retry_after = getattr(error, "retry_after", None)
                if retry_after is not None and retry_after > self.retry_after_cap:
                    raise error  # waiting that long would freeze the caller: say so now
            if attempt >= tries:
                break
            delay = self._delay(attempt, retry_after)
            log.info("retrying %s %s in %.1f s (%s)", method, redact_url(url), delay, last_error)
            self.sleep(delay)
        assert last_error is not None
        if isinstance(last_error, RateLimited):
            raise last_error
        if attempt > 1:
            last_error.message = f"{last_error.message}; gave up after {attempt} tries"
        raise last_error


def _bearer(headers: dict | None) -> str | None:
    value = (headers or {}).get("Authorization")
    return value.split(" ", 1)[-1] if isinstance(value, str) and value else None


def _causes(exc: BaseException):
    """``exc`` and everything it wraps (requests wraps urllib3, which wraps the socket's error)."""
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        current = stack.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend([current.__cause__, current.__context__, getattr(current, "reason", None), *current.args])


def _network_failure(exc: BaseException, url: str, base_url_name: str) -> tuple[str, bool, str]:
    """(what went wrong in words, whether one retry is all it deserves, the next step).

    A refused connection, a host name that does not resolve and a failed TLS handshake do not get
    better in the next seconds: five tries with back-off only make the user wait."""
    where = urlsplit(url).netloc or url
    causes = list(_causes(exc))
    if isinstance(exc, requests.Timeout):
        return "timed out", False, f"check your network or {base_url_name}"
    if any(isinstance(c, (requests.exceptions.SSLError, ssl.SSLError)) for c in causes):
        return (f"TLS handshake with {where} failed", True,
                f"the server may not speak https there; check {base_url_name}")
    if any(isinstance(c, socket.gaierror) or type(c).__name__ == "NameResolutionError" for c in causes):
        host = urlsplit(url).hostname or where
        return f"cannot find the host {host}", True, f"check the address in {base_url_name}, or your network"
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return f"{where} refused the connection", True, f"is the server running? check {base_url_name}"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "connection lost", False, "check your network"
    return "connection failed", False, f"check your network or {base_url_name}"


def decode_json(response: requests.Response, *, base_url_name: str = "CIVITAI_BASE_URL") -> Any:
    """The JSON body, or a clear error when a proxy, login page or broken server answered instead."""
    content_type = response.headers.get("Content-Type", "")
    if looks_like_html(content_type, response.content[:512]):
        raise BadResponse(
            f"expected JSON from {urlsplit(response.url).netloc or 'the server'}, got an HTML page",
            url=response.url,
            status=response.status_code,
            hint=f"check {base_url_name}; a proxy or login page may be answering",
        )
    try:
        return response.json()
    except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than Python's stack
        raise BadResponse(
            f"invalid JSON from {redact_url(response.url)}", url=response.url, status=response.status_code
        ) from None
