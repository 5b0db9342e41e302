"""Command-line entry points: ``swarmfly`` (with ``daemon``, ``scheduler``, ``manager`` and
``token``), ``dfget`` and ``dfdaemon``.

This is the one place that reads config files, configures logging and prints. Each command
loads its config once and hands it to the role's ``serve``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from swarmfly import __version__, idgen, units
from swarmfly.client.dfget import DfgetOptions, DfgetResult
from swarmfly.client.dfget import dfget as run_dfget
from swarmfly.client.progress import TerminalProgress
from swarmfly.errors import SwarmflyError, Timeout
from swarmfly.logs import setup_logging

if TYPE_CHECKING:
    from pydantic import BaseModel

    from swarmfly.config import DaemonConfig, ManagerServiceConfig, SchedulerServiceConfig

logger = logging.getLogger("swarmfly.cli")


def _fail(program: str, message: str, code: int = 1) -> NoReturn:
    click.echo(f"{program}: error: {message}", err=True)
    sys.exit(code)


def _load_daemon_config(path: Path | None, program: str) -> DaemonConfig:
    """The daemon config at ``path``; the defaults when there is no file."""
    # Config (pydantic models, YAML) is imported only where it is read: dfget's start-up
    # is part of every download's time.
    from swarmfly.config import ConfigError, load_daemon_config

    try:
        config = load_daemon_config(path)
    except ConfigError as exc:
        _fail(program, str(exc), 2)
    return config


def _warn_unknown_keys(config: BaseModel, path: Path | None) -> None:
    from swarmfly.config import unknown_keys

    unknown = sorted(unknown_keys(config))
    if unknown:
        logger.warning(
            "unknown config keys ignored (check their spelling)",
            extra={"file": str(path), "keys": ",".join(unknown)},
        )


def _find_config(filename: str = "dfget.yaml") -> Path | None:
    from swarmfly.config import default_config_paths

    for candidate in default_config_paths(filename):
        if candidate.is_file():
            return candidate
    return None


def _serve(
    program: str,
    config: DaemonConfig | SchedulerServiceConfig | ManagerServiceConfig,
    path: Path | None,
    main: Coroutine[Any, Any, None],
    *,
    use_uvloop: bool,
) -> None:
    """Run one role's ``serve`` with logging set up; a Swarmfly error is one line, exit 1."""
    setup_logging(config.log_level, config.log_format)
    _warn_unknown_keys(config, path)
    try:
        if use_uvloop:
            import uvloop

            uvloop.run(main)
        else:
            asyncio.run(main)
    except SwarmflyError as exc:
        _fail(program, str(exc))


def _run_daemon(config: DaemonConfig, path: Path | None) -> None:
    from swarmfly.daemon.main import serve

    # The daemon runs on asyncio's own loop: its sendfile serves pieces at ~1.6x the rate
    # of uvloop, which has no sendfile (see README, "Performance").
    _serve("dfdaemon", config, path, serve(config), use_uvloop=False)


_config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="dfget.yaml to read (default: ./dfget.yaml, ~/.swarmfly/, /etc/swarmfly/).",
)


@click.command("dfdaemon")
@_config_option
@click.version_option(__version__)
def dfdaemon(config_path: Path | None) -> None:
    """Run the peer daemon: piece store, piece server (4000) and control API (4003)."""
    path = config_path or _find_config()
    _run_daemon(_load_daemon_config(path, "dfdaemon"), path)


