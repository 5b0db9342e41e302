"""A ``POST /oapi/v1/jobs`` body, checked before any work: every problem is a 422 naming its
field (``args.url: …``). Args come as Dragonfly's snake_case or camelCase; zero values mean
"the default" (Harbor sends ``concurrent_count: 0, timeout: 0``); unknown keys are ignored.

The job keeps two copies of the args: the normalised ``wire.manager.PreheatArgs`` that
schedulers claim (secrets included), and the args as given with ``password`` and secret header
values redacted, which is all the Open API ever shows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel, to_snake

from swarmfly.idgen import parse_filter_list
from swarmfly.logs import REDACTED, SECRET_HEADERS, redacted_url
from swarmfly.manager.errors import InvalidField
from swarmfly.wire.manager import PreheatArgs, PreheatScope

MiB = 1 << 20
MIN_PIECE_LENGTH = 4 * MiB
MAX_PIECE_LENGTH = 64 * MiB
MAX_CONCURRENT_COUNT = 100
JOB_TYPES = ("preheat",)
PREHEAT_TYPES = ("image", "file")

_MANIFEST_PATH = re.compile(r"^/v2/(?P<repo>[^/].*)/manifests/(?P<ref>[^/]+)$")
_PLATFORM = re.compile(r"^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$")


class NewJob(BaseModel):
    """The body's top level."""

    model_config = ConfigDict(extra="ignore")

    type: str = ""
    bio: str = ""
    args: dict[str, Any] | None = None
    scheduler_cluster_ids: list[int] | None = None
    user_id: int | None = None


class PreheatRequest(BaseModel):
    """``args`` of a preheat, as callers send them."""

    model_config = ConfigDict(extra="ignore", alias_generator=to_camel, populate_by_name=True)

    type: str = ""
    url: str = ""
    urls: list[str] | None = None
    tag: str | None = ""
    application: str | None = ""
    filtered_query_params: str | list[str] | None = None
    headers: dict[str, str] | None = None
    username: str | None = ""
    password: str | None = ""
    platform: str | None = ""
    piece_length: int | None = None
    scope: str | None = ""
    concurrent_count: int | None = None
    concurrent_task_count: int | None = None  # another name for it; the first non-zero wins
    timeout: int | None = None  # nanoseconds, Dragonfly's encoding


def _first_problem(exc: ValidationError, prefix: str) -> InvalidField:
    error = exc.errors()[0]
    where = ".".join(to_snake(str(part)) for part in error["loc"])
    return InvalidField(f"{prefix}{where}" if where else prefix.rstrip(".") or "body", error["msg"])


def parse_new_job(body: Any) -> NewJob:
    if not isinstance(body, dict):
        raise InvalidField("body", "must be a JSON object")
    try:
        job = NewJob.model_validate(body)
    except ValidationError as exc:
        raise _first_problem(exc, "") from exc
    if job.type not in JOB_TYPES:
        known = ", ".join(JOB_TYPES)
        raise InvalidField("type", f"unknown job type {job.type!r} ({known})")
    if job.args is None:
        raise InvalidField("args", "required")
    if any(cluster_id < 1 for cluster_id in job.scheduler_cluster_ids or ()):
        raise InvalidField("scheduler_cluster_ids", "cluster IDs are positive integers")
    return job


