"""Manifest bytes to models: which kind a document is, and what is refused."""

from __future__ import annotations

import json

import pytest

from swarmfly.registry import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    InvalidManifest,
    UnsupportedManifest,
)
from swarmfly.registry.documents import ImageIndex, ImageManifest, parse_document

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+prettyjws"
ARTIFACT = "application/vnd.oci.artifact.manifest.v1+json"
MANIFEST = {
    "schemaVersion": 2,
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": D1, "size": 7},
    "layers": [
        {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": D2, "size": 9}
    ],
}
INDEX = {
    "schemaVersion": 2,
    "manifests": [
        {
            "mediaType": OCI_MANIFEST,
            "digest": D1,
            "size": 5,
            "platform": {"os": "linux", "architecture": "amd64"},
        },
    ],
}


def encode(document: dict[str, object], **extra: object) -> bytes:
    return json.dumps(document | extra).encode()


@pytest.mark.parametrize(
    ("data", "content_type", "kind", "media_type"),
    [
        (encode(MANIFEST, mediaType=OCI_MANIFEST), OCI_MANIFEST, ImageManifest, OCI_MANIFEST),
        (
            encode(MANIFEST, mediaType=DOCKER_MANIFEST),
            DOCKER_MANIFEST,
            ImageManifest,
            DOCKER_MANIFEST,
        ),
        (encode(INDEX, mediaType=OCI_INDEX), OCI_INDEX, ImageIndex, OCI_INDEX),
        (encode(INDEX, mediaType=DOCKER_MANIFEST_LIST), None, ImageIndex, DOCKER_MANIFEST_LIST),
        # no mediaType in the body (optional in older OCI): the header decides…
        (encode(MANIFEST), f"{OCI_MANIFEST}; charset=utf-8", ImageManifest, OCI_MANIFEST),
        (encode(INDEX), OCI_INDEX, ImageIndex, OCI_INDEX),
        # …or, with a generic header, the shape
        (encode(MANIFEST), "application/json", ImageManifest, OCI_MANIFEST),
        (encode(INDEX), None, ImageIndex, OCI_INDEX),
        # the body's own type wins over the header's
        (encode(INDEX, mediaType=OCI_INDEX), "application/octet-stream", ImageIndex, OCI_INDEX),
    ],
)
def test_parse_document(data: bytes, content_type: str | None, kind: type, media_type: str) -> None:
    document = parse_document(data, content_type)
    assert isinstance(document, kind)
    assert document.media_type == media_type


@pytest.mark.parametrize(
    ("data", "content_type", "error"),
    [
        (b"not json", OCI_MANIFEST, InvalidManifest),
        (b"\xff\xfe", OCI_MANIFEST, InvalidManifest),
        (b"[1, 2]", OCI_MANIFEST, InvalidManifest),
        (encode({"schemaVersion": 2, "layers": []}), OCI_MANIFEST, InvalidManifest),  # no config
        (encode(MANIFEST, schemaVersion=3), OCI_MANIFEST, InvalidManifest),
        (
            encode(MANIFEST, layers=[{"mediaType": "x", "digest": "sha256:abc", "size": 1}]),
            None,
            InvalidManifest,
        ),
        (
            encode(MANIFEST, layers=[{"mediaType": "x", "digest": D2, "size": -1}]),
            None,
            InvalidManifest,
        ),
        (encode({"schemaVersion": 1, "name": "a", "fsLayers": []}), None, UnsupportedManifest),
        (encode({"schemaVersion": 1}), SCHEMA1, UnsupportedManifest),
        (encode({"schemaVersion": 2, "mediaType": ARTIFACT}), None, UnsupportedManifest),
        (encode({"schemaVersion": 2}), None, UnsupportedManifest),  # neither shape
    ],
)
def test_refused_documents(data: bytes, content_type: str | None, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_document(data, content_type)


def test_index_platforms_are_normalised() -> None:
    document = parse_document(
        encode(
            INDEX,
            manifests=[
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": D1,
                    "size": 5,
                    "platform": {"os": "linux", "architecture": "aarch64", "variant": "8"},
                }
            ],
        ),
        OCI_INDEX,
    )
    assert isinstance(document, ImageIndex)
    platform = document.manifests[0].platform
    assert platform is not None
    assert str(platform.normalised()) == "linux/arm64"
