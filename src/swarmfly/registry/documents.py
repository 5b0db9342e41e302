"""The manifest documents a registry serves, parsed with pydantic at the boundary.

Four media types carry blobs we can list: Docker's image manifest (v2 schema 2) and manifest
list, and OCI's image manifest and index. They are all asked for in one ``Accept``: a registry
holding an OCI manifest answers 404 to a client that does not accept OCI (docker-registry says
"OCI manifest found, but accept header does not support OCI manifests").

Which kind a document is comes from its own ``mediaType``, else the ``Content-Type`` header,
else its shape (``manifests`` for an index, ``config`` for a manifest): old registries serve
OCI manifests, whose ``mediaType`` was optional, as ``application/json``.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from swarmfly.digests import parse_digest
from swarmfly.errors import InvalidInput
from swarmfly.registry.errors import InvalidManifest, UnsupportedManifest
from swarmfly.registry.platforms import Platform, normalise

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+prettyjws"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"

INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})

#: Every type we can use, indexes first; one header line, as containerd sends it.
ACCEPT = ", ".join((OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST))

_GENERIC_TYPES = frozenset({"", "application/json", "text/plain", "application/octet-stream"})


class _Document(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class PlatformField(_Document):
    os: str
    architecture: str
    variant: str | None = None

    def normalised(self) -> Platform:
        return normalise(self.os, self.architecture, self.variant)


class Descriptor(_Document):
    """A pointer to content: its media type, digest and size (and, in an index, platform)."""

    media_type: str = Field(alias="mediaType")
    digest: str
    size: int = Field(ge=0)
    platform: PlatformField | None = None

    @field_validator("digest")
    @classmethod
    def _digest_is_valid(cls, value: str) -> str:
        try:
            return str(parse_digest(value))
        except InvalidInput as exc:
            raise ValueError(str(exc)) from exc


class ImageManifest(_Document):
    """One platform's image: a config blob and its layers, in order."""

    schema_version: Literal[2] = Field(alias="schemaVersion")
    media_type: str | None = Field(default=None, alias="mediaType")
    config: Descriptor
    layers: list[Descriptor]


class ImageIndex(_Document):
    """A manifest list or OCI index: one manifest per platform."""

    schema_version: Literal[2] = Field(alias="schemaVersion")
    media_type: str | None = Field(default=None, alias="mediaType")
    manifests: list[Descriptor]


def parse_document(data: bytes, content_type: str | None) -> ImageManifest | ImageIndex:
    """Parse manifest bytes into the model their media type names (``media_type`` always set).

    Raises :class:`UnsupportedManifest` for schema 1 and media types that list no blobs, and
    :class:`InvalidManifest` for bytes that are not the JSON their type promises.
    """
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidManifest(f"manifest is not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise InvalidManifest("manifest is not a JSON object")
    media_type = media_type_of(raw, content_type)
    model: type[ImageManifest | ImageIndex]
    if media_type in INDEX_TYPES:
        model = ImageIndex
    elif media_type in MANIFEST_TYPES:
        model = ImageManifest
    else:
        raise UnsupportedManifest(f"cannot preheat a manifest of media type {media_type!r}")
    try:
        document = model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidManifest(f"not a valid {media_type}: {problems}") from exc
    # The type we settled on, even where the document left it out.
    return document.model_copy(update={"media_type": media_type})


def media_type_of(raw: dict[str, object], content_type: str | None) -> str:
    """The document's ``mediaType``, else the header's type, else what its shape says."""
    declared = raw.get("mediaType")
    if isinstance(declared, str) and declared:
        return declared
    header = (content_type or "").split(";", 1)[0].strip().lower()
    if header not in _GENERIC_TYPES:
        return header
    if raw.get("schemaVersion") == 1:
        return DOCKER_SCHEMA1
    if "manifests" in raw:
        return OCI_INDEX
    if "config" in raw:
        return OCI_MANIFEST
    return header or "unknown"