def _check_http_url(field: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidField(field, "not an http(s) URL")


def _check_urls(request: PreheatRequest) -> list[str]:
    if request.type == "image":
        if not request.url:
            raise InvalidField("args.url", "required: the image's manifest URL")
        _check_http_url("args.url", request.url)
        if not _MANIFEST_PATH.match(urlsplit(request.url).path):
            raise InvalidField(
                "args.url",
                "not a manifest URL (scheme://registry/v2/<repo>/manifests/<tag or digest>)",
            )
        if request.urls:
            raise InvalidField("args.urls", "only for file preheats; an image has one url")
        return []
    if not request.url and not request.urls:
        raise InvalidField("args.url", "required: the file's URL (or args.urls)")
    if request.url:
        _check_http_url("args.url", request.url)
    for index, url in enumerate(request.urls or ()):
        _check_http_url(f"args.urls[{index}]", url)
    return list(request.urls or ())


def _piece_length(value: int | None) -> int | None:
    if not value:
        return None
    if not MIN_PIECE_LENGTH <= value <= MAX_PIECE_LENGTH:
        raise InvalidField(
            "args.piece_length",
            f"must be between {MIN_PIECE_LENGTH} (4 MiB) and {MAX_PIECE_LENGTH} (64 MiB) bytes",
        )
    return value


def _scope(value: str | None) -> PreheatScope:
    if not value:
        return PreheatScope.SINGLE_SEED_PEER
    try:
        return PreheatScope(value)
    except ValueError as exc:
        known = ", ".join(scope.value for scope in PreheatScope)
        raise InvalidField("args.scope", f"unknown scope {value!r} ({known})") from exc


def _platform(value: str | None) -> str:
    if value and not _PLATFORM.match(value):
        raise InvalidField("args.platform", "must look like os/arch[/variant], e.g. linux/arm64")
    return value or ""


def _concurrent_count(value: int | None, default: int) -> int:
    if not value:
        return default
    if not 1 <= value <= MAX_CONCURRENT_COUNT:
        raise InvalidField(
            "args.concurrent_count", f"must be between 1 and {MAX_CONCURRENT_COUNT} (0: default)"
        )
    return value


def _timeout(value: int | None, default: timedelta) -> float:
    if not value:
        return default.total_seconds()
    if value < 0:
        raise InvalidField("args.timeout", "nanoseconds, not negative (0: the default)")
    return value / 1e9


def _filtered(value: str | list[str] | None) -> list[str] | None:
    if isinstance(value, list):
        value = "&".join(value)
    return list(parse_filter_list(value)) or None


def parse_preheat(
    args: Mapping[str, Any],
    *,
    default_timeout: timedelta,
    default_concurrent_count: int,
    now: float,
) -> PreheatArgs:
    """The normalised args a scheduler runs, or the 422 for the first bad field."""
    try:
        request = PreheatRequest.model_validate(args)
    except ValidationError as exc:
        raise _first_problem(exc, "args.") from exc
    if request.type not in PREHEAT_TYPES:
        known = " or ".join(PREHEAT_TYPES)
        why = "required" if not request.type else f"unknown preheat type {request.type!r}"
        raise InvalidField("args.type", f"{why} ({known})")
    urls = _check_urls(request)
    return PreheatArgs(
        type=request.type,
        url=request.url,
        urls=urls,
        tag=request.tag or "",
        application=request.application or "",
        filtered_query_params=_filtered(request.filtered_query_params),
        headers=dict(request.headers or {}),
        username=request.username or "",
        password=request.password or "",
        platform=_platform(request.platform),
        piece_length=_piece_length(request.piece_length),
        scope=_scope(request.scope),
        concurrent_count=_concurrent_count(
            request.concurrent_count or request.concurrent_task_count, default_concurrent_count
        ),
        deadline=now + _timeout(request.timeout, default_timeout),
    )


def redacted_args(args: Mapping[str, Any]) -> dict[str, Any]:
    """The args as given, safe to show: ``password``, secret header values and passwords in
    URLs replaced."""
    shown: dict[str, Any] = {}
    for key, value in args.items():
        if key == "password" and value:
            shown[key] = REDACTED
        elif key == "headers" and isinstance(value, Mapping):
            shown[key] = {
                name: REDACTED if str(name).lower() in SECRET_HEADERS else header
                for name, header in value.items()
            }
        elif key == "url" and isinstance(value, str):
            shown[key] = redacted_url(value, ())
        elif key == "urls" and isinstance(value, list):
            shown[key] = [redacted_url(u, ()) if isinstance(u, str) else u for u in value]
        else:
            shown[key] = value
    return shown


def scrubbed(spec: PreheatArgs) -> PreheatArgs:
    """The args with their secrets gone, kept once no scheduler needs them any more."""
    headers = {
        name: REDACTED if name.lower() in SECRET_HEADERS else value
        for name, value in spec.headers.items()
    }
    return spec.model_copy(update={"password": "", "headers": headers})
