"""Reading Open API requests: JSON bodies and path IDs, each problem a 422 naming its field."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from swarmfly.manager.errors import InvalidField


async def json_body(request: web.Request) -> Any:
    try:
        return json.loads(await request.read() or b"null")  # small JSON, bounded by the app
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidField("body", f"not valid JSON: {exc}") from exc


def path_id(request: web.Request, name: str = "id") -> int:
    text = request.match_info[name]
    if not text.isdigit() or int(text) < 1 or int(text) >= 1 << 63:
        raise InvalidField(name, "must be a positive integer")
    return int(text)


def json_answer(data: Any, *, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(data, headers=headers)
