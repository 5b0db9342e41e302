"""The Open API's error shapes: 422 ``{"errors": …}`` for invalid input, ``{"message": …}``
with the category's status otherwise."""

from __future__ import annotations

import json

import pytest

from swarmfly import errors
from swarmfly.web.errors import openapi_error_response


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        (errors.InvalidInput("args.url: required"), 422, {"errors": "args.url: required"}),
        (errors.Unauthenticated("Unauthorized"), 401, {"message": "Unauthorized"}),
        (errors.Forbidden("Token is inactive"), 403, {"message": "Token is inactive"}),
        (errors.NotFound("job 9 not found"), 404, {"message": "job 9 not found"}),
        (errors.Conflict("exists"), 409, {"message": "exists"}),
        (errors.Unavailable("database"), 503, {"message": "database"}),
        (errors.SwarmflyError("other"), 500, {"message": "other"}),
    ],
)
def test_shapes(error: errors.SwarmflyError, status: int, body: dict[str, str]) -> None:
    response = openapi_error_response(error)
    assert response.status == status
    assert response.text is not None and json.loads(response.text) == body
