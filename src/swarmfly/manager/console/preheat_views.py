"""The preheat pages: the list (filtered by state, paged, its pending rows refreshed by htmx),
the new-preheat form, a job's page (its status part refreshed while it is pending) and
"preheat again". Jobs are read through ``JobStore`` and made through ``JobSubmitter``, exactly
as the Open API reads and makes them."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from swarmfly.manager.appkeys import CLUSTERS, JOBS, SUBMITTER
from swarmfly.manager.console.appkeys import USER
from swarmfly.manager.console.display import job_detail, job_row
from swarmfly.manager.console.forms import (
    PIECE_LENGTHS,
    PLATFORMS,
    SCOPES,
    PreheatForm,
    form_from_args,
    form_problems,
    job_body,
    problem_field,
    read_form,
)
from swarmfly.manager.console.rendering import render, see_other
from swarmfly.manager.errors import InvalidField, SecretsNotKept
from swarmfly.manager.openapi.bodies import path_id
from swarmfly.manager.openapi.paging import last_page
from swarmfly.units import format_size

PER_PAGE = 10
STATE_FILTERS = (
    ("", "All"),
    ("pending", "Pending"),
    ("success", "Success"),
    ("failure", "Failure"),
)
JOB_TYPE = "preheat"
FIELD_LABELS = {
    "type": "What to preheat",
    "bio": "Description",
    "clusters": "Clusters",
    "url": "URL",
    "tag": "Tag",
    "application": "Application",
    "filtered_query_params": "Filtered query params",
    "headers": "Headers",
    "piece_length": "Piece length",
    "scope": "Scope",
    "username": "Username",
    "password": "Password",
    "platform": "Platform",
}


def _list_query(request: web.Request) -> tuple[str, int]:
    state = request.query.get("state", "").lower()
    if state not in {key for key, _ in STATE_FILTERS}:
        state = ""
    page = request.query.get("page", "1")
    return state, int(page) if page.isdigit() and 0 < int(page) < 1 << 31 else 1


async def _list_context(request: web.Request) -> dict[str, Any]:
    state, page = _list_query(request)
    views, total = await request.config_dict[JOBS].page(
        page, PER_PAGE, job_type=JOB_TYPE, state=state.upper() or None
    )
    rows = [job_row(view) for view in views]
    query = {"state": state, "page": str(page)} if state else {"page": str(page)}
    return {
        "rows": rows,
        "any_pending": any(row.is_pending for row in rows),
        "state": state,
        "filters": STATE_FILTERS,
        "page": page,
        "last_page": last_page(total, PER_PAGE),
        "total": total,
        "query": query,
    }


async def preheats(request: web.Request) -> web.StreamResponse:
    return render(request, "preheats.html", await _list_context(request))


async def preheat_rows(request: web.Request) -> web.StreamResponse:
    return render(request, "_preheat_rows.html", await _list_context(request))


async def _clusters(request: web.Request) -> list[dict[str, Any]]:
    views, _ = await request.config_dict[CLUSTERS].page(1, 1000)
    return views


async def _form_page(
    request: web.Request, form: PreheatForm, *, status: int = 200, notice: str = ""
) -> web.Response:
    clusters = await _clusters(request)
    ticked = set(form.cluster_ids) or {str(c["id"]) for c in clusters}
    context = {
        "form": form,
        "clusters": clusters,
        "ticked": ticked,
        "platforms": PLATFORMS,
        "scopes": SCOPES,
        "piece_lengths": [(str(n), format_size(n)) for n in PIECE_LENGTHS],
        "notice": notice,
        "field_labels": FIELD_LABELS,
    }
    return render(request, "preheat_new.html", context, status=status)


async def new_preheat(request: web.Request) -> web.StreamResponse:
    source = request.query.get("from", "")
    if not source.isdigit():
        return await _form_page(request, PreheatForm())
    stored = await request.config_dict[JOBS].stored(int(source))
    form = form_from_args(stored.bio, stored.args, stored.cluster_ids)
    notice = (
        f"Preheat #{source} again: its registry password and secret header values are not"
        " kept after a job ends. Enter them again."
    )
    return await _form_page(request, form, notice=notice)


async def create_preheat(request: web.Request) -> web.StreamResponse:
    form = read_form(await request.post())
    all_ids = [int(c["id"]) for c in await _clusters(request)]
    form.errors = form_problems(form, all_ids)
    if not form.errors:
        try:
            view = await request.config_dict[SUBMITTER].submit(
                job_body(form, all_ids), user_id=request[USER].id
            )
        except InvalidField as problem:
            where, why = problem_field(form, problem)
            form.errors[where] = why
        else:
            return see_other(f"/jobs/preheats/{view['id']}")
    return await _form_page(request, form, status=422)


async def _detail_context(request: web.Request) -> dict[str, Any]:
    job = job_detail(await request.config_dict[JOBS].get(path_id(request)))
    return {"job": job}


async def preheat(request: web.Request) -> web.StreamResponse:
    return render(request, "preheat.html", await _detail_context(request))


async def preheat_status(request: web.Request) -> web.StreamResponse:
    return render(request, "_preheat_status.html", await _detail_context(request))


async def preheat_again(request: web.Request) -> web.StreamResponse:
    job_id = path_id(request)
    try:
        view = await request.config_dict[SUBMITTER].again(job_id, user_id=request[USER].id)
    except SecretsNotKept:
        return see_other(f"/jobs/preheats/new?from={job_id}")
    return see_other(f"/jobs/preheats/{view['id']}")
