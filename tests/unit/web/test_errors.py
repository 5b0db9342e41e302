"""How the proxy port renders failures: the upstream's own answer, or the daemon's marked."""

from __future__ import annotations

import json

import pytest

from swarmfly import errors
from swarmfly.source import RangeNotSatisfiable, SourceStatusError, SourceTimeout, SourceUnavailable
from swarmfly.storage import StoreFull
from swarmfly.web.errors import error_response, proxy_error_response


def test_an_upstream_error_status_comes_back_as_the_upstream_sent_it() -> None:
    exc = SourceStatusError(
        "401",
        status=401,
        headers={
            "WWW-Authenticate": 'Bearer realm="https://auth/token"',
            "Content-Type": "application/json",
            "Content-Length": "999",
            "Connection": "close",
        },
        body=b'{"errors":[]}',
    )
    response = proxy_error_response(exc)
    assert response.status == 401
    assert response.body == b'{"errors":[]}'
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="https://auth/token"'
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Dragonfly-Error-Type"] == "backend"
    assert "Connection" not in response.headers
    assert response.headers.get("Content-Length") != "999"


@pytest.mark.parametrize(
    ("exc", "status", "error_type"),
    [
        (SourceUnavailable("refused"), 503, "proxy"),
        (SourceTimeout("slow"), 504, "proxy"),
        (errors.InvalidInput("bad target"), 400, "proxy"),
        (RangeNotSatisfiable("past the end", total_length=10), 416, "proxy"),
        (StoreFull("disk"), 507, "dfdaemon"),
        (errors.CorruptContent("digest"), 502, "dfdaemon"),
        (errors.SwarmflyError("internal"), 500, "dfdaemon"),
        (errors.UpstreamError("odd redirect", status=302), 502, "backend"),
    ],
)
def test_the_daemons_own_failures(exc: errors.SwarmflyError, status: int, error_type: str) -> None:
    response = proxy_error_response(exc)
    assert response.status == status
    assert response.headers["X-Dragonfly-Error-Type"] == error_type
    assert json.loads(response.text or "")["message"] == str(exc)


def test_a_busy_answer_says_when_to_come_back_in_whole_seconds() -> None:
    response = error_response(errors.Unavailable("busy", retry_after=1.2))
    assert (response.status, response.headers["Retry-After"]) == (503, "2")
    assert "Retry-After" not in error_response(errors.Unavailable("down")).headers
