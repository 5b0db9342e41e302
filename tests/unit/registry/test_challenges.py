"""``WWW-Authenticate`` parsing, table-driven, with the headers real registries send."""

from __future__ import annotations

import pytest

from swarmfly.registry.challenges import Challenge, parse_challenges


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([], []),
        (
            ['Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
             'scope="repository:library/nginx:pull"'],
            [Challenge("bearer", {"realm": "https://auth.docker.io/token",
                                  "service": "registry.docker.io",
                                  "scope": "repository:library/nginx:pull"})],
        ),
        (
            ['Bearer realm="http://127.0.0.1:1/token",service="s",scope="repository:a:pull",'
             'error="insufficient_scope"'],
            [Challenge("bearer", {"realm": "http://127.0.0.1:1/token", "service": "s",
                                  "scope": "repository:a:pull", "error": "insufficient_scope"})],
        ),
        (['Basic realm="swarmfly-tests"'], [Challenge("basic", {"realm": "swarmfly-tests"})]),
        (["Basic"], [Challenge("basic")]),
        (["basic REALM=bare"], [Challenge("basic", {"realm": "bare"})]),
        # a comma inside a quoted value, an escaped quote, spaces around "="
        (['Bearer realm = "https://a/t?x=1,2" , service="q\\"s"'],
         [Challenge("bearer", {"realm": "https://a/t?x=1,2", "service": 'q"s'})]),
        # two challenges on one line, and on two lines
        (['Basic realm="a", Bearer realm="https://b/token",service="b"'],
         [Challenge("basic", {"realm": "a"}),
          Challenge("bearer", {"realm": "https://b/token", "service": "b"})]),
        (["Negotiate", 'Basic realm="x"'],
         [Challenge("negotiate"), Challenge("basic", {"realm": "x"})]),
    ],
)  # fmt: skip
def test_parse_challenges(headers: list[str], expected: list[Challenge]) -> None:
    assert parse_challenges(headers) == expected
