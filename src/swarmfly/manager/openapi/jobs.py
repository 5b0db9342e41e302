"""``/oapi/v1/jobs``: create a preheat (200 PENDING), read one, list them, delete one."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from swarmfly.manager.appkeys import CLOCK, CLUSTERS, CONFIG, JOBS, METRICS, SCHEDULERS
from swarmfly.manager.errors import InvalidField
from swarmfly.manager.openapi.auth import TOKEN_USER
from swarmfly.manager.openapi.bodies import json_answer, json_body, path_id
from swarmfly.manager.openapi.paging import link_header, parse_page
from swarmfly.manager.preheat import parse_new_job, parse_preheat, redacted_args
from swarmfly.manager.work import JobState


async def _cluster_ids(request: web.Request, asked: Sequence[int] | None) -> list[int]:
    """The clusters a job goes to: the ones named (each must exist), else every cluster with
    a live scheduler, else (none is live yet) every cluster."""
    clusters = request.config_dict[CLUSTERS]
    if asked:
        wanted = sorted(set(asked))
        missing = await clusters.missing(wanted)
        if missing:
            unknown = ", ".join(map(str, missing))
            raise InvalidField("scheduler_cluster_ids", f"unknown scheduler cluster {unknown}")
        return wanted
    active = await request.config_dict[SCHEDULERS].active_cluster_ids()
    return active or await clusters.ids()


async def create_job(request: web.Request) -> web.Response:
    new = parse_new_job(await json_body(request))
    assert new.args is not None
    jobs_config = request.config_dict[CONFIG].jobs
    spec = parse_preheat(
        new.args,
        default_timeout=jobs_config.default_timeout,
        default_concurrent_count=jobs_config.default_concurrent_count,
        now=request.config_dict[CLOCK](),
    )
    cluster_ids = await _cluster_ids(request, new.scheduler_cluster_ids)
    view = await request.config_dict[JOBS].create(
        job_type=new.type,
        bio=new.bio,
        spec=spec,
        shown_args=redacted_args(new.args),
        cluster_ids=cluster_ids,
        user_id=request.get(TOKEN_USER),
    )
    request.config_dict[METRICS].jobs_created.labels(type=new.type).inc()
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
