"""Logging setup and the redaction of secrets in headers and URLs.

Messages are fixed phrases; the data travels in ``extra=`` under stable keys and is rendered
as logfmt (default, for people) or one JSON object per line (for log pipelines). Library code
never configures logging: only ``cli`` calls :func:`setup_logging`.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterable, Mapping
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from swarmfly.idgen import DEFAULT_FILTERED_QUERY_PARAMS

REDACTED = "<redacted>"

#: Header names whose values are secrets, compared case-insensitively.
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-amz-security-token"}
)

#: Query parameters whose values are secrets, beyond the signed-URL ones.
_SECRET_QUERY = frozenset({"access_token", "token", "password", "sig"})

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "taskName"}
)


def redacted_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """A copy of ``headers`` safe to log: secret values replaced."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {k: (REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in items}


def redacted_url(url: str, secret_params: Iterable[str] = DEFAULT_FILTERED_QUERY_PARAMS) -> str:
    """``url`` safe to log: values of signed-URL parameters and any user password blanked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    secrets = {p.lower() for p in secret_params} | _SECRET_QUERY
    secrets.discard("ns")
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", f":{REDACTED}@", 1)
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k.lower() in secrets for k, _ in pairs):
            query = urlencode([(k, REDACTED if k.lower() in secrets else v) for k, v in pairs])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS}


def _logfmt_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if text == "" or any(c in text for c in ' ="\\\n'):
        return json.dumps(text)
    return text


class LogfmtFormatter(logging.Formatter):
    """``time=… level=info logger=… msg="piece stored" task_id=… piece=3``."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        fields: dict[str, Any] = {
            "time": f"{stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **_extras(record),
        }
        line = " ".join(f"{k}={_logfmt_value(v)}" for k, v in fields.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line, same keys as logfmt."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {
            "time": record.created,
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **_extras(record),
        }
        if record.exc_info:
            fields["exc"] = self.formatException(record.exc_info)
        return json.dumps(fields, default=str)


def setup_logging(level: str = "info", fmt: str = "logfmt", stream: TextIO | None = None) -> None:
    """Configure the root logger once, for a process entry point."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else LogfmtFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiohttp's access log is one line per request: useful, but at debug only.
    logging.getLogger("aiohttp.access").setLevel(
        logging.DEBUG if level == "debug" else logging.WARNING
    )
    # aiosqlite logs every statement with its parameters at debug: noise, and secrets.
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)
    # Alembic announces each of its plugins at info on every start; its migration lines stay.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