@click.command("dfget")
@click.argument("url")
@click.option(
    "-O",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Where to write the file.",
)
@click.option("--tag", default="", help="Tag: part of the task ID.")
@click.option("--application", default="", help="Application: part of the task ID.")
@click.option(
    "--filtered-query-params",
    default=None,
    help="Query parameters left out of the task ID, '&'-separated (default: the daemon's).",
)
@click.option(
    "-H",
    "--header",
    "headers",
    multiple=True,
    help="'Name: value' sent to the source (repeatable).",
)
@click.option("--digest", default=None, help="sha256:<hex> or sha512:<hex> the file must have.")
@click.option(
    "--piece-length", type=int, default=None, help="Fix the piece length (bytes, 4..64 MiB)."
)
@click.option(
    "--disable-back-to-source", is_flag=True, help="Fail rather than download from the source."
)
@click.option("--timeout", type=float, default=None, help="Give up after this many seconds.")
@click.option(
    "--daemon-addr",
    default=None,
    help="The daemon's control API (default: from dfget.yaml, else http://127.0.0.1:4003).",
)
@click.option("--no-daemon", is_flag=True, help="Download straight from the source.")
@click.option(
    "--log-level", default="warning", type=click.Choice(["debug", "info", "warning", "error"])
)
@click.version_option(__version__)
def dfget(
    url: str,
    output: Path,
    tag: str,
    application: str,
    filtered_query_params: str | None,
    headers: tuple[str, ...],
    digest: str | None,
    piece_length: int | None,
    disable_back_to_source: bool,
    timeout: float | None,
    daemon_addr: str | None,
    no_daemon: bool,
    log_level: str,
) -> None:
    """Download URL to OUTPUT through the swarm."""
    setup_logging(log_level)
    options = DfgetOptions(
        url=url,
        output=output.absolute(),
        tag=tag,
        application=application,
        filtered_query_params=filtered_query_params,
        headers=tuple(_parse_header(h) for h in headers),
        digest=digest,
        piece_length=piece_length,
        disable_back_to_source=disable_back_to_source,
        daemon_addr=None if no_daemon else (daemon_addr or _default_daemon_addr()),
    )
    try:
        result = asyncio.run(_dfget_with_timeout(options, timeout))
    except SwarmflyError as exc:
        _fail("dfget", str(exc))
    except KeyboardInterrupt:
        _fail("dfget", "interrupted", 130)
    logger.info(
        "downloaded",
        extra={
            "path": str(result.path),
            "bytes": result.size,
            "task_id": result.task_id,
            "via": result.via,
        },
    )


async def _dfget_with_timeout(options: DfgetOptions, limit: float | None) -> DfgetResult:
    progress = TerminalProgress(options.output.name)
    try:
        async with asyncio.timeout(limit):
            return await run_dfget(options, progress)
    except TimeoutError as exc:
        raise Timeout(f"the download did not finish within {limit:g} s") from exc


def _parse_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        _fail("dfget", f"a header must look like 'Name: value', not {text!r}", 2)
    return name.strip(), value.strip()


def _default_daemon_addr() -> str:
    path = _find_config()
    config = _load_daemon_config(path, "dfget")
    port = config.control.server.port or 4003
    return f"http://127.0.0.1:{port}"


@click.group("swarmfly")
@click.version_option(__version__)
def swarmfly() -> None:
    """Swarmfly: peer-to-peer distribution of container images and large files."""


@swarmfly.command("task-id")
@click.argument("url")
@click.option("--tag", default="")
@click.option("--application", default="")
@click.option(
    "--filtered-query-params", default=None, help="'&'-separated (default: proxy.defaultFilter)."
)
@click.option("--piece-length", type=int, default=None)
@click.option("--revision", default="")
@click.option("--no-blob-digest", is_flag=True, help="Use the URL-based ID even for OCI blob URLs.")
@_config_option
def task_id(
    url: str,
    tag: str,
    application: str,
    filtered_query_params: str | None,
    piece_length: int | None,
    revision: str,
    no_blob_digest: bool,
    config_path: Path | None,
) -> None:
    """Print the task ID the daemon would use for URL: why did (or didn't) my preheat hit?"""
    path = config_path or _find_config()
    config = _load_daemon_config(path, "swarmfly")
    filtered = (
        config.proxy.default_filter
        if filtered_query_params is None
        else idgen.parse_filter_list(filtered_query_params)
    )
    use_blob_digest = (
        not no_blob_digest and config.proxy.registry_mirror.enable_task_id_based_blob_digest
    )
    try:
        click.echo(
            idgen.task_id(
                url,
                tag=tag or config.proxy.default_tag,
                application=application or config.proxy.default_application,
                revision=revision,
                piece_length=piece_length,
                filtered_query_params=filtered,
                use_blob_digest=use_blob_digest,
            )
        )
    except SwarmflyError as exc:
        _fail("swarmfly", str(exc), 2)


