"""``GET /healthy``: what load balancers, Harbor and our own tests poll."""

from __future__ import annotations

from aiohttp import web


async def healthy(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def add_health_routes(app: web.Application) -> None:
    app.router.add_get("/healthy", healthy)
