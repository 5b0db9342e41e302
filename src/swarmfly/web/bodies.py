"""Read a request's JSON body into its pydantic model; a body that does not fit is one
``InvalidInput`` naming the first field that is wrong (a 400 through the error middleware)."""

from __future__ import annotations

from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from swarmfly.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)


async def read_model(request: web.Request, model: type[M]) -> M:
    try:
        return model.model_validate_json(await request.read())
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "body"
        raise InvalidInput(f"bad {model.__name__}: {where}: {error['msg']}") from exc


def model_response(message: BaseModel, *, status: int = 200) -> web.Response:
    """A pydantic message as a JSON answer."""
    return web.Response(
        body=message.model_dump_json(), status=status, content_type="application/json"
    )
