"""Paging of Open API lists: ``?page=&per_page=`` in, a ``Link`` header out, as Dragonfly
writes it: ``<path?page=N&per_page=M>;rel=prev,<…>;rel=next,<…>;rel=first,<…>;rel=last``
(prev and next stay within 1..last; the other query parameters are kept, ``access_token``
never: a secret must not come back in a header)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

from swarmfly.manager.errors import InvalidField

DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 1000
_NOT_ECHOED = {"access_token", "page", "per_page"}


@dataclass(frozen=True)
class Page:
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE


def _positive(name: str, text: str | None, default: int, maximum: int) -> int:
    if text is None or text == "":
        return default
    if not text.isdigit() or not 1 <= int(text) <= maximum:
        raise InvalidField(name, f"must be a whole number from 1 to {maximum}")
    return int(text)


def parse_page(page: str | None, per_page: str | None) -> Page:
    return Page(
        page=_positive("page", page, 1, 1 << 31),
        per_page=_positive("per_page", per_page, DEFAULT_PER_PAGE, MAX_PER_PAGE),
    )


def last_page(total: int, per_page: int) -> int:
    return max(1, -(-total // per_page))


def link_header(path: str, query: Iterable[tuple[str, str]], page: Page, total: int) -> str:
    last = last_page(total, page.per_page)
    kept = sorted((k, v) for k, v in query if k not in _NOT_ECHOED)
    links = []
    for rel, number in (
        ("prev", max(1, min(page.page - 1, last))),
        ("next", min(page.page + 1, last)),
        ("first", 1),
        ("last", last),
    ):
        pairs = sorted([*kept, ("page", str(number)), ("per_page", str(page.per_page))])
        links.append(f"<{path}?{urlencode(pairs)}>;rel={rel}")
    return ",".join(links)
