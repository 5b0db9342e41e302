"""``/oapi/v1/jobs``: create a preheat (200 PENDING), read one, list them, delete one."""

from __future__ import annotations

from aiohttp import web

from swarmfly.manager.appkeys import JOBS, SUBMITTER
from swarmfly.manager.errors import InvalidField
from swarmfly.manager.openapi.auth import TOKEN_USER
from swarmfly.manager.openapi.bodies import json_answer, json_body, path_id
from swarmfly.manager.openapi.paging import link_header, parse_page
from swarmfly.manager.work import JobState


async def create_job(request: web.Request) -> web.Response:
    submitter = request.config_dict[SUBMITTER]
    view = await submitter.submit(await json_body(request), user_id=request.get(TOKEN_USER))
    return json_answer(view)


async def get_job(request: web.Request) -> web.Response:
    return json_answer(await request.config_dict[JOBS].get(path_id(request)))


async def list_jobs(request: web.Request) -> web.Response:
    query = request.query
    page = parse_page(query.get("page"), query.get("per_page"))
    state = query.get("state") or None
    if state is not None and state not in {s.value for s in JobState}:
        raise InvalidField("state", "one of PENDING, SUCCESS, FAILURE")
    views, total = await request.config_dict[JOBS].page(
        page.page, page.per_page, job_type=query.get("type") or None, state=state
    )
    link = link_header(request.path, query.items(), page, total)
    return json_answer(views, headers={"Link": link})


async def delete_job(request: web.Request) -> web.Response:
    await request.config_dict[JOBS].delete(path_id(request))
    return web.Response(status=200)


def add_job_routes(app: web.Application) -> None:
    app.router.add_post("/jobs", create_job)
    app.router.add_get("/jobs", list_jobs)
    app.router.add_get("/jobs/{id}", get_job)
    app.router.add_delete("/jobs/{id}", delete_job)
