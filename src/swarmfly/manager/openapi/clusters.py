"""``/oapi/v1/clusters`` (scope ``cluster``): list, read and create scheduler clusters."""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from swarmfly.manager.appkeys import CLUSTERS
from swarmfly.manager.clusters import NewCluster
from swarmfly.manager.errors import InvalidField
from swarmfly.manager.openapi.bodies import json_answer, json_body, path_id
from swarmfly.manager.openapi.paging import link_header, parse_page


async def list_clusters(request: web.Request) -> web.Response:
    page = parse_page(request.query.get("page"), request.query.get("per_page"))
    views, total = await request.config_dict[CLUSTERS].page(page.page, page.per_page)
    link = link_header(request.path, request.query.items(), page, total)
    return json_answer(views, headers={"Link": link})


async def get_cluster(request: web.Request) -> web.Response:
    return json_answer(await request.config_dict[CLUSTERS].get(path_id(request)))


async def create_cluster(request: web.Request) -> web.Response:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise InvalidField("body", "must be a JSON object")
    try:
        new = NewCluster.model_validate(body)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise InvalidField(".".join(map(str, error["loc"])) or "body", error["msg"]) from exc
    return json_answer(await request.config_dict[CLUSTERS].create(new))


def add_cluster_routes(app: web.Application) -> None:
    app.router.add_get("/clusters", list_clusters)
    app.router.add_post("/clusters", create_cluster)
    app.router.add_get("/clusters/{id}", get_cluster)
