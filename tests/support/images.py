"""OCI image layouts built in Python: deterministic random layers, configs, manifests, indexes.

A layer is a tar of files wrapped in gzip at level 0 ("stored" blocks): valid gzip that
builds at disk speed, and random data would not compress anyway. Every tar and gzip header
has fixed times and owners, and file bytes come from seeded generators, so the same inputs
give the same digests on every run. Blobs stream to disk in 1 MiB chunks while two sha256s
run over them (the compressed digest and the uncompressed diff ID); nothing is held whole.

``skopeo copy oci:<layout>:<tag> docker://…`` pushes a tag (``--all`` for an index).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import random
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
REF_NAME = "org.opencontainers.image.ref.name"
CHUNK = 1 << 20
EPOCH = "1970-01-01T00:00:00Z"


@dataclass(frozen=True)
class Blob:
    """A content-addressed blob as a descriptor names it."""

    digest: str  # "sha256:<hex>"
    size: int
    media_type: str

    @property
    def hex(self) -> str:
        return self.digest.split(":", 1)[1]

    def descriptor(self) -> dict[str, object]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


@dataclass(frozen=True)
class Image:
    """One platform's image: what a pull fetches from ``/manifests/`` and ``/blobs/``."""

    manifest: Blob
    config: Blob
    layers: tuple[Blob, ...]
    platform: str  # "linux/amd64"

    @property
    def blobs(self) -> tuple[Blob, ...]:
        """The config and the layers: every ``GET /v2/<repo>/blobs/<digest>`` of a pull."""
        return (self.config, *self.layers)

    @property
    def digests(self) -> frozenset[str]:
        return frozenset(blob.digest for blob in self.blobs)


@dataclass(frozen=True)
class ImageIndex:
    """A multi-platform OCI index and the image of each platform."""

    index: Blob
    images: Mapping[str, Image]  # platform ("linux/arm64") -> image

    @property
    def blobs(self) -> tuple[Blob, ...]:
        seen: dict[str, Blob] = {}
        for image in self.images.values():
            for blob in image.blobs:
                seen.setdefault(blob.digest, blob)
        return tuple(seen.values())


@dataclass(frozen=True)
class LayerFile:
    """A regular file in a layer: ``text`` when given, else ``size`` seeded random bytes."""

    path: str
    size: int = 0
    seed: int = 0
    text: bytes | None = None

    @property
    def length(self) -> int:
        return len(self.text) if self.text is not None else self.size

    def open(self) -> BinaryIO | _RandomReader:
        if self.text is not None:
            return io.BytesIO(self.text)
        return _RandomReader(self.seed, self.size)


def random_layer(size: int, seed: int, name: str | None = None) -> tuple[LayerFile, ...]:
    """A layer holding one file of ``size`` random bytes drawn from ``seed``."""
    return (LayerFile(f"data/{name or f'random-{seed}-{size}.bin'}", size=size, seed=seed),)


def text_layer(path: str, text: str) -> tuple[LayerFile, ...]:
    return (LayerFile(path, text=text.encode()),)


class _RandomReader:
    """``read(n)`` from a seeded generator, ``size`` bytes in all."""

    def __init__(self, seed: int, size: int) -> None:
        self._random = random.Random(seed)
        self._left = size

    def read(self, n: int = -1) -> bytes:
        n = self._left if n < 0 else min(n, self._left)
        self._left -= n
        return self._random.randbytes(n)


class _HashingWriter:
    """A write-only sink that hashes and counts bytes on their way to ``sink``."""

    def __init__(self, sink: BinaryIO | _HashingWriter | gzip.GzipFile) -> None:
        self._sink = sink
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.size += len(data)
        self._sink.write(data)
        return len(data)

    def flush(self) -> None:
        """tarfile and gzip call this; the real file is flushed when it closes."""

    @property
    def digest(self) -> str:
        return f"sha256:{self.sha256.hexdigest()}"


