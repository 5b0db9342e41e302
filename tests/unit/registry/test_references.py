"""Manifest URLs in, registry/repository/reference out; blob URLs built; table-driven."""

from __future__ import annotations

import pytest

from swarmfly.errors import InvalidInput
from swarmfly.idgen import task_id
from swarmfly.registry import ManifestReference, NotAManifestURL, blob_url, parse_manifest_url

DIGEST = "sha256:" + "ab" * 32
R = "https://r.example.com"


@pytest.mark.parametrize(
    ("url", "registry", "repository", "reference"),
    [
        (f"{R}/v2/library/nginx/manifests/1.25", R, "library/nginx", "1.25"),
        (
            "http://127.0.0.1:5000/v2/test/img/manifests/v1",
            "http://127.0.0.1:5000",
            "test/img",
            "v1",
        ),
        (
            "https://Harbor.Example.COM:8443/v2/team/a/b/c/manifests/latest",
            "https://harbor.example.com:8443",
            "team/a/b/c",
            "latest",
        ),
        (f"{R}/v2/alpine/manifests/3", R, "alpine", "3"),
        (f"{R}/v2/test/img/manifests/{DIGEST}", R, "test/img", DIGEST),
        ("http://[::1]:5000/v2/x/y/manifests/v1", "http://[::1]:5000", "x/y", "v1"),
        ("HTTPS://r.example.com/v2/a/manifests/Tag_1.0-rc", R, "a", "Tag_1.0-rc"),
        (f"{R}/v2/a.b/c__d/e--f/manifests/v1", R, "a.b/c__d/e--f", "v1"),
        # a repository may itself be called "manifests"
        (f"{R}/v2/x/manifests/manifests/v1", R, "x/manifests", "v1"),
        ("  https://r.example.com/v2/a/manifests/v1  ", R, "a", "v1"),
    ],
)
def test_parse_manifest_url(url: str, registry: str, repository: str, reference: str) -> None:
    assert parse_manifest_url(url) == ManifestReference(registry, repository, reference)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "r.example.com/v2/a/manifests/v1",  # no scheme
        "ftp://r.example.com/v2/a/manifests/v1",
        "https:///v2/a/manifests/v1",  # no host
        "https://r.example.com:99999/v2/a/manifests/v1",  # bad port
        "https://r.example.com/a/manifests/v1",  # no /v2/
        f"{R}/v2/a/blobs/" + DIGEST,  # a blob, not a manifest
        f"{R}/v2/a/manifests/",  # no reference
        f"{R}/v2/manifests/v1",  # no repository
        f"{R}/v2/a/manifests/v1/",  # trailing slash
        f"{R}/v2/Upper/manifests/v1",  # repositories are lowercase
        f"{R}/v2/a//b/manifests/v1",
        f"{R}/v2/-a/manifests/v1",
        f"{R}/v2/a/manifests/.v1",  # tags start with a word character
        f"{R}/v2/a/manifests/" + "t" * 129,
        f"{R}/v2/a/manifests/sha256:abc",  # short digest
        f"{R}/v2/a/manifests/md5:" + "0" * 32,
        f"{R}/v2/a/manifests/v1?ns=docker.io",  # a query would vanish
        f"{R}/v2/a/manifests/v1#frag",
        "https://user:secret@r.example.com/v2/a/manifests/v1",  # credentials in the URL
        f"{R}/v2/" + "a" * 256 + "/manifests/v1",
    ],
)
def test_not_a_manifest_url(url: str) -> None:
    with pytest.raises(NotAManifestURL) as caught:
        parse_manifest_url(url)
    assert isinstance(caught.value, InvalidInput)
    assert "secret" not in str(caught.value)


def test_blob_urls_share_the_registry_and_their_task_id_is_the_digest() -> None:
    reference = parse_manifest_url("http://127.0.0.1:5000/v2/test/deep/img/manifests/v1")
    url = reference.blob_url(DIGEST)
    assert url == "http://127.0.0.1:5000/v2/test/deep/img/blobs/" + DIGEST
    assert url == blob_url(reference.registry, reference.repository, DIGEST)
    assert task_id(url) == DIGEST.split(":")[1]


@pytest.mark.parametrize(
    ("url", "text", "is_digest"),
    [
        ("http://127.0.0.1:5000/v2/test/img/manifests/v1", "127.0.0.1:5000/test/img:v1", False),
        (f"{R}/v2/a/manifests/{DIGEST}", f"r.example.com/a@{DIGEST}", True),
    ],
)
def test_reference_text_and_digest(url: str, text: str, is_digest: bool) -> None:
    reference = parse_manifest_url(url)
    assert str(reference) == text
    assert (reference.digest is not None) == is_digest
    assert reference.with_reference(DIGEST).url == url.rsplit("/", 1)[0] + "/" + DIGEST
