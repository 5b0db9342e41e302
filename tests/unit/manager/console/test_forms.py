"""The preheat form as an Open API body, and each server problem placed on its field."""

from __future__ import annotations

import pytest
from multidict import MultiDict

from swarmfly.logs import REDACTED
from swarmfly.manager.console.forms import (
    DEFAULT_FILTERED,
    form_from_args,
    form_problems,
    job_body,
    problem_field,
    read_form,
)
from swarmfly.manager.errors import InvalidField


def form(**fields: str | list[str]) -> MultiDict[str]:
    data: MultiDict[str] = MultiDict()
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            data.add(name, item)
    return data


def test_a_file_form_with_rows() -> None:
    read = read_form(
        form(
            type="file",
            url=["", " https://a.test/1 ", "https://a.test/2"],
            header_name=["X-A", ""],
            header_value=["1", ""],
            scheduler_cluster_ids=["1"],
            filtered_query_params=DEFAULT_FILTERED,
            piece_length="8388608",
            username="ignored-for-files",
        )
    )
    assert form_problems(read, [1, 2]) == {}
    body = job_body(read, [1, 2])
    assert body["scheduler_cluster_ids"] == [1]
    assert body["args"] == {
        "type": "file",
        "url": "https://a.test/1",
        "urls": ["https://a.test/2"],
        "tag": "",
        "application": "",
        "headers": {"X-A": "1"},
        "scope": "single_seed_peer",
        "piece_length": 8388608,
    }
    # the second filled row is row 2 of the form
    assert problem_field(read, InvalidField("args.urls[0]", "not an http(s) URL")) == (
        "url-2",
        "not an http(s) URL",
    )
    assert problem_field(read, InvalidField("args.url", "bad"))[0] == "url-1"


def test_an_image_form_keeps_one_url_and_its_credentials() -> None:
    read = read_form(
        form(
            type="image",
            url=["https://r.test/v2/a/manifests/1", "https://x"],
            password=" p ",
            scheduler_cluster_ids="1",
        )
    )
    body = job_body(read, [1])
    assert body["args"]["url"] == "https://r.test/v2/a/manifests/1" and "urls" not in body["args"]
    assert body["args"]["password"] == " p "  # passwords are taken as typed
    assert body["scheduler_cluster_ids"] is None  # every cluster: "all"


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"type": "file"}, "url-0"),
        ({"type": "tape", "url": "https://a"}, "type"),
        ({"type": "file", "url": "https://a", "header_name": "", "header_value": "v"}, "headers"),
        ({"type": "file", "url": "https://a", "piece_length": "big"}, "piece_length"),
    ],
)
def test_form_problems(fields: dict[str, str], problem: str) -> None:
    read = read_form(form(scheduler_cluster_ids="1", **fields))
    assert problem in form_problems(read, [1])


def test_no_cluster_ticked() -> None:
    read = read_form(form(type="file", url="https://a"))
    assert form_problems(read, [1]) == {"clusters": "choose at least one cluster"}


@pytest.mark.parametrize(
    ("field", "where"),
    [
        ("args.platform", "platform"),
        ("args.piece_length", "piece_length"),
        ("scheduler_cluster_ids", "clusters"),
        ("args.headers.X", "headers"),
        ("args.concurrent_count", "form"),
    ],
)
def test_problem_fields(field: str, where: str) -> None:
    read = read_form(form(type="image", url="https://r.test/v2/a/manifests/1"))
    assert problem_field(read, InvalidField(field, "why"))[0] == where


def test_form_from_stored_args_leaves_secrets_empty() -> None:
    args = {
        "type": "image",
        "url": "https://r.test/v2/a/manifests/1",
        "password": REDACTED,
        "username": "u",
        "headers": {"Authorization": REDACTED, "X-A": "1"},
        "filtered_query_params": ["Expires", "ns"],
    }
    read = form_from_args("bio", args, [2])
    assert read.password == "" and read.username == "u"
    assert read.headers == [("Authorization", ""), ("X-A", "1")]
    assert read.filtered_query_params == "Expires&ns"
    assert read.cluster_ids == ["2"]
