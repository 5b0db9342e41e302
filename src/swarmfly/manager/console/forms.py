"""The "new preheat" form: what the browser sent, kept as typed (to show the form again), turned
into an Open API body (``POST /oapi/v1/jobs``), and each validation problem placed next to its
field. The rules themselves are the Open API's (``manager/preheat.py`` through
``JobSubmitter``); this module checks only what the form adds (rows, names, a cluster chosen).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from multidict import MultiMapping

from swarmfly.idgen import DEFAULT_FILTERED_QUERY_PARAMS
from swarmfly.logs import REDACTED
from swarmfly.manager.errors import InvalidField

DEFAULT_FILTERED = "&".join(DEFAULT_FILTERED_QUERY_PARAMS)
PLATFORMS = ("linux/amd64", "linux/arm64")
SCOPES = (("single_seed_peer", "Single seed peer"), ("all_seed_peers", "All seed peers"))
MiB = 1 << 20
PIECE_LENGTHS = tuple(n * MiB for n in (4, 8, 16, 32, 64))
_URLS_INDEX = re.compile(r"^args\.urls\[(\d+)\]")


@dataclass
class PreheatForm:
    """The form's fields as strings, as the browser sent them (or as a job had them)."""

    type: str = "file"
    bio: str = ""
    cluster_ids: list[str] = field(default_factory=list)  # empty: every cluster ticked
    urls: list[str] = field(default_factory=lambda: [""])
    tag: str = ""
    application: str = ""
    filtered_query_params: str = DEFAULT_FILTERED
    headers: list[tuple[str, str]] = field(default_factory=list)
    piece_length: str = ""
    scope: str = "single_seed_peer"
    username: str = ""
    password: str = ""
    platform: str = ""
    errors: dict[str, str] = field(default_factory=dict)  # field -> what is wrong with it

    @property
    def is_image(self) -> bool:
        return self.type == "image"


def read_form(data: MultiMapping[Any]) -> PreheatForm:
    def text(name: str, default: str = "") -> str:
        value = data.get(name, default)
        return value.strip() if isinstance(value, str) else default

    def texts(name: str) -> list[str]:
        return [v.strip() for v in data.getall(name, []) if isinstance(v, str)]

    names, values = texts("header_name"), texts("header_value")
    headers = [(n, v) for n, v in zip(names, values, strict=False) if n or v]
    return PreheatForm(
        type=text("type", "file"),
        bio=text("bio"),
        cluster_ids=texts("scheduler_cluster_ids"),
        urls=texts("url") or [""],
        tag=text("tag"),
        application=text("application"),
        filtered_query_params=text("filtered_query_params"),
        headers=headers,
        piece_length=text("piece_length"),
        scope=text("scope", "single_seed_peer"),
        username=text("username"),
        password=data.get("password", "") if isinstance(data.get("password"), str) else "",
        platform=text("platform"),
    )


def form_from_args(bio: str, args: Mapping[str, Any], cluster_ids: list[int]) -> PreheatForm:
    """A job's shown args back in the form ("preheat again" when the secrets are gone): the
    password and redacted header values are left empty, to be typed again."""
    urls = [u for u in [args.get("url"), *(args.get("urls") or [])] if isinstance(u, str) and u]
    headers = args.get("headers") if isinstance(args.get("headers"), Mapping) else {}
    filtered = args.get("filtered_query_params")
    if isinstance(filtered, list):
        filtered = "&".join(map(str, filtered))
    piece_length = args.get("piece_length")
    return PreheatForm(
        type=str(args.get("type") or "file"),
        bio=bio,
        cluster_ids=[str(c) for c in cluster_ids],
        urls=urls or [""],
        tag=str(args.get("tag") or ""),
        application=str(args.get("application") or ""),
        filtered_query_params=str(filtered) if filtered is not None else DEFAULT_FILTERED,
        headers=[(str(k), "" if v == REDACTED else str(v)) for k, v in (headers or {}).items()],
        piece_length=str(piece_length) if piece_length else "",
        scope=str(args.get("scope") or "single_seed_peer"),
        username=str(args.get("username") or ""),
        platform=str(args.get("platform") or ""),
    )


def _filled_urls(form: PreheatForm) -> list[tuple[int, str]]:
    """The URL rows that hold something, with their row numbers (an image has one URL)."""
    filled = [(row, url) for row, url in enumerate(form.urls) if url]
    return filled[:1] if form.is_image else filled


def form_problems(form: PreheatForm, all_cluster_ids: list[int]) -> dict[str, str]:
    """What the form itself can tell is wrong, every field at once."""
    problems: dict[str, str] = {}
    if form.type not in ("file", "image"):
        problems["type"] = "choose File or Image"
    if not _filled_urls(form):
        problems["url-0"] = "required: the image's manifest URL" if form.is_image else "required"
    if any(name == "" for name, _ in form.headers):
        problems["headers"] = "every header needs a name"
    if not form.cluster_ids and all_cluster_ids:
        problems["clusters"] = "choose at least one cluster"
    if form.piece_length and not form.piece_length.isdigit():
        problems["piece_length"] = "choose a piece length"
    return problems


def job_body(form: PreheatForm, all_cluster_ids: list[int]) -> dict[str, Any]:
    """The Open API body the form stands for."""
    urls = [url for _, url in _filled_urls(form)]
    args: dict[str, Any] = {
        "type": form.type,
        "url": urls[0] if urls else "",
        "tag": form.tag,
        "application": form.application,
        "headers": dict(form.headers),
        "scope": form.scope,
    }
    if form.filtered_query_params != DEFAULT_FILTERED:  # the default stays implicit, as in the API
        args["filtered_query_params"] = form.filtered_query_params
    if len(urls) > 1:
        args["urls"] = urls[1:]
    if form.piece_length:
        args["piece_length"] = int(form.piece_length)
    if form.is_image:
        args.update(username=form.username, password=form.password, platform=form.platform)
    chosen = sorted({int(c) for c in form.cluster_ids if c.isdigit()})
    every = chosen == sorted(all_cluster_ids)
    return {
        "type": "preheat",
        "bio": form.bio,
        "args": args,
        "scheduler_cluster_ids": None if every else chosen,
    }


def problem_field(form: PreheatForm, problem: InvalidField) -> tuple[str, str]:
    """Where on the form a server-side problem belongs, and what to say there."""
    why = str(problem).removeprefix(f"{problem.field}: ")
    name = problem.field
    rows = [row for row, _ in _filled_urls(form)]
    if name == "args.url" and rows:
        return f"url-{rows[0]}", why
    if match := _URLS_INDEX.match(name):
        index = int(match.group(1)) + 1
        return (f"url-{rows[index]}" if index < len(rows) else "url-0"), why
    if name in ("args.url", "args.urls"):
        return "url-0", why
    if name == "scheduler_cluster_ids":
        return "clusters", why
    if name.startswith("args.headers"):
        return "headers", why
    simple = name.removeprefix("args.")
    known = {"bio", "tag", "application", "filtered_query_params", "piece_length", "scope"}
    if simple in known | {"username", "password", "platform", "type"}:
        return simple, why
    return "form", str(problem)