class OciLayout:
    """An OCI image layout directory (``oci-layout``, ``index.json``, ``blobs/sha256/``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._blobs = root / "blobs" / "sha256"
        self._blobs.mkdir(parents=True, exist_ok=True)
        (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
        self._tags: dict[str, Blob] = {}
        self._write_index()

    def blob_path(self, digest: str) -> Path:
        return self._blobs / digest.split(":", 1)[1]

    def reference(self, tag: str) -> str:
        """The skopeo source reference of a tag: ``oci:<dir>:<tag>``."""
        return f"oci:{self.root}:{tag}"

    def add_image(
        self,
        tag: str | None,
        layers: Sequence[Sequence[LayerFile]],
        *,
        arch: str = "amd64",
    ) -> Image:
        """Write the layers, a config and a manifest; tag the manifest unless ``tag`` is None."""
        built = [self._write_layer(files) for files in layers]
        config = {
            "created": EPOCH,
            "architecture": arch,
            "os": "linux",
            "config": {"Env": ["PATH=/bin"], "Cmd": ["/bin/sh"]},
            "rootfs": {"type": "layers", "diff_ids": [diff_id for _, diff_id in built]},
            "history": [{"created": EPOCH, "created_by": f"layer {i}"} for i in range(len(built))],
        }
        config_blob = self._write_json(config, MEDIA_CONFIG)
        manifest = {
            "schemaVersion": 2,
            "mediaType": MEDIA_MANIFEST,
            "config": config_blob.descriptor(),
            "layers": [blob.descriptor() for blob, _ in built],
        }
        manifest_blob = self._write_json(manifest, MEDIA_MANIFEST)
        if tag is not None:
            self._tag(tag, manifest_blob)
        layer_blobs = tuple(blob for blob, _ in built)
        return Image(manifest_blob, config_blob, layer_blobs, f"linux/{arch}")

    def add_index(self, tag: str, images: Iterable[Image]) -> ImageIndex:
        """Write an OCI index over ``images`` (one per platform) and tag it."""
        by_platform = {image.platform: image for image in images}
        manifests = []
        for platform, image in by_platform.items():
            os_name, arch = platform.split("/", 1)
            entry = image.manifest.descriptor()
            entry["platform"] = {"architecture": arch, "os": os_name}
            manifests.append(entry)
        index_blob = self._write_json(
            {"schemaVersion": 2, "mediaType": MEDIA_INDEX, "manifests": manifests}, MEDIA_INDEX
        )
        self._tag(tag, index_blob)
        return ImageIndex(index_blob, by_platform)

    def _tag(self, tag: str, blob: Blob) -> None:
        self._tags[tag] = blob
        self._write_index()

    def _write_index(self) -> None:
        manifests = []
        for tag, blob in self._tags.items():
            entry = blob.descriptor()
            entry["annotations"] = {REF_NAME: tag}
            manifests.append(entry)
        index = {"schemaVersion": 2, "mediaType": MEDIA_INDEX, "manifests": manifests}
        (self.root / "index.json").write_text(json.dumps(index, indent=1))

    def _write_json(self, document: object, media_type: str) -> Blob:
        data = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
        digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
        path = self.blob_path(digest)
        if not path.exists():
            path.write_bytes(data)
        return Blob(digest, len(data), media_type)

    def _write_layer(self, files: Sequence[LayerFile]) -> tuple[Blob, str]:
        """Stream tar → sha256 (diff ID) → gzip level 0 → sha256 (digest) → file."""
        temporary = self._blobs / f".building-{os.getpid()}"
        with open(temporary, "wb") as out:
            compressed = _HashingWriter(out)
            with gzip.GzipFile(
                filename="", mode="wb", compresslevel=0, fileobj=compressed, mtime=0
            ) as zipped:
                raw = _HashingWriter(zipped)
                _write_tar(raw, files)
        path = self.blob_path(compressed.digest)
        if path.exists():
            temporary.unlink()
        else:
            temporary.rename(path)
        return Blob(compressed.digest, compressed.size, MEDIA_LAYER), raw.digest


def _write_tar(sink: _HashingWriter, files: Sequence[LayerFile]) -> None:
    directories = sorted({parent for f in files for parent in _parents(f.path)})
    with tarfile.open(  # type: ignore[call-overload]  # typeshed lacks copybufsize
        fileobj=sink,
        mode="w|",
        format=tarfile.PAX_FORMAT,
        bufsize=CHUNK,
        copybufsize=CHUNK,
    ) as tar:
        for directory in directories:
            tar.addfile(_tar_entry(directory, tarfile.DIRTYPE, 0o755))
        for file in files:
            entry = _tar_entry(file.path, tarfile.REGTYPE, 0o644, file.length)
            tar.addfile(entry, file.open())


def _parents(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _tar_entry(name: str, kind: bytes, mode: int, size: int = 0) -> tarfile.TarInfo:
    entry = tarfile.TarInfo(name)
    entry.type = kind
    entry.mode = mode
    entry.size = size
    entry.mtime = 0
    entry.uid = entry.gid = 0
    entry.uname = entry.gname = "root"
    return entry
