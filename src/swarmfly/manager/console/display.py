"""What the console shows of a job, made from the Open API's job view (``job_view.py``): plain
functions, so the pages and the Open API can never disagree about a job.

A state is shown with a colour and an icon and a word (never colour alone); sizes and times
are written for people; a failure is explained in plain words, naming the cluster by name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from swarmfly.logs import REDACTED
from swarmfly.units import format_size

#: How a password is shown: never its value, not even its length.
HIDDEN = "••••••••"


@dataclass(frozen=True)
class Badge:
    key: str  # pending | success | failure: the CSS class
    icon: str
    label: str


BADGES = {
    "PENDING": Badge("pending", "◷", "Pending"),
    "SUCCESS": Badge("success", "✓", "Success"),
    "FAILURE": Badge("failure", "✕", "Failure"),
}
_UNKNOWN = Badge("pending", "?", "Unknown")


def badge(state: str) -> Badge:
    return BADGES.get(state.upper(), _UNKNOWN)


def shown_time(text: str | None) -> str:
    """``2026-11-26T12:22:34Z`` as ``2026-11-26 12:22:34 UTC``."""
    if not text:
        return "—"
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True)
class JobRow:
    id: int
    state: Badge
    bio: str
    type: str
    url: str
    more_urls: int
    created_at: str
    created_iso: str

    @property
    def is_pending(self) -> bool:
        return self.state.key == "pending"


def job_urls(args: Mapping[str, Any]) -> list[str]:
    url = args.get("url")
    urls = args.get("urls")
    listed = [u for u in ([url] + (urls if isinstance(urls, list) else [])) if u]
    return [str(u) for u in listed]


def job_row(view: Mapping[str, Any]) -> JobRow:
    args = view.get("args") or {}
    urls = job_urls(args)
    return JobRow(
        id=int(view["id"]),
        state=badge(str(view["state"])),
        bio=str(view.get("bio") or ""),
        type=str(args.get("type") or view.get("type") or ""),
        url=urls[0] if urls else "",
        more_urls=max(0, len(urls) - 1),
        created_at=shown_time(view.get("created_at")),
        created_iso=str(view.get("created_at") or ""),
    )


@dataclass(frozen=True)
class BlobRow:
    url: str
    task_id: str
    size: str
    seed_peer: str
    state: Badge
    bytes_done: int
    size_bytes: int | None
    error: str

    @property
    def percent(self) -> int | None:
        if self.state.key == "success":
            return 100
        if not self.size_bytes:
            return None
        return min(100, int(self.bytes_done * 100 / self.size_bytes))


def _blob_row(blob: Mapping[str, Any]) -> BlobRow:
    size = blob.get("size")
    hostname, ip = str(blob.get("hostname") or ""), str(blob.get("ip") or "")
    peer = f"{hostname} ({ip})" if hostname and ip else hostname or ip or "—"
    return BlobRow(
        url=str(blob.get("url") or ""),
        task_id=str(blob.get("task_id") or ""),
        size=format_size(size) if isinstance(size, int) else "—",
        seed_peer=peer,
        state=badge(str(blob.get("state") or "PENDING")),
        bytes_done=int(blob.get("bytes_done") or 0),
        size_bytes=size if isinstance(size, int) else None,
        error=str(blob.get("description") or ""),
    )


def blob_rows(result: Mapping[str, Any] | None) -> list[BlobRow]:
    rows: list[BlobRow] = []
    for entry in (result or {}).get("job_states") or ():
        for part in entry.get("results") or ():
            for key in ("failure_tasks", "pending_tasks", "success_tasks"):
                rows.extend(_blob_row(blob) for blob in part.get(key) or ())
    return rows


_CLUSTER_PREFIX = re.compile(r"^scheduler cluster (\d+): ")


def plain_error(error: str, cluster_names: Mapping[int, str]) -> str:
    """The job's error for people: ``scheduler cluster 1: …`` names the cluster by name."""
    match = _CLUSTER_PREFIX.match(error)
    if not match:
        return error
    cluster_id = int(match.group(1))
    name = cluster_names.get(cluster_id, f"cluster {cluster_id}")
    rest = error[match.end() :]
    if rest == "the job was deleted":
        return f"The job was deleted before {name} finished it."
    if rest.startswith("timeout"):
        return f"On {name}: it did not finish in time ({rest})."
    return f"On {name}: {rest}"


@dataclass(frozen=True)
class Argument:
    label: str
    value: str | list[str]


_ARGUMENTS = (
    ("type", "Type"),
    ("url", "URL"),
    ("urls", "More URLs"),
    ("tag", "Tag"),
    ("application", "Application"),
    ("filtered_query_params", "Filtered query params"),
    ("headers", "Headers"),
    ("piece_length", "Piece length"),
    ("scope", "Scope"),
    ("username", "Username"),
    ("password", "Password"),
    ("platform", "Platform"),
    ("timeout", "Timeout"),
)
_SCOPES = {"single_seed_peer": "Single seed peer", "all_seed_peers": "All seed peers"}


def _shown_value(key: str, value: Any) -> str | list[str]:
    if key == "password":
        return HIDDEN
    if key == "headers" and isinstance(value, Mapping):
        return [f"{k}: {HIDDEN if v == REDACTED else v}" for k, v in value.items()]
    if key == "urls" and isinstance(value, list):
        return [str(v) for v in value]
    if key == "piece_length" and isinstance(value, int):
        return format_size(value)
    if key == "scope":
        return _SCOPES.get(str(value), str(value))
    if key == "timeout" and isinstance(value, int):
        return f"{value / 1e9:g} s"
    if key == "filtered_query_params" and isinstance(value, list):
        return "&".join(map(str, value))
    return str(value)


def arguments(args: Mapping[str, Any]) -> list[Argument]:
    """Every argument the job was given (the empty ones left out), secrets hidden."""
    shown = []
    for key, label in _ARGUMENTS:
        value = args.get(key)
        if value in (None, "", [], {}, 0):
            continue
        shown.append(Argument(label, _shown_value(key, value)))
    return shown


@dataclass(frozen=True)
class JobDetail:
    row: JobRow
    updated_at: str
    arguments: list[Argument]
    clusters: list[str]
    blobs: list[BlobRow]
    error: str
    started: bool


def job_detail(view: Mapping[str, Any]) -> JobDetail:
    clusters: Sequence[Mapping[str, Any]] = view.get("scheduler_clusters") or ()
    names = {int(c["id"]): str(c.get("name") or c["id"]) for c in clusters}
    result = view.get("result")
    error = str((result or {}).get("error") or "")
    return JobDetail(
        row=job_row(view),
        updated_at=shown_time(view.get("updated_at")),
        arguments=arguments(view.get("args") or {}),
        clusters=list(names.values()),
        blobs=blob_rows(result),
        error=plain_error(error, names) if error else "",
        started=result is not None,
    )
