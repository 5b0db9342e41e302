import io
import json
import logging

from swarmfly.logs import REDACTED, redacted_headers, redacted_url, setup_logging


def test_secret_headers_are_redacted() -> None:
    safe = redacted_headers(
        [("Authorization", "Bearer s3cret"), ("Accept", "*/*"), ("cookie", "c")]
    )
    assert safe == {"Authorization": REDACTED, "Accept": "*/*", "cookie": REDACTED}


def test_signed_url_values_and_passwords_are_redacted_but_ns_is_kept() -> None:
    url = "https://user:pw@s3.example.com/b/k?X-Amz-Signature=abc&Expires=9&part=1&ns=docker.io"
    safe = redacted_url(url)
    assert "abc" not in safe and ":pw@" not in safe
    assert "part=1" in safe and "ns=docker.io" in safe


def test_logfmt_and_json_carry_extra_fields() -> None:
    stream = io.StringIO()
    setup_logging("info", "logfmt", stream)
    logging.getLogger("t").info("piece stored", extra={"task_id": "ab", "piece": 3})
    line = stream.getvalue()
    assert 'msg="piece stored"' in line and "task_id=ab" in line and "piece=3" in line
    stream = io.StringIO()
    setup_logging("info", "json", stream)
    logging.getLogger("t").info("ready", extra={"control_port": 4003})
    record = json.loads(stream.getvalue())
    assert record["msg"] == "ready" and record["control_port"] == 4003
    setup_logging("warning")


def test_alembic_plugin_chatter_is_quiet_but_migrations_are_logged() -> None:
    stream = io.StringIO()
    setup_logging("info", "logfmt", stream)
    logging.getLogger("alembic.runtime.plugins").info("setup plugin alembic.autogenerate.types")
    logging.getLogger("alembic.runtime.migration").info("Running upgrade  -> 0001")
    setup_logging("warning")
    assert "setup plugin" not in stream.getvalue()
    assert "Running upgrade" in stream.getvalue()