swarmfly.add_command(dfget)
swarmfly.add_command(dfdaemon, "daemon")


def _run_scheduler(config: SchedulerServiceConfig, path: Path | None) -> None:
    from swarmfly.scheduler.main import serve

    # The scheduler serves small JSON messages: uvloop's faster loop suits it.
    _serve("scheduler", config, path, serve(config), use_uvloop=True)


@swarmfly.command("scheduler")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="scheduler.yaml to read (default: ./scheduler.yaml, ~/.swarmfly/, /etc/swarmfly/).",
)
def scheduler(config_path: Path | None) -> None:
    """Run the scheduler (8002): tells peers whom to download from, orders seed peers."""
    from swarmfly.config import ConfigError, load_scheduler_config

    path = config_path or _find_config("scheduler.yaml")
    try:
        config = load_scheduler_config(path)
    except ConfigError as exc:
        _fail("scheduler", str(exc), 2)
    _run_scheduler(config, path)


def _load_manager_config(path: Path | None) -> ManagerServiceConfig:
    from swarmfly.config import ConfigError, load_manager_config

    path = path or _find_config("manager.yaml")
    try:
        return load_manager_config(path)
    except ConfigError as exc:
        _fail("manager", str(exc), 2)


_manager_config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="manager.yaml to read (default: ./manager.yaml, ~/.swarmfly/, /etc/swarmfly/).",
)


@swarmfly.command("manager")
@_manager_config_option
def manager(config_path: Path | None) -> None:
    """Run the manager (8080): Open API, preheat jobs, the schedulers' job queue."""
    from swarmfly.manager.main import serve

    path = config_path or _find_config("manager.yaml")
    config = _load_manager_config(path)
    _serve("manager", config, path, serve(config), use_uvloop=True)


@swarmfly.group("token")
def token() -> None:
    """Personal access tokens for the manager's Open API (opens its database directly)."""


@token.command("create")
@click.option("--name", required=True, help="A name to tell the token by (unique).")
@click.option("--scopes", default="job", show_default=True, help="job, cluster or job,cluster.")
@click.option("--expires-in", default="30d", show_default=True, help="e.g. 30d, 12h.")
@click.option("--bio", default="", help="What the token is for.")
@_manager_config_option
def token_create(
    name: str, scopes: str, expires_in: str, bio: str, config_path: Path | None
) -> None:
    """Create a token and print its value once (only its hash is kept)."""
    from swarmfly.manager.admin import create_token
    from swarmfly.manager.tokens import parse_scopes

    config = _load_manager_config(config_path)
    setup_logging("warning", config.log_format)
    try:
        created = asyncio.run(
            create_token(config, name, parse_scopes(scopes), units.parse_duration(expires_in), bio)
        )
    except SwarmflyError as exc:
        _fail("token", str(exc))
    info = created.info
    click.echo(created.value)
    click.echo(
        f"token {info.name!r} (id {info.id}, scopes {','.join(info.scopes)}, expires "
        f"{info.expires_at:%Y-%m-%d %H:%M} UTC): copy it now, it is not shown again",
        err=True,
    )


