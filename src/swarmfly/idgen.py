"""Task, host and peer IDs, URL filtering and the piece-length rule: the one place IDs are made.

The proxy, ``dfget``, the scheduler and the preheat path all call :func:`task_id`, so a
preheated blob and the pull that follows can never disagree on which task they mean. The
URL-based form is Dragonfly's, byte for byte: ``sha256(filtered_url + tag + application +
revision + piece_length + "STANDARD")``; the vectors in ``contracts/task_id_vectors.json``
hold it to that.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Sequence
from urllib.parse import SplitResult, parse_qsl, quote_plus, urlsplit, urlunsplit

from swarmfly.digests import Digest, parse_digest
from swarmfly.errors import InvalidInput

MIB = 1024 * 1024
MIN_PIECE_LENGTH = 4 * MIB
MAX_PIECE_LENGTH = 64 * MIB
PIECES_PER_TASK_TARGET = 500

#: The suffix Dragonfly hashes for a standard (non-persistent) task.
_TASK_TYPE = "STANDARD"

#: Query parameters that change between two requests for the same content: signatures and
#: expiry times of signed object-storage URLs (S3, GCS, OSS, OBS, COS) and containerd's ``ns``.
DEFAULT_FILTERED_QUERY_PARAMS: tuple[str, ...] = (
    "Expires",
    "Signature",
    "ns",
    # Amazon S3 (and S3-compatible stores)
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
    "AWSAccessKeyId",
    # Google Cloud Storage
    "X-Goog-Algorithm",
    "X-Goog-Credential",
    "X-Goog-Date",
    "X-Goog-Expires",
    "X-Goog-SignedHeaders",
    "X-Goog-Signature",
    "GoogleAccessId",
    # Alibaba Cloud OSS
    "OSSAccessKeyId",
    "security-token",
    "x-oss-signature-version",
    "x-oss-credential",
    "x-oss-date",
    "x-oss-expires",
    "x-oss-signature",
    "x-oss-additional-headers",
    # Huawei Cloud OBS
    "AccessKeyId",
    "x-obs-security-token",
    # Tencent Cloud COS
    "q-sign-algorithm",
    "q-ak",
    "q-sign-time",
    "q-key-time",
    "q-header-list",
    "q-url-param-list",
    "q-signature",
    "x-cos-security-token",
)

_BLOB_PATH = re.compile(r"/v2/(?P<repo>.+)/blobs/(?P<digest>[^/]+)$")
_HEX = re.compile(r"^[0-9a-f]+$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def parse_filter_list(text: str | None, separator: str = "&") -> tuple[str, ...]:
    """Split a filter list: ``&`` in config and the Open API, ``,`` in the HTTP header."""
    if not text:
        return ()
    return tuple(part.strip() for part in text.split(separator) if part.strip())


def _form_encode(value: str) -> str:
    """``application/x-www-form-urlencoded`` as the WHATWG URL standard (and Rust's url) does."""
    return quote_plus(value, safe="*").replace("~", "%7E")


def filter_url(url: str, filtered_query_params: Iterable[str]) -> str:
    """Drop the filtered query parameters and normalise the URL as Dragonfly does.

    Keys match exactly; the remaining pairs keep their order and are re-encoded; an empty query
    disappears; a bare root path (``https://host/``) loses its slash.
    """
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        raise InvalidInput(f"not an absolute URL: {url!r}")
    scheme = parts.scheme.lower()
    netloc = _normalise_netloc(scheme, parts)
    filtered = set(filtered_query_params)
    query = ""
    if parts.query:
        pairs = [
            (key, value)
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
            if key not in filtered
        ]
        query = "&".join(f"{_form_encode(k)}={_form_encode(v)}" for k, v in pairs)
    path = parts.path or "/"
    text = urlunsplit((scheme, netloc, path, query, parts.fragment))
    if path == "/" and not query and not parts.fragment:
        text = text.rstrip("/")
    return text


def _normalise_netloc(scheme: str, parts: SplitResult) -> str:
    """Lowercase the host and drop the scheme's default port, as a URL parser would."""
    try:
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"not a valid port in URL: {parts.geturl()!r}") from exc
    host = (parts.hostname or "").lower()
    if not host:
        raise InvalidInput(f"no host in URL: {parts.geturl()!r}")
    if ":" in host:
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}" if userinfo else host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{netloc}:{port}"
    return netloc


