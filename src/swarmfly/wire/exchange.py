"""One request to another role's API and its answer, with the failures in our error tree:
shared by every typed client in ``wire/`` (``SchedulerClient``, ``SeedClient``,
``ManagerClient``)."""

from __future__ import annotations

from typing import TypeVar

import aiohttp
from pydantic import BaseModel

from swarmfly.wire.errors import error_from_response, translate_client_errors

M = TypeVar("M", bound=BaseModel)

_JSON = {"Content-Type": "application/json"}


async def exchange(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    body: BaseModel | None,
    *,
    time_limit: float,
    who: str,
) -> bytes:
    """One request; the answer's body on a 2xx status, else the error it stands for."""
    with translate_client_errors(who, url):
        async with session.request(
            method,
            url,
            data=None if body is None else body.model_dump_json(),
            headers=None if body is None else _JSON,
            timeout=aiohttp.ClientTimeout(total=time_limit),
        ) as response:
            raw = await response.read()  # small JSON messages, never content
    if not 200 <= response.status < 300:
        raise error_from_response(response.status, raw, who=who)
    return raw


def parse_answer(model: type[M], raw: bytes, *, who: str, url: str) -> M:
    """The answer as the message the protocol promises, else ``BadResponse``."""
    with translate_client_errors(who, url):
        return model.model_validate_json(raw)
