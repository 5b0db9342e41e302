"""Where a proxied request goes, and by which path: pure decisions, no I/O.

Two shapes of HTTP request reach the proxy port (``CONNECT`` never gets this far, see
:mod:`.tunnel`):

- origin-form, ``GET /v2/<repo>/blobs/<digest>?ns=<registry>``: containerd or skopeo using the
  daemon as a registry mirror. The upstream registry is, in order, the ``X-Dragonfly-Registry``
  header, the ``ns`` query parameter, then ``proxy.registryMirror.addr``. ``ns`` is addressed
  to the mirror, so it is not sent on: the upstream URL is the one a preheat would fetch.
- absolute-form, ``GET http://host/path``: a forward proxy (``curl -x``); the target is the URL.

Then the rules decide: a GET whose URL (without its query) matches a rule's regex, or that says
``X-Dragonfly-Use-P2P: true``, goes through the piece store; everything else is relayed as is.
The first matching rule also picks the filtered query parameters and may redirect the request
to another host or upgrade it to TLS.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote_plus, urlsplit

from swarmfly import idgen, units
from swarmfly.config import ProxyConfig, ProxyRule, RegistryMirrorConfig
from swarmfly.daemon.proxy.headers import store_headers
from swarmfly.daemon.tasks import TaskRequest
from swarmfly.digests import Digest
from swarmfly.errors import InvalidInput
from swarmfly.wire import headers as names

#: What ``ns=docker.io`` means: the host that really serves Docker Hub's registry API.
DOCKER_HUB = "https://registry-1.docker.io"
_DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io"})

# host or host:port, IPv6 in brackets; nothing that could smuggle a path or userinfo.
_REGISTRY_HOST = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


class Mode(enum.StrEnum):
    """How the client addressed the proxy (a metrics label too)."""

    MIRROR = "mirror"
    FORWARD = "forward"
    TUNNEL = "tunnel"


@dataclass(frozen=True)
class DragonflyHeaders:
    """The ``X-Dragonfly-*`` request headers the proxy honours (never sent upstream)."""

    registry: str | None = None
    use_p2p: bool = False
    tag: str | None = None
    application: str | None = None
    filtered_query_params: str | None = None
    piece_length: int | None = None

    @classmethod
    def parse(cls, headers: Mapping[str, str]) -> DragonflyHeaders:
        length = headers.get(names.PIECE_LENGTH)
        return cls(
            registry=headers.get(names.REGISTRY) or None,
            use_p2p=headers.get(names.USE_P2P, "").strip().lower() == "true",
            tag=headers.get(names.TAG),
            application=headers.get(names.APPLICATION),
            filtered_query_params=headers.get(names.FILTERED_QUERY_PARAMS),
            piece_length=_piece_length(length) if length else None,
        )


def _piece_length(text: str) -> int:
    try:
        return idgen.validate_piece_length(units.parse_size(text.strip()))
    except InvalidInput as exc:
        raise InvalidInput(f"bad {names.PIECE_LENGTH}: {exc}") from exc


@dataclass(frozen=True)
class Route:
    """One request's decision: the upstream URL and whether the piece store serves it."""

    mode: Mode
    method: str
    url: str  # the upstream URL, its query kept byte for byte
    rule: ProxyRule | None
    blob: Digest | None  # the digest when the URL is an OCI blob URL
    use_store: bool
    options: DragonflyHeaders


def route_request(
    method: str, target: str, headers: Mapping[str, str], config: ProxyConfig
) -> Route:
    """Decide where ``method target`` goes; raises :class:`InvalidInput` for a bad target."""
    options = DragonflyHeaders.parse(headers)
    lowered = target[:8].lower()
    if lowered.startswith(("http://", "https://")):
        mode, url = Mode.FORWARD, target
    elif target.startswith("/"):
        mode, url = Mode.MIRROR, mirror_url(target, options.registry, config.registry_mirror)
    else:
        raise InvalidInput(f"cannot proxy the request target {target[:100]!r}")
    rule = match_rule(url, config.rules)
    if rule is not None:
        url = apply_rule(url, rule)
    try:
        blob = idgen.blob_digest(url)
        well_formed = True
    except InvalidInput:  # blob-shaped, but not a digest: the registry will say what is wrong
        blob, well_formed = None, False
    use_store = method == "GET" and well_formed and (rule is not None or options.use_p2p)
    return Route(mode, method, url, rule, blob, use_store, options)


