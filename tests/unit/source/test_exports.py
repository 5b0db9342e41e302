"""The public surface of ``swarmfly.source`` is pinned: changing it is a decision."""

from __future__ import annotations

import swarmfly.source


def test_exported_members() -> None:
    assert sorted(swarmfly.source.__all__) == sorted(
        [
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
    )
    assert all(hasattr(swarmfly.source, name) for name in swarmfly.source.__all__)
