"""Personal access tokens in the console: list them, make one (its value shown once, on the
page that answers the POST, never stored or shown again), revoke one. Through ``TokenStore``,
as ``swarmfly token`` does."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from swarmfly.errors import Conflict, InvalidInput
from swarmfly.manager.appkeys import CLOCK, TOKENS
from swarmfly.manager.clock import rfc3339, utc_now
from swarmfly.manager.console.display import shown_time
from swarmfly.manager.console.rendering import render, see_other
from swarmfly.manager.tokens import NewToken, Scope, TokenInfo, TokenState

PATH = "/developer/personal-access-tokens"
EXPIRY_DAYS = (30, 60, 90, 180, 365)
MAX_NAME = 256


def _state(info: TokenInfo, now: float) -> str:
    if info.state != TokenState.ACTIVE:
        return "revoked"
    return "expired" if info.expires_at.timestamp() <= now else "active"


def _row(info: TokenInfo, now: float) -> dict[str, Any]:
    return {
        "name": info.name,
        "scopes": ", ".join(info.scopes),
        "state": _state(info, now),
        "expires_at": shown_time(rfc3339(info.expires_at)),
        "last_used_at": shown_time(rfc3339(info.last_used_at)) if info.last_used_at else "never",
        "created_at": shown_time(rfc3339(info.created_at)),
    }


async def _page(
    request: web.Request,
    *,
    created: NewToken | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> web.Response:
    now = request.config_dict[CLOCK]()
    tokens = await request.config_dict[TOKENS].tokens()
    context = {
        "tokens": [_row(info, now) for info in reversed(tokens)],
        "created": created,
        "errors": errors or {},
        "values": values or {"name": "", "scopes": [Scope.JOB.value], "days": "90"},
        "all_scopes": [scope.value for scope in Scope],
        "expiry_days": EXPIRY_DAYS,
        "revoked": request.query.get("revoked", "")[:MAX_NAME],
        "today": utc_now(request.config_dict[CLOCK]).date().isoformat(),
    }
    return render(request, "tokens.html", context, status=status)


async def tokens(request: web.Request) -> web.StreamResponse:
    return await _page(request)


async def create_token(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    name = str(form.get("name") or "").strip()[:MAX_NAME]
    scopes = [str(s) for s in form.getall("scopes", [])]
    days = str(form.get("days") or "")
    values = {"name": name, "scopes": scopes, "days": days}
    errors: dict[str, str] = {}
    if not days.isdigit() or int(days) not in EXPIRY_DAYS:
        errors["days"] = "choose how long the token lasts"
    if not scopes:
        errors["scopes"] = "choose at least one scope"
    if not errors:
        try:
            created = await request.config_dict[TOKENS].create(
                name, scopes, timedelta(days=int(days))
            )
        except (InvalidInput, Conflict) as exc:
            field = "scopes" if str(exc).startswith("scopes") else "name"
            errors[field] = str(exc).removeprefix(f"{field}: ")
        else:
            return await _page(request, created=created, status=201)
    return await _page(request, errors=errors, values=values, status=422)


async def revoke_token(request: web.Request) -> web.StreamResponse:
    name = str((await request.post()).get("name") or "")[:MAX_NAME]
    info = await request.config_dict[TOKENS].revoke(name)
    return see_other(f"{PATH}?{urlencode({'revoked': info.name})}")
