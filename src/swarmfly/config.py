"""Configuration files as pydantic models: ``dfget.yaml`` for the daemon (``DaemonConfig``),
``scheduler.yaml`` for the scheduler (``SchedulerServiceConfig``), ``manager.yaml`` for the
manager (``ManagerServiceConfig``).

Keys are Dragonfly's camelCase; snake_case is accepted too. Every model is frozen and every
field has its default, so a missing section means "the defaults". ``cli`` loads a file once
with :func:`load_daemon_config` and hands each component only its own section. An unknown key
does not stop the daemon, but it is reported by name: a typo that Dragonfly silently ignores
costs users hours.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from swarmfly import units
from swarmfly.errors import InvalidInput
from swarmfly.idgen import DEFAULT_FILTERED_QUERY_PARAMS, parse_filter_list


def _duration(value: Any) -> timedelta:
    try:
        return units.parse_duration(value)
    except InvalidInput as exc:
        raise ValueError(str(exc)) from exc


def _size(value: Any) -> int:
    try:
        return units.parse_size(value)
    except InvalidInput as exc:
        raise ValueError(str(exc)) from exc


Duration = Annotated[timedelta, BeforeValidator(_duration)]
Size = Annotated[int, BeforeValidator(_size)]
Port = Annotated[int, Field(ge=0, le=65535)]


class Section(BaseModel):
    """Base of every config section: camelCase keys, frozen, unknown keys kept for the warning."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="allow"
    )


class ServerConfig(Section):
    ip: str = "0.0.0.0"  # address to listen on
    port: Port = 0  # 0 picks a free port (tests); each role sets its own default


def _server(port: int) -> Any:
    return Field(default_factory=lambda: ServerConfig(port=port))


class HostConfig(Section):
    hostname: str = Field(default_factory=socket.gethostname)  # reported to the scheduler
    ip: str = "127.0.0.1"  # address other peers use to reach this host
    idc: str = ""  # data centre, for parent affinity
    location: str = ""  # "country|province|city", for parent affinity


class ControlConfig(Section):
    server: ServerConfig = _server(4003)  # health, metrics, and the local download API


