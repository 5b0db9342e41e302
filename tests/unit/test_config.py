"""dfget.yaml: defaults, camelCase keys, one clear line for a bad file, unknown keys named."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from swarmfly.config import (
    ConfigError,
    DaemonConfig,
    SchedulerServiceConfig,
    load_daemon_config,
    load_scheduler_config,
    parse_daemon_config,
    parse_scheduler_config,
    unknown_keys,
)
from swarmfly.idgen import DEFAULT_FILTERED_QUERY_PARAMS
from tests.conftest import ROOT


def test_shipped_dfget_yaml_is_the_defaults_and_has_no_unknown_keys() -> None:
    config = load_daemon_config(ROOT / "dfget.yaml")
    assert list(unknown_keys(config)) == []
    defaults = DaemonConfig()
    assert config.proxy == defaults.proxy
    assert config.gc == defaults.gc
    assert config.download == defaults.download
    assert config.upload.server.port == 4000
    assert config.control.server.port == 4003
    assert config.proxy.server.port == 4001


def test_dragonfly_keys() -> None:
    config = parse_daemon_config(
        {
            "proxy": {
                "defaultFilter": "Expires&Signature&ns",
                "rules": [
                    {"regex": "blobs/sha256.*", "useTLS": True, "filteredQueryParams": "a&b"}
                ],
                "registryMirror": {"addr": "http://r:5000", "enableTaskIDBasedBlobDigest": False},
                "disableBackToSource": True,
            },
            "gc": {"interval": "30s", "policy": {"taskTTL": "1h", "diskHighThresholdPercent": 90}},
            "download": {"rateLimit": "100Mi", "concurrentPieceCount": 16, "pieceTimeout": "10s"},
            "scheduler": {"addrs": ["127.0.0.1:8002"]},
            "seedPeer": {"enable": True},
        }
    )
    assert config.proxy.default_filter == ("Expires", "Signature", "ns")
    assert config.proxy.rules[0].use_tls and config.proxy.rules[0].filtered_query_params == (
        "a",
        "b",
    )
    assert not config.proxy.registry_mirror.enable_task_id_based_blob_digest
    assert config.proxy.disable_back_to_source
    assert config.gc.interval == timedelta(seconds=30)
    assert config.gc.policy.task_ttl == timedelta(hours=1)
    assert config.download.rate_limit == 100 << 20
    assert config.scheduler.addrs == ("127.0.0.1:8002",)
    assert config.seed_peer.enable


def test_default_filter_covers_signed_urls() -> None:
    for name in (
        "Expires",
        "Signature",
        "ns",
        "X-Amz-Signature",
        "X-Goog-Signature",
        "q-signature",
    ):
        assert name in DEFAULT_FILTERED_QUERY_PARAMS
    assert DaemonConfig().proxy.default_filter == DEFAULT_FILTERED_QUERY_PARAMS


def test_unknown_keys_are_named_with_their_path() -> None:
    config = parse_daemon_config(
        {"storge": {}, "proxy": {"rules": [{"regex": "x", "regx": "y"}]}, "gc": {"polcy": {}}}
    )
    assert sorted(unknown_keys(config)) == ["gc.polcy", "proxy.rules[0].regx", "storge"]


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"download": {"rateLimit": "lots"}}, "download.rateLimit: not a size"),
        ({"gc": {"policy": {"taskTTL": "1x"}}}, "gc.policy.taskTTL: not a duration"),
        ({"upload": {"server": {"port": 70000}}}, "upload.server.port"),
        ({"download": {"concurrentPieceCount": 0}}, "download.concurrentPieceCount"),
        ({"logLevel": "loud"}, "logLevel"),
    ],
)
def test_bad_values_give_one_line_naming_the_key(data: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_daemon_config(data)
    message = str(raised.value)
    assert needle in message
    assert "\n" not in message


def test_bad_files(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("proxy:\n  rules: [\n")
    with pytest.raises(ConfigError, match="broken.yaml"):
        load_daemon_config(broken)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just a string\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_daemon_config(scalar)
    with pytest.raises(ConfigError, match="cannot read"):
        load_daemon_config(tmp_path / "missing.yaml")
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert load_daemon_config(empty) == DaemonConfig()


def test_scheduler_yaml_defaults_and_keys() -> None:
    defaults = SchedulerServiceConfig()
    assert defaults.server.port == 8002
    assert defaults.scheduling.candidate_parent_limit == 4
    assert defaults.scheduling.filter_parent_limit == 15
    assert defaults.host_ttl > defaults.host_keepalive_interval
    config = parse_scheduler_config(
        {
            "server": {"ip": "127.0.0.1", "port": 0},
            "manager": {"addr": "127.0.0.1:65003"},
            "scheduling": {"candidateParentLimit": 2, "filterParentLimit": 40},
            "hostKeepaliveInterval": "500ms",
            "hostTTL": "3s",
            "seedOrderTimeout": "2s",
            "logFormat": "json",
        }
    )
    assert list(unknown_keys(config)) == []
    assert config.scheduling.candidate_parent_limit == 2
    assert config.scheduling.filter_parent_limit == 40
    assert config.host_keepalive_interval == timedelta(milliseconds=500)
    assert config.host_ttl == timedelta(seconds=3)
    assert config.seed_order_timeout == timedelta(seconds=2)
    assert config.manager.addr == "127.0.0.1:65003"


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"hostTTL": "0s"}, "hostTTL"),
        ({"scheduling": {"candidateParentLimit": 0}}, "scheduling.candidateParentLimit"),
        ({"server": {"port": -1}}, "server.port"),
        ({"seedOrderTimeout": "soon"}, "seedOrderTimeout: not a duration"),
    ],
)
def test_bad_scheduler_values_name_the_key(data: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_scheduler_config(data)
    assert needle in str(raised.value)


def test_scheduler_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "scheduler.yaml"
    path.write_text("hostTTL: 1m\nschedulng: {}\n")
    config = load_scheduler_config(path)
    assert config.host_ttl == timedelta(minutes=1)
    assert list(unknown_keys(config)) == ["schedulng"]
    assert load_scheduler_config(None) == SchedulerServiceConfig()


def test_shipped_scheduler_yaml_is_the_defaults() -> None:
    config = load_scheduler_config(ROOT / "scheduler.yaml")
    assert list(unknown_keys(config)) == []
    assert config == SchedulerServiceConfig()


def test_a_host_ttl_shorter_than_the_keepalive_interval_is_refused() -> None:
    with pytest.raises(ConfigError, match="hostTTL must be longer than hostKeepaliveInterval"):
        parse_scheduler_config({"hostTTL": "4s", "hostKeepaliveInterval": "5s"})
