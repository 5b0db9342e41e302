"""The task-ID contract: Dragonfly's own vectors, and the cases preheat depends on."""

from __future__ import annotations

import json

import pytest

from swarmfly import idgen
from swarmfly.errors import InvalidInput
from tests.conftest import CONTRACTS

VECTORS = json.loads((CONTRACTS / "task_id_vectors.json").read_text())


@pytest.mark.parametrize("case", VECTORS["url_based"], ids=lambda c: c["expected"][:8])
def test_url_based_vectors(case: dict[str, object]) -> None:
    got = idgen.url_task_id(
        str(case["url"]),
        tag=case.get("tag"),  # type: ignore[arg-type]
        application=case.get("application"),  # type: ignore[arg-type]
        revision=case.get("revision"),  # type: ignore[arg-type]
        piece_length=case.get("piece_length"),  # type: ignore[arg-type]
        filtered_query_params=case.get("filtered_query_params", []),  # type: ignore[arg-type]
    )
    assert got == case["expected"]


@pytest.mark.parametrize("case", VECTORS["content_based"])
def test_content_based_vectors(case: dict[str, str]) -> None:
    assert idgen.content_task_id(case["content"].encode()) == case["expected"]


@pytest.mark.parametrize("case", VECTORS["blob_digest_based"], ids=lambda c: c["url"][-20:])
def test_blob_digest_vectors(case: dict[str, str]) -> None:
    if case["expected"].startswith("error: "):
        with pytest.raises(InvalidInput, match=case["expected"].removeprefix("error: ")):
            idgen.blob_digest_task_id(case["url"])
    else:
        assert idgen.blob_digest_task_id(case["url"]) == case["expected"]


@pytest.mark.parametrize("case", VECTORS["host_id"])
def test_host_id_vectors(case: dict[str, object]) -> None:
    got = idgen.host_id(str(case["ip"]), str(case["hostname"]), is_seed=bool(case["seed"]))
    assert got == case["expected"]


@pytest.mark.parametrize("case", VECTORS["piece_length"]["examples"])
def test_piece_length_rule(case: dict[str, int]) -> None:
    assert idgen.piece_length_for(case["content_length"]) == case["expected"]


def test_fixed_piece_length_wins_and_is_range_checked() -> None:
    assert idgen.piece_length_for(10 << 30, fixed=4 << 20) == 4 << 20
    assert idgen.piece_length_for(None) == idgen.MIN_PIECE_LENGTH
    with pytest.raises(InvalidInput):
        idgen.validate_piece_length(1 << 20)
    with pytest.raises(InvalidInput):
        idgen.validate_piece_length(128 << 20)


BLOB = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    "url",
    [
        f"https://127.0.0.1:5000/v2/test/img/blobs/{BLOB}",
        f"http://localhost:5000/v2/test/img/blobs/{BLOB}?ns=127.0.0.1%3A5000",
        f"https://registry-1.docker.io/v2/library/deep/path/repo/blobs/{BLOB}?ns=docker.io",
        f"https://s3.example.com/v2/x/blobs/{BLOB}?X-Amz-Signature=abc&Expires=1",
    ],
)
def test_blob_id_ignores_host_alias_repository_and_query(url: str) -> None:
    assert idgen.task_id(url) == "ab" * 32


def test_blob_id_can_be_turned_off() -> None:
    url = f"https://r.example.com/v2/test/img/blobs/{BLOB}"
    assert idgen.task_id(url, use_blob_digest=False) == idgen.url_task_id(
        url, filtered_query_params=idgen.DEFAULT_FILTERED_QUERY_PARAMS
    )


def test_signed_url_parameters_do_not_change_the_id() -> None:
    first = "https://cdn.example.com/f.bin?Expires=1&Signature=a&X-Amz-Signature=q&v=2"
    second = "https://cdn.example.com/f.bin?Signature=b&Expires=9&v=2&X-Amz-Signature=r"
    assert idgen.task_id(first) == idgen.task_id(second)
    assert idgen.task_id(first) != idgen.task_id(first.replace("v=2", "v=3"))


@pytest.mark.parametrize(
    ("url", "filtered", "expected"),
    [
        ("https://example.com/", [], "https://example.com"),
        ("https://example.com/?a=1", ["a"], "https://example.com"),
        ("https://example.com/?a=1&b=2", ["a"], "https://example.com/?b=2"),
        ("https://EXAMPLE.com:443/x", [], "https://example.com/x"),
        ("http://example.com:8080/x", [], "http://example.com:8080/x"),
        ("https://example.com/x?b=2&a=1", [], "https://example.com/x?b=2&a=1"),
        ("https://example.com/x?q=a b~c*d", [], "https://example.com/x?q=a+b%7Ec*d"),
        ("https://example.com/x?flag", [], "https://example.com/x?flag="),
    ],
)
def test_filter_url(url: str, filtered: list[str], expected: str) -> None:
    assert idgen.filter_url(url, filtered) == expected


@pytest.mark.parametrize("url", ["not a url", "/relative/path", "https://", "https://h:99999/"])
def test_filter_url_rejects_bad_urls(url: str) -> None:
    with pytest.raises(InvalidInput):
        idgen.filter_url(url, [])


def test_filter_lists() -> None:
    assert idgen.parse_filter_list("Expires&Signature&&ns") == ("Expires", "Signature", "ns")
    assert idgen.parse_filter_list("a, b", ",") == ("a", "b")
    assert idgen.parse_filter_list("") == ()
    assert idgen.filters_for_request(("d",), ("r",), "h1,h2") == ("h1", "h2")
    assert idgen.filters_for_request(("d",), ("r",), None) == ("r",)
    assert idgen.filters_for_request(("d",), (), "") == ("d",)


def test_is_task_id_refuses_anything_that_could_escape_a_path() -> None:
    assert idgen.is_task_id("ab" * 32)
    for bad in ["../" + "a" * 61, "AB" * 32, "ab" * 31, "", "ab" * 32 + "/"]:
        assert not idgen.is_task_id(bad)


def test_peer_ids_are_unique_per_download() -> None:
    first = idgen.peer_id("10.0.0.1", "node")
    assert first.startswith("10.0.0.1-node-")
    assert first != idgen.peer_id("10.0.0.1", "node")
