"""The route table as a Starlette app: mounted into A1111/Forge's FastAPI, and run by the standalone server.

Written for Starlette 0.26 (inside A1111) as much as for today's: only ``Starlette``, ``Route``,
``Mount``, ``StaticFiles``, ``Response`` and ``run_in_threadpool``. The app answers under ``/api`` and
``/static`` and also under the full ``/civitai-companion/...`` prefix, so it works the same mounted at
``/civitai-companion`` (the sub-app sees the rest of the path) or added at the root.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any, Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import __version__
from .routes import PREFIX, ApiRequest, build_routes, handle

STATIC_DIR = Path(__file__).resolve().parent / "static"
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]


def _unauthorized() -> Response:
    body = json.dumps({"error": "log in to the web UI first", "code": "auth_required"})
    return Response(body, status_code=401, media_type="application/json")


def create_app(service: Any, *, auth: Callable[[Request], Any] | None = None, page: bool = False,
               trusted_hosts: list[str] | None = None) -> Starlette:
    """The API and the front end's files; ``auth(request)`` (sync or async) returning False → 401 JSON.
    ``page`` also serves the standalone page at ``/``. ``trusted_hosts`` refuses requests whose ``Host`` is
    another name (400): a site whose name a DNS trick points at 127.0.0.1 is then not the app's origin."""
    table = build_routes(service)

    async def allowed(request: Request) -> bool:
        if auth is None:
            return True
        result = auth(request)
        if inspect.isawaitable(result):
            result = await result
        return bool(result)

    async def api(request: Request) -> Response:
        if not await allowed(request):
            return _unauthorized()
        body = await request.body()
        url = request.url
        api_request = ApiRequest(
            method=request.method,
            path=request.path_params.get("path", ""),
            query=list(request.query_params.multi_items()),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            host_origin=f"{url.scheme}://{url.netloc}" if url.netloc else None,
        )
        answer = await run_in_threadpool(handle, table, api_request)
        headers = {"Cache-Control": "no-store", **answer.headers}
        payload = b"" if request.method == "HEAD" else answer.payload()
        return Response(payload, status_code=answer.status, headers=headers, media_type=answer.content_type)

    static = StaticFiles(directory=str(STATIC_DIR), check_dir=False)
    routes: list = []
    for base in ("", PREFIX):
        routes.append(Route(base + "/api/{path:path}", api, methods=METHODS))
        routes.append(Mount(base + "/static", app=static))
    if page:
        async def index(request: Request) -> Response:
            if not await allowed(request):
                return _unauthorized()
            return HTMLResponse(page_html(), headers={"Cache-Control": "no-cache"})

        routes.append(Route("/", index, methods=["GET", "HEAD"]))
    middleware = []
    if trusted_hosts:
        from starlette.middleware import Middleware
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=list(trusted_hosts)))
    return Starlette(routes=routes, middleware=middleware)


def page_html(*, base: str = PREFIX.lstrip("/")) -> str:
    """The standalone page: the web component, its module URL versioned (StaticFiles sends no Cache-Control)
    and relative, so the page also works under a proxy's sub-path."""
    stamp = _static_stamp()
    return (
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<title>Civitai Companion</title>\n"
        "<style>html,body{margin:0;height:100%;background:#0b0f19;color:#f3f4f6;font-family:system-ui,sans-serif}"
        "@media (prefers-color-scheme: light){html,body{background:#fff;color:#1f2937}}"
        "civitai-companion{display:block;min-height:100vh}</style>\n"
        f"<script type=\"module\" src=\"{base}/static/companion.js?v={stamp}\"></script>\n"
        "</head>\n<body>\n<civitai-companion host=\"standalone\"></civitai-companion>\n"
        "<noscript>Civitai Companion needs JavaScript.</noscript>\n</body>\n</html>\n"
    )


def _static_stamp() -> str:
    """The package version plus the newest static file's time: a changed front end is fetched anew."""
    try:
        newest = max((p.stat().st_mtime_ns for p in STATIC_DIR.rglob("*") if p.is_file()), default=0)
    except OSError:
        newest = 0
    return f"{__version__}-{newest // 1_000_000_000:x}"