class ProxyRule(Section):
    regex: str  # matched against the URL without its query
    use_tls: bool = Field(
        default=False, alias="useTLS"
    )  # talk TLS to the upstream when the request came in plain
    redirect: str = ""  # send matching requests to this host instead
    filtered_query_params: tuple[str, ...] = ()  # replaces proxy.defaultFilter for this rule

    @field_validator("filtered_query_params", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return parse_filter_list(value) if isinstance(value, str) else value


class RegistryMirrorConfig(Section):
    addr: str = "https://index.docker.io"  # upstream when neither header nor ?ns= names one
    insecure: bool = False  # skip TLS verification for the upstream
    # registries (host or host:port) named by ?ns= that speak plain HTTP; loopback always does
    insecure_registries: tuple[str, ...] = ()
    # blob URLs use the digest as task ID
    enable_task_id_based_blob_digest: bool = Field(
        default=True, alias="enableTaskIDBasedBlobDigest"
    )


class ProxyConfig(Section):
    server: ServerConfig = _server(4001)
    default_filter: tuple[str, ...] = DEFAULT_FILTERED_QUERY_PARAMS  # "Expires&Signature&ns"
    default_tag: str = ""
    default_application: str = ""
    rules: tuple[ProxyRule, ...] = (ProxyRule(regex="blobs/sha256.*"),)
    registry_mirror: RegistryMirrorConfig = Field(default_factory=RegistryMirrorConfig)
    disable_back_to_source: bool = False
    # how long a registry's "yes" to a credential for a repository is trusted before the
    # store serves that repository's blobs to the credential again without asking
    access_check_ttl: Duration = Field(default=timedelta(seconds=60), alias="accessCheckTTL")

    @field_validator("default_filter", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return parse_filter_list(value) if isinstance(value, str) else value


class StorageConfig(Section):
    dir: Path = Path("/var/lib/swarmfly")  # every file the daemon writes lives under it
    keep: bool = True  # keep content across restarts (False wipes the store at start)
    fsync: bool = False  # fdatasync each piece before recording it (see docs: power loss)


class UploadConfig(Section):
    server: ServerConfig = _server(4000)
    rate_limit: Size = 0  # bytes/s served to other peers; 0 means unlimited
    concurrent_limit: int = Field(default=50, ge=1)  # pieces served at once


class DownloadConfig(Section):
    piece_timeout: Duration = timedelta(seconds=30)  # one piece from one parent or the source
    concurrent_piece_count: int = Field(default=8, ge=1, le=64)
    rate_limit: Size = 0  # bytes/s from parents and the source; 0 means unlimited
    total_timeout: Duration = timedelta(hours=2)  # a whole task


class GCPolicy(Section):
    # unused this long, a task is evicted
    task_ttl: Duration = Field(default=timedelta(hours=6), alias="taskTTL")
    disk_high_threshold_percent: float = Field(default=80, gt=0, le=100)
    disk_low_threshold_percent: float = Field(default=60, ge=0, le=100)


class GCConfig(Section):
    interval: Duration = timedelta(minutes=1)
    policy: GCPolicy = Field(default_factory=GCPolicy)


class SeedPeerConfig(Section):
    enable: bool = False
    type: Literal["super", "strong", "weak"] = "super"


class ManagerConfig(Section):
    addr: str = ""  # host:port of the manager; empty until the manager is used


class SchedulerConfig(Section):
    addrs: tuple[str, ...] = ()  # host:port of each scheduler


class DaemonConfig(Section):
    """``dfget.yaml``."""

    host: HostConfig = Field(default_factory=HostConfig)
    control: ControlConfig = Field(default_factory=ControlConfig)
    proxy: ProxyConfig = Field(default_factory=ProxyConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    upload: UploadConfig = Field(default_factory=UploadConfig)
    download: DownloadConfig = Field(default_factory=DownloadConfig)
    gc: GCConfig = Field(default_factory=GCConfig)
    seed_peer: SeedPeerConfig = Field(default_factory=SeedPeerConfig)
    manager: ManagerConfig = Field(default_factory=ManagerConfig)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["logfmt", "json"] = "logfmt"


class SchedulingConfig(Section):
    # parents returned to a peer, best first (Dragonfly's candidateParentLimit)
    candidate_parent_limit: int = Field(default=4, ge=1, le=20)
    # peers of a task examined per decision, a bound on the work (filterParentLimit)
    filter_parent_limit: int = Field(default=15, ge=1, le=1000)


class SchedulerManagerConfig(Section):
    addr: str = ""  # host:port of the manager; empty: no preheat work is taken
    # the scheduler cluster this scheduler serves (preheat jobs target clusters)
    scheduler_cluster_id: int = Field(default=1, ge=1, alias="schedulerClusterID")
    # how long an idle scheduler's claim for preheat work waits at the manager (a long poll:
    # work submitted to that manager is claimed at once), and so how often it asks again
    claim_interval: Duration = Field(default=timedelta(seconds=1), gt=timedelta(0))


class SchedulerServiceConfig(Section):
    """``scheduler.yaml``."""

    server: ServerConfig = _server(8002)
    # the address daemons and the manager reach this scheduler at
    advertise_ip: str = Field(default="127.0.0.1", alias="advertiseIP")
    manager: SchedulerManagerConfig = Field(default_factory=SchedulerManagerConfig)
    scheduling: SchedulingConfig = Field(default_factory=SchedulingConfig)
    # how often daemons send keepalives (told to each host when it registers)
    host_keepalive_interval: Duration = Field(default=timedelta(seconds=5), gt=timedelta(0))
    # a host silent this long is dropped with its peers
    host_ttl: Duration = Field(default=timedelta(seconds=30), alias="hostTTL", gt=timedelta(0))
    # one seed peer's answer to a download order; then the next seed peer is tried
    seed_order_timeout: Duration = Field(default=timedelta(seconds=5), gt=timedelta(0))
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["logfmt", "json"] = "logfmt"

    @model_validator(mode="after")
    def _ttl_outlives_keepalives(self) -> SchedulerServiceConfig:
        if self.host_ttl <= self.host_keepalive_interval:
            raise ValueError(
                "hostTTL must be longer than hostKeepaliveInterval, or every host expires "
                "between two keepalives"
            )
        return self


class DatabaseConfig(Section):
    # empty: SQLite in <dataDir>/manager.db; else a URL such as
    # postgresql://user:password@host:5432/swarmfly (or sqlite:////path/to/manager.db)
    dsn: SecretStr = SecretStr("")
    pool_size: int = Field(default=10, ge=1, le=100)  # connections kept open (PostgreSQL)


class JobsConfig(Section):
    # a preheat whose timeout is 0 must be finished within this
    default_timeout: Duration = Field(default=timedelta(minutes=60), gt=timedelta(0))
    default_concurrent_count: int = Field(default=8, ge=1, le=100)  # blobs fetched at once
    # a scheduler that stops renewing its claim on work loses it after this
    lease: Duration = Field(default=timedelta(seconds=30), gt=timedelta(0))
    # how often deadlines are checked (a job past its timeout becomes FAILURE)
    sweep_interval: Duration = Field(default=timedelta(seconds=5), gt=timedelta(0))


class SchedulerKeepaliveConfig(Section):
    # told to each scheduler when it registers
    keepalive_interval: Duration = Field(default=timedelta(seconds=5), gt=timedelta(0))
    # a scheduler (and its seed peers) silent this long is inactive
    keepalive_ttl: Duration = Field(
        default=timedelta(seconds=30), alias="keepaliveTTL", gt=timedelta(0)
    )


class ConsoleConfig(Section):
    """The web console the manager serves at ``/`` (sign in as a user, preheat, tokens)."""

    enable: bool = True
    # a signed-in session lasts this long, then the user signs in again
    session_ttl: Duration = Field(default=timedelta(hours=12), alias="sessionTTL", gt=timedelta(0))
    # mark the session cookie Secure: set it when users reach the manager over https
    secure_cookie: bool = False
    # failed sign-ins allowed per username (and 4x that per address) before a lockout
    sign_in_free_failures: int = Field(default=5, ge=1, le=1000)
    # the first lockout; each further failure doubles it, up to signInMaxLockout
    sign_in_lockout: Duration = Field(default=timedelta(seconds=30), gt=timedelta(0))
    sign_in_max_lockout: Duration = Field(default=timedelta(minutes=15), gt=timedelta(0))


class ManagerServiceConfig(Section):
    """``manager.yaml``."""

    server: ServerConfig = _server(8080)
    data_dir: Path = Path("/var/lib/swarmfly/manager")  # manager.db and root-password live here
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    jobs: JobsConfig = Field(default_factory=JobsConfig)
    schedulers: SchedulerKeepaliveConfig = Field(default_factory=SchedulerKeepaliveConfig)
    console: ConsoleConfig = Field(default_factory=ConsoleConfig)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["logfmt", "json"] = "logfmt"


class ConfigError(InvalidInput):
    """A config file that cannot be used; the message is one line naming the key."""


def unknown_keys(model: BaseModel, prefix: str = "") -> Iterator[str]:
    """Every key that the file had and no model field took, as a dotted path."""
    for key in model.model_extra or {}:
        yield f"{prefix}{key}"
    for name, value in model:
        items = value if isinstance(value, tuple) else (value,)
        for index, item in enumerate(items):
            if isinstance(item, BaseModel):
                alias = type(model).model_fields[name].alias or name
                suffix = f"[{index}]" if isinstance(value, tuple) else ""
                yield from unknown_keys(item, f"{prefix}{alias}{suffix}.")


def parse_daemon_config(data: Mapping[str, Any] | None) -> DaemonConfig:
    """Validate a loaded document; the first problem becomes one line naming its key."""
    try:
        return DaemonConfig.model_validate(data or {})
    except ValidationError as exc:
        raise ConfigError(_first_problem(exc)) from exc


def load_daemon_config(path: Path | None) -> DaemonConfig:
    """Read ``dfget.yaml``; ``None`` gives the defaults."""
    if path is None:
        return DaemonConfig()
    return parse_daemon_config(read_yaml(path))


def parse_scheduler_config(data: Mapping[str, Any] | None) -> SchedulerServiceConfig:
    """Validate a loaded ``scheduler.yaml``; the first problem becomes one line naming its key."""
    try:
        return SchedulerServiceConfig.model_validate(data or {})
    except ValidationError as exc:
        raise ConfigError(_first_problem(exc)) from exc


def load_scheduler_config(path: Path | None) -> SchedulerServiceConfig:
    """Read ``scheduler.yaml``; ``None`` gives the defaults."""
    if path is None:
        return SchedulerServiceConfig()
    return parse_scheduler_config(read_yaml(path))


def parse_manager_config(data: Mapping[str, Any] | None) -> ManagerServiceConfig:
    """Validate a loaded ``manager.yaml``; the first problem becomes one line naming its key."""
    try:
        return ManagerServiceConfig.model_validate(data or {})
    except ValidationError as exc:
        raise ConfigError(_first_problem(exc)) from exc


def load_manager_config(path: Path | None) -> ManagerServiceConfig:
    """Read ``manager.yaml``; ``None`` gives the defaults."""
    if path is None:
        return ManagerServiceConfig()
    return parse_manager_config(read_yaml(path))


def read_yaml(path: Path) -> Mapping[str, Any]:
    try:
        with open(path, encoding="utf-8") as file:
            data = yaml.safe_load(file)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}:{where}: {problem}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping of keys, not {type(data).__name__}"
        )
    return data


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    message = error["msg"].removeprefix("Value error, ")
    return f"{key}: {message} (got {error.get('input')!r})"


def default_config_paths(filename: str = "dfget.yaml") -> tuple[Path, ...]:
    """Where a command looks for its file (``dfget.yaml``, ``scheduler.yaml``) when not told."""
    home = Path(os.environ.get("HOME", "/root"))
    return (Path(filename), home / ".swarmfly" / filename, Path("/etc/swarmfly") / filename)
