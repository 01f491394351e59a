"""The app's JSON API as one table, and the rules every route keeps — with no web framework.

Each host adapter (``asgi`` for A1111/Forge and the standalone server, ``aiohttp`` for ComfyUI) turns its
framework's request into an :class:`ApiRequest`, calls :func:`handle` in a worker thread and sends back the
:class:`ApiResponse`. So the table, the cross-site checks and the error shapes are written once:

- a POST/PUT/DELETE whose ``Origin`` (or ``Referer``) is not the page's own is refused (403): a web page the
  user visits must not start downloads or change settings on ``127.0.0.1``;
- a state-changing body that is not JSON is refused (415): HTML forms cannot send JSON without a preflight;
- every failure is ``{"error": "one line", "code": "..."}`` with its HTTP status, and never holds the token.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

PREFIX = "/civitai-companion"
API_PREFIX = PREFIX + "/api"
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_BODY = 1024 * 1024  # settings and download requests are a few hundred bytes


class ApiError(Exception):
    """A failure a handler reports as it is: HTTP status, a machine code and one line for the user."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, " ".join(str(message).split())


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # relative to the API root: "search", "models/{id}", ...
    handler: Callable[["ApiRequest"], Any]


@dataclass
class ApiRequest:
    method: str
    path: str
    path_params: dict[str, str] = field(default_factory=dict)
    query: list[tuple[str, str]] = field(default_factory=list)  # repeated keys kept, in order
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    host_origin: str | None = None  # scheme://host[:port] the page was served from, when the adapter knows

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The last value of a query parameter (blank counts as absent)."""
        values = self.args(name)
        return values[-1] if values else default

    def args(self, name: str) -> list[str]:
        """Every non-blank value of a repeated query parameter (``types=LORA&types=VAE``)."""
        return [v for k, v in self.query if k == name and v.strip()]

    def json(self) -> Any:
        """The body as JSON (``{}`` when empty); bad JSON is a 400."""
        if not self.body.strip():
            return {}
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise ApiError(400, "bad_json", "the request body is not valid JSON") from None


@dataclass
class ApiResponse:
    status: int = 200
    body: object = None  # JSON-able; ignored when raw is set
    raw: bytes | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    def payload(self) -> bytes:
        """The bytes to send: ``raw`` as it is, else ``body`` as compact UTF-8 JSON."""
        if self.raw is not None:
            return self.raw
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class RouteTable(list):
    """The routes, plus ``secrets()``: texts (the token) that must never appear in an answer."""

    def __init__(self, routes: Iterable[Route], *, secrets: Callable[[], Iterable[str]] | None = None) -> None:
        super().__init__(routes)
        self.secrets = secrets or (lambda: ())


def build_routes(service: Any) -> RouteTable:
    """The JSON API of DESIGN.md, each row a method, a path and what answers it."""
    s = service
    routes = [
        Route("GET", "search", lambda r: s.search(
            query=r.arg("query"), types=r.args("types"), base_models=r.args("baseModels"), sort=r.arg("sort"),
            period=r.arg("period"), tag=r.arg("tag"), username=r.arg("username"), nsfw=r.arg("nsfw"),
            cursor=r.arg("cursor"), limit=r.arg("limit"))),
        Route("GET", "models/{id}", lambda r: s.model(r.path_params["id"])),
        Route("GET", "images", lambda r: s.images(
            model_version_id=r.arg("modelVersionId"), model_id=r.arg("modelId"), cursor=r.arg("cursor"),
            nsfw=r.arg("nsfw"), limit=r.arg("limit"))),
        Route("GET", "media", lambda r: s.media(r.arg("url"), width=r.arg("width"))),
        Route("GET", "enums", lambda r: s.enums()),
        Route("GET", "me", lambda r: s.me()),
        Route("GET", "downloads", lambda r: s.downloads()),
        Route("POST", "downloads", lambda r: accepted(s.start_download(_object(r)))),
        Route("DELETE", "downloads", lambda r: s.clear_downloads()),
        Route("DELETE", "downloads/{id}", lambda r: s.cancel_download(r.path_params["id"])),
        Route("POST", "downloads/{id}/retry", lambda r: accepted(s.retry_download(r.path_params["id"]))),
        Route("GET", "library", lambda r: s.library(
            types=r.args("types"), base_models=r.args("baseModels"), status=r.arg("status"), query=r.arg("query"),
            offset=r.arg("offset"), limit=r.arg("limit"))),
        Route("GET", "library/preview/{sha256}", lambda r: s.preview(r.path_params["sha256"])),
        Route("POST", "library/scan", lambda r: accepted(s.start_scan(_object(r)))),
        Route("DELETE", "library/scan/{id}", lambda r: s.cancel_scan(r.path_params["id"])),
        Route("GET", "jobs", lambda r: s.jobs_status()),
        Route("GET", "settings", lambda r: s.get_settings()),
        Route("PUT", "settings", lambda r: s.put_settings(_object(r))),
    ]
    return RouteTable(routes, secrets=getattr(service, "secrets", None))


def accepted(body: Any) -> ApiResponse:
    """202: the job was queued; its progress is in ``GET jobs``."""
    return ApiResponse(202, body)


def _object(request: ApiRequest) -> dict:
    data = request.json()
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", "the request body must be a JSON object")
    return data


# -- dispatch --------------------------------------------------------------------------------------------------
_PARAM = re.compile(r"\{(\w+)\}")


def _pattern(path: str) -> re.Pattern:
    regex = _PARAM.sub(lambda m: f"(?P<{m.group(1)}>[^/]+)", re.escape(path).replace(r"\{", "{").replace(r"\}", "}"))
    return re.compile(f"^{regex}$")


def relative_path(path: str) -> str:
    """``/civitai-companion/api/models/1`` or ``/models/1`` -> ``models/1``."""
    for prefix in (API_PREFIX, "/api"):
        if path.startswith(prefix + "/"):
            path = path[len(prefix):]
            break
    return path.strip("/")


def handle(routes: list[Route], request: ApiRequest) -> ApiResponse:
    """Answer one request: match the route, apply the rules, map every failure to a JSON error."""
    secrets = [s for s in getattr(routes, "secrets", lambda: ())() if s]
    try:
        response = _dispatch(routes, request)
    except ApiError as exc:
        response = error_response(exc.status, exc.code, exc.message)
    except Exception as exc:  # noqa: BLE001 - every failure is one JSON line, never a traceback page
        response = error_for_exception(exc)
    return _scrubbed(response, secrets)


def _dispatch(routes: list[Route], request: ApiRequest) -> ApiResponse:
    method = request.method.upper()
    path = relative_path(request.path)
    allowed: list[str] = []
    for route in routes:
        match = _compiled(route).match(path)
        if match is None:
            continue
        if route.method != method and not (method == "HEAD" and route.method == "GET"):
            allowed.append(route.method)
            continue
        request.path_params = {**request.path_params, **match.groupdict()}
        if method in STATE_CHANGING:
            check_same_origin(request)
            check_json_body(request)
        result = route.handler(request)
        return result if isinstance(result, ApiResponse) else ApiResponse(200, result)
    if allowed:
        response = error_response(405, "method_not_allowed", f"{method} is not allowed here")
        response.headers["Allow"] = ", ".join(sorted(set(allowed)))
        return response
    return error_response(404, "not_found", f"no such API route: {path or '/'}")


_PATTERNS: dict[str, re.Pattern] = {}


def _compiled(route: Route) -> re.Pattern:
    pattern = _PATTERNS.get(route.path)
    if pattern is None:
        pattern = _PATTERNS[route.path] = _pattern(route.path)
    return pattern


# -- the rules -------------------------------------------------------------------------------------------------
def _netloc(url: str | None) -> str | None:
    if not url or url == "null":
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return _default_port(parts.scheme, parts.netloc.lower())


def _default_port(scheme: str, netloc: str) -> str:
    default = ":443" if scheme == "https" else ":80"
    return netloc[: -len(default)] if netloc.endswith(default) else netloc


def own_hosts(request: ApiRequest) -> set[str]:
    """The host[:port] names the page may have been served from: what the adapter says, and the Host the
    browser sent (a reverse proxy may pass the original as X-Forwarded-Host; a cross-site page cannot set
    that header without a preflight we never approve)."""
    hosts = set()
    origin = _netloc(request.host_origin)
    if origin:
        hosts.add(origin)
    for name in ("host", "x-forwarded-host"):
        for value in (request.headers.get(name) or "").split(","):
            value = value.strip().lower()
            if value:
                hosts.update({_default_port("http", value), _default_port("https", value)})
    return hosts


def check_same_origin(request: ApiRequest) -> None:
    """403 for a state-changing request sent by another site's page."""
    headers = request.headers
    if headers.get("sec-fetch-site", "").lower() == "cross-site":
        raise ApiError(403, "cross_origin", "refused: the request came from another site")
    origin = headers.get("origin")
    if origin is None and headers.get("referer"):
        origin = headers["referer"]
    if origin is None:
        return  # not sent by a browser page (curl, scripts): nothing to forge
    source = _netloc(origin)
    if source is None or source not in own_hosts(request):
        raise ApiError(403, "cross_origin", "refused: the request came from another site")


