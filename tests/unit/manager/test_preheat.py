"""Preheat args from the Open API: Harbor's body, camelCase, zero values as defaults, one 422
per bad field (named first), and what is shown back with the secrets redacted."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from swarmfly.manager.errors import InvalidField
from swarmfly.manager.preheat import parse_new_job, parse_preheat, redacted_args, scrubbed
from swarmfly.wire.manager import PreheatScope

NOW = 1_800_000_000.0
MANIFEST = "https://registry.test:5000/v2/test/team/app/manifests/v1.2"
HARBOR_ARGS = {
    "type": "image",
    "url": MANIFEST,
    "tag": "",
    "filtered_query_params": "",
    "headers": {"Authorization": "Bearer registry-token"},
    "scope": "single_seed_peer",
    "concurrent_count": 0,
    "timeout": 0,
}


def _parse(args: dict[str, Any]) -> Any:
    return parse_preheat(
        args, default_timeout=timedelta(minutes=60), default_concurrent_count=8, now=NOW
    )


def test_harbors_body_with_zero_values_gets_the_defaults() -> None:
    spec = _parse(HARBOR_ARGS)
    assert spec.type == "image"
    assert spec.url == MANIFEST
    assert spec.filtered_query_params is None  # the default list
    assert spec.headers == {"Authorization": "Bearer registry-token"}
    assert spec.concurrent_count == 8
    assert spec.deadline == NOW + 3600
    assert spec.piece_length is None
    assert spec.scope is PreheatScope.SINGLE_SEED_PEER
    assert spec.platform == ""


def test_camel_case_and_explicit_values() -> None:
    spec = _parse(
        {
            "type": "file",
            "url": "https://objects.test/big.bin?X-Amz-Signature=s",
            "urls": ["https://objects.test/other.bin"],
            "filteredQueryParams": "X-Amz-Signature&Expires",
            "pieceLength": 8 << 20,
            "concurrentCount": 3,
            "timeout": 90 * 10**9,
            "scope": "all_seed_peers",
            "platform": "linux/arm64/v8",
            "tag": "t",
            "application": "app",
            "unknown_key": {"ignored": True},
        }
    )
    assert spec.filtered_query_params == ["X-Amz-Signature", "Expires"]
    assert spec.piece_length == 8 << 20
    assert spec.concurrent_count == 3
    assert spec.deadline == NOW + 90
    assert spec.scope is PreheatScope.ALL_SEED_PEERS
    assert spec.urls == ["https://objects.test/other.bin"]
    assert (spec.tag, spec.application, spec.platform) == ("t", "app", "linux/arm64/v8")


@pytest.mark.parametrize("key", ["concurrent_task_count", "concurrentTaskCount"])
def test_concurrent_task_count_is_an_alias(key: str) -> None:
    assert _parse({**HARBOR_ARGS, key: 5}).concurrent_count == 5


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": None}, "args.type"),
        ({"type": ""}, "args.type"),
        ({"type": "layer"}, "args.type"),
        ({"url": ""}, "args.url"),
        ({"url": "registry.test/v2/app/manifests/v1"}, "args.url"),
        ({"url": "https://registry.test/v2/app/blobs/sha256:abc"}, "args.url"),
        ({"url": "https://registry.test/app:v1"}, "args.url"),
        ({"urls": ["https://registry.test/x"]}, "args.urls"),
        ({"piece_length": 1 << 20}, "args.piece_length"),
        ({"pieceLength": (64 << 20) + 1}, "args.piece_length"),
        ({"piece_length": "big"}, "args.piece_length"),
        ({"scope": "every_peer"}, "args.scope"),
        ({"platform": "linux"}, "args.platform"),
        ({"platform": "Linux/AMD64"}, "args.platform"),
        ({"concurrent_count": -1}, "args.concurrent_count"),
        ({"concurrent_count": 101}, "args.concurrent_count"),
        ({"timeout": -5}, "args.timeout"),
        ({"timeout": "1h"}, "args.timeout"),
        ({"headers": ["Authorization: x"]}, "args.headers"),
    ],
)
def test_each_bad_field_is_named(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidField) as caught:
        _parse({**HARBOR_ARGS, **change})
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_a_file_preheat_needs_a_url() -> None:
    with pytest.raises(InvalidField, match=r"^args\.url: required"):
        _parse({"type": "file"})
    with pytest.raises(InvalidField, match=r"^args\.urls\[1\]: "):
        _parse({"type": "file", "urls": ["https://a.test/x", "ftp://a.test/y"]})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ({"args": HARBOR_ARGS}, "type"),
        ({"type": "sync_peers", "args": {}}, "type"),
        ({"type": "preheat"}, "args"),
        ({"type": "preheat", "args": [1]}, "args"),
        ({"type": "preheat", "args": {}, "scheduler_cluster_ids": [0]}, "scheduler_cluster_ids"),
        ({"type": "preheat", "args": {}, "scheduler_cluster_ids": "1"}, "scheduler_cluster_ids"),
    ],
)
def test_the_job_body(body: Any, field: str) -> None:
    with pytest.raises(InvalidField) as caught:
        parse_new_job(body)
    assert caught.value.field == field


def test_null_cluster_ids_mean_every_cluster() -> None:
    job = parse_new_job({"type": "preheat", "args": HARBOR_ARGS, "scheduler_cluster_ids": None})
    assert job.scheduler_cluster_ids is None


def test_the_args_shown_back_hide_secrets() -> None:
    given = {
        **HARBOR_ARGS,
        "url": "https://user:pa55@registry.test/v2/app/manifests/v1",
        "username": "robot",
        "password": "hunter2",
        "headers": {"authorization": "Bearer t0k", "X-Trace": "1", "Cookie": "c=1"},
    }
    shown = redacted_args(given)
    text = repr(shown)
    for secret in ("hunter2", "t0k", "pa55", "c=1"):
        assert secret not in text
    assert shown["username"] == "robot"
    assert shown["headers"]["X-Trace"] == "1"
    assert shown["concurrent_count"] == 0  # as given
    spec = scrubbed(_parse(given))
    assert spec.password == "" and "t0k" not in repr(spec.headers)
