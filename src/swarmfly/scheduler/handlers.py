"""The scheduler's HTTP routes (the protocol is ``wire/scheduler.py``): pydantic in, pydantic
out. Handlers only translate; the service decides, and errors are rendered by the middleware."""

from __future__ import annotations

from aiohttp import web

from swarmfly.scheduler.appkeys import SERVICE
from swarmfly.web.bodies import model_response, read_model
from swarmfly.wire.scheduler import (
    HOST_KEEPALIVE_PATH,
    HOST_PATH,
    HOSTS_PATH,
    PEER_PARENTS_PATH,
    PEER_PATH,
    PEER_PIECES_PATH,
    PEER_RESULT_PATH,
    PEERS_PATH,
    AnnouncePeer,
    KeepAlive,
    RegisterHost,
    ReportPieces,
    ReportResult,
    Reschedule,
)


async def register_host(request: web.Request) -> web.Response:
    message = await read_model(request, RegisterHost)
    return model_response(request.app[SERVICE].register_host(message))


async def keepalive(request: web.Request) -> web.Response:
    message = await read_model(request, KeepAlive)
    request.app[SERVICE].keepalive(request.match_info["host_id"], message)
    return web.Response(status=204)


async def leave_host(request: web.Request) -> web.Response:
    request.app[SERVICE].leave_host(request.match_info["host_id"])
    return web.Response(status=204)


async def announce_peer(request: web.Request) -> web.Response:
    message = await read_model(request, AnnouncePeer)
    return model_response(await request.app[SERVICE].announce(message))


async def report_pieces(request: web.Request) -> web.Response:
    message = await read_model(request, ReportPieces)
    request.app[SERVICE].report_pieces(request.match_info["peer_id"], message)
    return web.Response(status=204)


async def reschedule(request: web.Request) -> web.Response:
    message = await read_model(request, Reschedule)
    return model_response(
        await request.app[SERVICE].reschedule(request.match_info["peer_id"], message)
    )


async def report_result(request: web.Request) -> web.Response:
    message = await read_model(request, ReportResult)
    request.app[SERVICE].report_result(request.match_info["peer_id"], message)
    return web.Response(status=204)


async def leave_peer(request: web.Request) -> web.Response:
    request.app[SERVICE].leave_peer(request.match_info["peer_id"])
    return web.Response(status=204)


def add_scheduler_routes(app: web.Application) -> None:
    app.router.add_post(HOSTS_PATH, register_host)
    app.router.add_post(HOST_KEEPALIVE_PATH, keepalive)
    app.router.add_delete(HOST_PATH, leave_host)
    app.router.add_post(PEERS_PATH, announce_peer)
    app.router.add_post(PEER_PIECES_PATH, report_pieces)
    app.router.add_post(PEER_PARENTS_PATH, reschedule)
    app.router.add_post(PEER_RESULT_PATH, report_result)
    app.router.add_delete(PEER_PATH, leave_peer)
