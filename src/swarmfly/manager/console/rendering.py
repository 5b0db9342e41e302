"""Turning a console page into a response: the template with what every page needs (the user,
the CSRF token), redirects after a POST, and errors as an HTML page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web

from swarmfly import errors
from swarmfly.manager.console.appkeys import SESSION, SESSIONS, USER
from swarmfly.web.errors import status_for

#: Sent with every console response.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def route_name(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return (resource.name or "") if resource is not None else ""


def render(
    request: web.Request, template: str, context: Mapping[str, Any], *, status: int = 200
) -> web.Response:
    codec = request.config_dict[SESSIONS]
    page = {
        "user": request.get(USER),
        "csrf_token": codec.csrf_token(request[SESSION]),
        "route": route_name(request),
        **context,
    }
    return aiohttp_jinja2.render_template(template, request, page, status=status)


def see_other(location: str) -> web.Response:
    """The answer to a POST that worked: the browser GETs ``location``."""
    return web.Response(status=303, headers={"Location": location})


def local_path(target: str | None, default: str) -> str:
    """``target`` when it is a path on this site (``/jobs/preheats/3``), else ``default``: a
    ``next`` parameter never sends anyone elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    return default if parts.scheme or parts.netloc else target


def error_page(request: web.Request, exc: errors.SwarmflyError) -> web.Response:
    status = status_for(exc)
    titles = {403: "Not allowed", 404: "Not found", 409: "Cannot do that now"}
    title = titles.get(status, "Something went wrong" if status >= 500 else "Cannot do that")
    context = {"title": title, "message": str(exc), "status": status}
    return render(request, "error.html", context, status=status)
