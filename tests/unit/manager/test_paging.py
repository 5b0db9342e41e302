"""Paging: ``page``/``per_page`` checked, and the ``Link`` header Dragonfly writes."""

from __future__ import annotations

import pytest

from swarmfly.manager.errors import InvalidField
from swarmfly.manager.openapi.paging import Page, last_page, link_header, parse_page


def _links(header: str) -> dict[str, str]:
    links = {}
    for part in header.split(","):
        target, rel = part.split(";rel=")
        links[rel] = target.strip("<>")
    return links


def test_a_middle_page() -> None:
    header = link_header("/oapi/v1/jobs", [], Page(2, 10), total=35)
    assert header == (
        "</oapi/v1/jobs?page=1&per_page=10>;rel=prev,"
        "</oapi/v1/jobs?page=3&per_page=10>;rel=next,"
        "</oapi/v1/jobs?page=1&per_page=10>;rel=first,"
        "</oapi/v1/jobs?page=4&per_page=10>;rel=last"
    )


@pytest.mark.parametrize(
    ("page", "total", "prev", "next_", "last"),
    [(1, 0, 1, 1, 1), (1, 10, 1, 1, 1), (1, 11, 1, 2, 2), (2, 11, 1, 2, 2), (9, 11, 2, 2, 2)],
)
def test_prev_and_next_stay_in_range(
    page: int, total: int, prev: int, next_: int, last: int
) -> None:
    links = _links(link_header("/p", [], Page(page, 10), total))
    assert links["prev"] == f"/p?page={prev}&per_page=10"
    assert links["next"] == f"/p?page={next_}&per_page=10"
    assert links["last"] == f"/p?page={last}&per_page=10"
    assert links["first"] == "/p?page=1&per_page=10"


def test_filters_are_kept_and_the_token_is_not() -> None:
    query = [("state", "SUCCESS"), ("access_token", "secret"), ("type", "preheat"), ("page", "1")]
    header = link_header("/oapi/v1/jobs", query, Page(1, 2), total=3)
    assert "secret" not in header and "access_token" not in header
    assert _links(header)["next"] == "/oapi/v1/jobs?page=2&per_page=2&state=SUCCESS&type=preheat"


def test_parse_page() -> None:
    assert parse_page(None, None) == Page(1, 10)
    assert parse_page("3", "50") == Page(3, 50)
    for page, per_page, field in [
        ("0", "1", "page"),
        ("x", "1", "page"),
        ("1", "0", "per_page"),
        ("1", "1001", "per_page"),
        ("-1", "1", "page"),
    ]:
        with pytest.raises(InvalidField) as caught:
            parse_page(page, per_page)
        assert caught.value.field == field
    assert last_page(0, 10) == 1 and last_page(21, 10) == 3
