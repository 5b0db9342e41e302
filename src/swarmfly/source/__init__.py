"""Back-to-source: fetching a task's bytes from its origin over HTTP(S).

The public names are re-exported here; import them from ``swarmfly.source``.
"""

from swarmfly.source.client import SourceClient
from swarmfly.source.errors import (
    MAX_ERROR_BODY,
    RangeNotSatisfiable,
    SourceStatusError,
    SourceTimeout,
    SourceUnavailable,
    SourceURLError,
)
from swarmfly.source.ranges import (
    ByteRange,
    ContentRange,
    RangeSpec,
    SuffixRange,
    format_content_range,
    format_range,
    format_unsatisfied_content_range,
    parse_content_range,
    parse_range_header,
    parse_range_spec,
    parse_unsatisfied_total,
)
from swarmfly.source.request import SourceRequest
from swarmfly.source.response import SourceMetadata, SourceResponse
from swarmfly.source.retry import RetryPolicy, is_retryable

__all__ = [
    "MAX_ERROR_BODY",
    "ByteRange",
    "ContentRange",
    "RangeNotSatisfiable",
    "RangeSpec",
    "RetryPolicy",
    "SourceClient",
    "SourceMetadata",
    "SourceRequest",
    "SourceResponse",
    "SourceStatusError",
    "SourceTimeout",
    "SourceURLError",
    "SourceUnavailable",
    "SuffixRange",
    "format_content_range",
    "format_range",
    "format_unsatisfied_content_range",
    "is_retryable",
    "parse_content_range",
    "parse_range_header",
    "parse_range_spec",
    "parse_unsatisfied_total",
]
