"""Manager configs for tests: loopback, port 0, its own data directory, SQLite or a fresh
PostgreSQL database (the ``backend`` a test module is parametrized over)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from swarmfly.config import ManagerServiceConfig, parse_manager_config
from tests.support.postgres import PostgresServer

BACKENDS = ("sqlite", "postgresql")


async def database_dsn(backend: str, request: pytest.FixtureRequest) -> str:
    """``""`` (SQLite in the data directory) or the DSN of a new PostgreSQL database."""
    if backend == "sqlite":
        return ""
    server: PostgresServer = request.getfixturevalue("postgres")
    return await server.create_database()


def manager_settings(root: Path, dsn: str, **settings: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "server": {"ip": "127.0.0.1", "port": 0},
        "dataDir": str(root / "data"),
        "database": {"dsn": dsn},
        "logLevel": "info",
    }
    for key, value in settings.items():
        base = config.get(key)
        if isinstance(base, dict) and isinstance(value, dict):
            config[key] = {**base, **value}
        else:
            config[key] = value
    return config


def manager_config(root: Path, dsn: str, **settings: Any) -> ManagerServiceConfig:
    return parse_manager_config(manager_settings(root, dsn, **settings))


def write_manager_yaml(root: Path, dsn: str, **settings: Any) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "manager.yaml"
    path.write_text(yaml.safe_dump(manager_settings(root, dsn, **settings)))
    return path