def url_task_id(
    url: str,
    *,
    tag: str | None = None,
    application: str | None = None,
    revision: str | None = None,
    piece_length: int | None = None,
    filtered_query_params: Iterable[str] = (),
) -> str:
    """Dragonfly's URL-based task ID."""
    hasher = hashlib.sha256(filter_url(url, filtered_query_params).encode())
    for part in (tag, application, revision):
        if part:
            hasher.update(part.encode())
    if piece_length:
        hasher.update(str(piece_length).encode())
    hasher.update(_TASK_TYPE.encode())
    return hasher.hexdigest()


def content_task_id(content: bytes) -> str:
    """The ID of a task known only by its bytes."""
    return hashlib.sha256(content).hexdigest()


def blob_digest(url: str) -> Digest | None:
    """The digest of an OCI blob URL (``…/v2/<repo>/blobs/<algo>:<hex>``), else ``None``.

    A URL that has the blob shape but a malformed digest raises ``InvalidInput``.
    """
    path = urlsplit(url).path
    match = _BLOB_PATH.search(path)
    if match is None:
        return None
    return parse_digest(match.group("digest"))


def blob_digest_task_id(url: str) -> str:
    """The blob-digest task ID: the digest's hex, whatever host, repository or ``ns``."""
    digest = blob_digest(url)
    if digest is None:
        raise InvalidInput(f"not a blob URL: {url!r}")
    return digest.hex


def task_id(
    url: str,
    *,
    tag: str | None = None,
    application: str | None = None,
    revision: str | None = None,
    piece_length: int | None = None,
    filtered_query_params: Iterable[str] = DEFAULT_FILTERED_QUERY_PARAMS,
    use_blob_digest: bool = True,
) -> str:
    """The one function every path calls to name a task.

    OCI blob URLs get the content-addressed blob-digest ID unless ``use_blob_digest`` is off;
    everything else gets the URL-based ID.
    """
    if use_blob_digest:
        digest = blob_digest(url)
        if digest is not None:
            return digest.hex
    return url_task_id(
        url,
        tag=tag,
        application=application,
        revision=revision,
        piece_length=piece_length,
        filtered_query_params=filtered_query_params,
    )


def is_task_id(text: str) -> bool:
    """Whether ``text`` can name a task: lowercase hex of a sha256 or sha512 digest."""
    return len(text) in (64, 128) and _HEX.match(text) is not None


def host_id(ip: str, hostname: str, *, is_seed: bool) -> str:
    """Dragonfly's host ID: ``<ip>-<hostname>``, with ``-seed`` for a seed peer."""
    return f"{ip}-{hostname}-seed" if is_seed else f"{ip}-{hostname}"


def peer_id(ip: str, hostname: str, *, is_seed: bool = False) -> str:
    """A fresh peer ID: one per download of a task by a host."""
    return f"{host_id(ip, hostname, is_seed=is_seed)}-{uuid.uuid4()}"


def piece_length_for(content_length: int | None, fixed: int | None = None) -> int:
    """Dragonfly's rule: ``content_length / 500`` rounded up to a power of two, in 4..64 MiB.

    A piece length fixed by the request wins; an unknown length gets the smallest piece.
    """
    if fixed:
        return fixed
    if not content_length or content_length <= 0:
        return MIN_PIECE_LENGTH
    target = -(-content_length // PIECES_PER_TASK_TARGET)
    length = 1 << (target - 1).bit_length()
    return max(MIN_PIECE_LENGTH, min(MAX_PIECE_LENGTH, length))


def validate_piece_length(piece_length: int) -> int:
    """A fixed piece length must lie in 4..64 MiB."""
    if not MIN_PIECE_LENGTH <= piece_length <= MAX_PIECE_LENGTH:
        raise InvalidInput(
            f"piece length {piece_length} is out of range ({MIN_PIECE_LENGTH}..{MAX_PIECE_LENGTH})"
        )
    return piece_length


def piece_count(content_length: int, piece_length: int) -> int:
    """How many pieces a task of this length has (at least one: an empty task has one)."""
    return max(1, -(-content_length // piece_length))


def filters_for_request(
    default: Sequence[str], rule: Sequence[str] | None, header: str | None
) -> tuple[str, ...]:
    """Which query parameters to filter: the header beats the rule, the rule beats the default."""
    if header is not None and header.strip():
        return parse_filter_list(header, ",")
    if rule:
        return tuple(rule)
    return tuple(default)