def mirror_url(target: str, registry: str | None, mirror: RegistryMirrorConfig) -> str:
    """The upstream URL of an origin-form request to the mirror."""
    path, _, query = target.partition("?")
    ns, query = pop_query_param(query, "ns")
    base = registry_base(registry, ns, mirror).rstrip("/")
    return f"{base}{path}?{query}" if query else f"{base}{path}"


def pop_query_param(query: str, name: str) -> tuple[str | None, str]:
    """The decoded value of ``name`` (the first one) and the query without it.

    The other pairs are kept exactly as sent: a signature must survive byte for byte.
    """
    value: str | None = None
    kept: list[str] = []
    for pair in query.split("&") if query else ():
        key, _, raw = pair.partition("=")
        if unquote_plus(key) == name:
            if value is None:
                value = unquote_plus(raw)
        else:
            kept.append(pair)
    return value, "&".join(kept)


def registry_base(registry: str | None, ns: str | None, mirror: RegistryMirrorConfig) -> str:
    """``scheme://host[:port]`` of the registry a mirror request is for."""
    if registry:
        return registry if "://" in registry else registry_for_host(registry, mirror)
    if ns:
        return registry_for_host(ns, mirror)
    return mirror.addr


def registry_for_host(host: str, mirror: RegistryMirrorConfig) -> str:
    """The base URL for a registry named by host, as ``ns`` names it (``127.0.0.1:5000``).

    ``docker.io`` is Docker Hub's API host. The configured mirror address lends its scheme to
    its own host. Otherwise a loopback registry, or one listed in ``insecureRegistries``, is
    plain HTTP, and any other registry HTTPS.
    """
    host = host.strip()
    if not _REGISTRY_HOST.fullmatch(host):
        raise InvalidInput(f"not a registry host: {host[:100]!r}")
    if host.lower() in _DOCKER_HUB_ALIASES:
        return DOCKER_HUB
    addr = urlsplit(mirror.addr)
    if addr.netloc.lower() == host.lower() and addr.scheme:
        return f"{addr.scheme}://{addr.netloc}"
    insecure = {entry.strip().lower() for entry in mirror.insecure_registries}
    plain = is_loopback(host) or host.lower() in insecure
    return f"{'http' if plain else 'https'}://{host}"


def is_loopback(host: str) -> bool:
    """Whether ``host[:port]`` names this machine."""
    name = urlsplit(f"//{host}").hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def match_rule(url: str, rules: Iterable[ProxyRule]) -> ProxyRule | None:
    """The first rule whose regex is found in the URL without its query."""
    bare = url.partition("?")[0]
    for rule in rules:
        if re.search(rule.regex, bare):
            return rule
    return None


def apply_rule(url: str, rule: ProxyRule) -> str:
    """Send the URL where the rule says: another host (``redirect``), and/or over TLS."""
    scheme, _, rest = url.partition("://")
    netloc, slash, tail = rest.partition("/")
    if rule.redirect:
        target = rule.redirect.rstrip("/")
        if "://" in target:
            scheme, _, netloc = target.partition("://")
        else:
            netloc = target
    if rule.use_tls and scheme.lower() == "http":
        scheme = "https"
    return f"{scheme}://{netloc}{slash}{tail}"


def task_request(
    route: Route, request_headers: Iterable[tuple[str, str]], config: ProxyConfig
) -> TaskRequest:
    """The task a store-path request names, with its ID from the one ``idgen`` rule."""
    options = route.options
    rule_filter = route.rule.filtered_query_params if route.rule is not None else None
    return TaskRequest.build(
        route.url,
        headers=store_headers(request_headers),
        tag=options.tag or config.default_tag,
        application=options.application or config.default_application,
        filtered_query_params=idgen.filters_for_request(
            config.default_filter, rule_filter, options.filtered_query_params
        ),
        piece_length=options.piece_length,
        # Verified whatever the task ID is: a blob's digest is its name.
        digest=str(route.blob) if route.blob is not None else None,
        disable_back_to_source=config.disable_back_to_source,
        use_blob_digest=config.registry_mirror.enable_task_id_based_blob_digest,
    )
