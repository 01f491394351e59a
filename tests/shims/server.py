"""Stand-in for ComfyUI's ``server``: ``PromptServer.instance`` with an aiohttp route table and
``send_sync``, which here records what would go to the browser."""

from __future__ import annotations

from aiohttp import web


class PromptServer:
    instance = None

    def __init__(self, loop=None):
        PromptServer.instance = self
        self.loop = loop
        self.routes = web.RouteTableDef()
        self.sent: list[tuple[str, object, object]] = []

    def send_sync(self, event, data, sid=None):
        self.sent.append((event, data, sid))

    def make_app(self) -> web.Application:
        """What ComfyUI's ``add_routes`` does with the table: plain routes also under ``/api``."""
        app = web.Application()
        mirrored = web.RouteTableDef()
        for route in self.routes:
            if isinstance(route, web.RouteDef):
                mirrored.route(route.method, "/api" + route.path)(route.handler, **route.kwargs)
        app.add_routes(mirrored)
        app.add_routes(self.routes)
        return app