@token.command("list")
@_manager_config_option
def token_list(config_path: Path | None) -> None:
    """List tokens (never their values)."""
    from swarmfly.manager.admin import list_tokens

    config = _load_manager_config(config_path)
    setup_logging("warning", config.log_format)
    try:
        tokens = asyncio.run(list_tokens(config))
    except SwarmflyError as exc:
        _fail("token", str(exc))
    click.echo(f"{'ID':>4}  {'NAME':<24} {'SCOPES':<12} {'STATE':<9} {'EXPIRES':<17} LAST USED")
    for info in tokens:
        used = f"{info.last_used_at:%Y-%m-%d %H:%M}" if info.last_used_at else "never"
        click.echo(
            f"{info.id:>4}  {info.name:<24} {','.join(info.scopes):<12} {info.state:<9} "
            f"{info.expires_at:%Y-%m-%d %H:%M} {used}"
        )


@token.command("revoke")
@click.argument("name_or_id")
@_manager_config_option
def token_revoke(name_or_id: str, config_path: Path | None) -> None:
    """Make a token inactive (by name or ID): the Open API answers it 403."""
    from swarmfly.manager.admin import revoke_token

    config = _load_manager_config(config_path)
    setup_logging("warning", config.log_format)
    try:
        info = asyncio.run(revoke_token(config, name_or_id))
    except SwarmflyError as exc:
        _fail("token", str(exc))
    click.echo(f"token {info.name!r} (id {info.id}) revoked", err=True)


@swarmfly.command("up")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path(".swarmfly-data"),
    show_default=True,
    help="Where the manager's database, the seed peer's store and the token live.",
)
@click.option(
    "--log-level", default="info", type=click.Choice(["debug", "info", "warning", "error"])
)
@click.option(
    "--port",
    "ports",
    multiple=True,
    hidden=True,
    help="ROLE=PORT instead of a default port (manager, scheduler, upload, proxy, control).",
)
def up(data_dir: Path, log_level: str, ports: tuple[str, ...]) -> None:
    """Run a manager (8080), a scheduler (8002) and a seed-peer daemon (4000/4001/4003)."""
    from swarmfly.stack import (
        first_token,
        parse_stack_ports,
        root_password_file,
        run_stack,
        stack_configs,
    )

    try:
        chosen = parse_stack_ports(ports)
    except SwarmflyError as exc:
        _fail("swarmfly", str(exc), 2)
    stack = stack_configs(data_dir.absolute(), chosen, log_level=log_level)
    setup_logging(log_level)
    try:
        token = asyncio.run(first_token(stack))
    except SwarmflyError as exc:
        _fail("swarmfly", str(exc))
    password_file = root_password_file(stack)
    password = password_file.read_text().strip() if password_file.exists() else "(see the log)"
    banner = _UP_BANNER.format(
        data=stack.data_dir, password=password, token=token, **dataclasses.asdict(chosen)
    )
    click.echo(banner, err=True)
    try:
        asyncio.run(run_stack(stack))
    except SwarmflyError as exc:
        _fail("swarmfly", str(exc))
    except KeyboardInterrupt:
        pass


_UP_BANNER = """
Swarmfly is starting (data in {data})
  manager (Open API)   http://127.0.0.1:{manager}   /oapi/v1, /healthy, /metrics
  console              http://127.0.0.1:{manager}/  user root, password {password}
  scheduler            http://127.0.0.1:{scheduler}
  seed peer            pieces :{upload}, registry mirror/proxy :{proxy}, control :{control}
  API token            {token}

Preheat an image, then follow the job:
  curl -s -X POST http://127.0.0.1:{manager}/oapi/v1/jobs -H 'Authorization: Bearer {token}' \\
    -H 'Content-Type: application/json' \\
    -d '{{"type":"preheat","args":{{"type":"image","url":"http://127.0.0.1:5000/v2/library/alpine/manifests/3.19"}}}}'
  curl -s http://127.0.0.1:{manager}/oapi/v1/jobs/1 -H 'Authorization: Bearer {token}'
Point containerd at http://127.0.0.1:{proxy} (README: "containerd through the daemon").
Stop with Ctrl-C.
"""


def main() -> None:
    swarmfly()
