"""manager.yaml: defaults, camelCase keys, the shipped file, and problems named by key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from swarmfly.config import ConfigError, load_manager_config, parse_manager_config, unknown_keys

ROOT = Path(__file__).resolve().parents[3]


def test_defaults_and_the_shipped_file_agree() -> None:
    shipped = load_manager_config(ROOT / "manager.yaml")
    assert shipped == parse_manager_config({})
    assert list(unknown_keys(shipped)) == []
    assert shipped.server.port == 8080
    assert shipped.jobs.default_timeout == timedelta(minutes=60)
    assert shipped.jobs.lease == timedelta(seconds=30)
    assert shipped.database.dsn.get_secret_value() == ""


def test_camel_case_keys_and_secrets() -> None:
    config = parse_manager_config(
        {
            "dataDir": "/srv/m",
            "database": {"dsn": "postgresql://u:pw@db/x"},
            "jobs": {"lease": "10s", "defaultTimeout": "2h"},
            "schedulers": {"keepaliveTTL": "1m"},
            "typo": 1,
        }
    )
    assert config.data_dir == Path("/srv/m")
    assert config.jobs.lease == timedelta(seconds=10)
    assert config.schedulers.keepalive_ttl == timedelta(minutes=1)
    assert "pw" not in repr(config)
    assert list(unknown_keys(config)) == ["typo"]


def test_a_bad_value_is_named() -> None:
    with pytest.raises(ConfigError, match="jobs.lease"):
        parse_manager_config({"jobs": {"lease": "0s"}})
