"""The app's route table on an aiohttp route table (ComfyUI's ``PromptServer.instance.routes``).

Every host serves the same table at the same prefix: here one catch-all route hands each request to
``routes.handle`` in a worker thread (the table's handlers are synchronous and may touch the disk), so
matching, the Origin check and error mapping stay in one place. The front end is served from the
pack's own static route, not from ComfyUI's ``WEB_DIRECTORY`` (where every ``.js`` is loaded as an
extension). aiohttp is imported when ``register`` runs, never at import.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from .routes import API_PREFIX, PREFIX

log = logging.getLogger(__name__)

STATIC = PREFIX + "/static"
STATIC_DIR = Path(__file__).resolve().parent / "static"
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")


def _table(routes_or_service: Any) -> list:
    """A route table as given, or the one ``routes.build_routes`` makes for a service."""
    if isinstance(routes_or_service, (list, tuple)):
        return routes_or_service  # a RouteTable keeps its secrets() for the answers' last check
    from .routes import build_routes

    return build_routes(routes_or_service)


async def _to_api_request(request, tail: str):
    from .routes import ApiRequest

    body = await request.read()
    return ApiRequest(
        method=request.method,
        path=tail,
        path_params={},
        query=list(request.query.items()),
        headers={key.lower(): value for key, value in request.headers.items()},
        body=body,
        host_origin=f"{request.scheme}://{request.host}",
    )


def _to_response(answer):
    from aiohttp import web

    headers = {k: v for k, v in (answer.headers or {}).items() if k.lower() != "content-type"}
    headers["Content-Type"] = answer.content_type
    return web.Response(status=answer.status, body=answer.payload(), headers=headers)


def register(routes_or_service: Any, prompt_server_routes, *, static_dir: str | Path | None = None) -> list:
    """Put the app (API and front end) on an aiohttp ``RouteTableDef``; returns the route table used.

    ComfyUI mirrors plain routes under ``/api`` (so ``api.fetchApi`` works) but not static ones; the page
    builds its API address from its own module URL, so both spellings reach the same handlers.
    """
    from .routes import handle

    table = _table(routes_or_service)

    async def serve(request):
        api_request = await _to_api_request(request, request.match_info.get("tail", ""))
        loop = asyncio.get_running_loop()
        answer = await loop.run_in_executor(None, handle, table, api_request)
        return _to_response(answer)

    for method in METHODS:
        prompt_server_routes.route(method, API_PREFIX + "/{tail:.*}")(serve)
    folder = Path(static_dir) if static_dir is not None else STATIC_DIR
    if folder.is_dir():
        prompt_server_routes.static(STATIC, str(folder))
    else:
        log.warning("the app's front end is missing (%s); the Civitai sidebar cannot load", folder)
    return table