def check_json_body(request: ApiRequest) -> None:
    """415 for a body that is not JSON (HTML forms send url-encoded, multipart or text/plain)."""
    if len(request.body) > MAX_BODY:
        raise ApiError(413, "too_large", "the request body is too large")
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if not kind and not request.body.strip():
        return
    if kind != "application/json" and not (kind.startswith("application/") and kind.endswith("+json")):
        raise ApiError(415, "unsupported_media_type", "send the request body as JSON (Content-Type: application/json)")


# -- errors ----------------------------------------------------------------------------------------------------
def error_response(status: int, code: str, message: str) -> ApiResponse:
    return ApiResponse(status, {"error": " ".join(str(message).split()) or "failed", "code": code})


def error_for_exception(exc: BaseException) -> ApiResponse:
    """The status and code of a core exception (Civitai's errors keep their meaning, e.g. 429 stays 429)."""
    from ..api import errors as e

    table: list[tuple[type, int, str]] = [
        (e.PageLimit, 400, "bad_request"),
        (e.UnknownRoute, 502, "civitai_unknown_route"),
        (e.Archived, 410, "archived"),
        (e.NotFound, 404, "not_found"),
        (e.DownloadsDisabled, 403, "downloads_disabled"),
        (e.AuthRequired, 401, "auth_required"),
        (e.EarlyAccess, 403, "early_access"),
        (e.Forbidden, 403, "forbidden"),
        (e.RateLimited, 429, "rate_limited"),
        (e.BadRequest, 400, "bad_request"),
        (e.RegionBlocked, 451, "region_blocked"),
        (e.NetworkError, 502, "civitai_unreachable"),
        (e.ServerError, 502, "civitai_error"),
        (e.BadResponse, 502, "civitai_bad_response"),
        (e.CivitaiError, 502, "civitai_error"),
    ]
    for cls, status, code in table:
        if isinstance(exc, cls):
            if cls is e.RateLimited and getattr(exc, "status", None) == 503:
                status, code = 503, "civitai_busy"
            response = error_response(status, code, str(exc))
            retry_after = getattr(exc, "retry_after", None)
            if retry_after is not None:
                response.headers["Retry-After"] = str(int(retry_after + 0.999))
            return response
    if isinstance(exc, (ValueError, LookupError)):
        return error_response(400, "bad_request", str(exc) or type(exc).__name__)
    if isinstance(exc, OSError):
        return error_response(500, "os_error", str(exc) or type(exc).__name__)
    log.exception("unexpected error in an API route")
    return error_response(500, "internal", f"unexpected {type(exc).__name__}: {exc}")


def _scrubbed(response: ApiResponse, secrets: list[str]) -> ApiResponse:
    """The last guard: a secret found in a JSON answer is replaced (the core should never put it there)."""
    if not secrets or response.raw is not None:
        return response
    text = json.dumps(response.body, ensure_ascii=False)
    if not any(secret in text for secret in secrets):
        return response
    log.warning("a secret was found in an API answer and removed")
    for secret in secrets:
        text = text.replace(json.dumps(secret, ensure_ascii=False)[1:-1], "***")
    response.body = json.loads(text)
    return response
