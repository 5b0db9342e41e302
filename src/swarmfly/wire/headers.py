"""The ``X-Dragonfly-*`` header names, spelled once."""

TASK_ID = "X-Dragonfly-Task-ID"
TASK_DOWNLOAD_FINISHED = "X-Dragonfly-Task-Download-Finished"
ERROR_TYPE = "X-Dragonfly-Error-Type"
PIECE_DIGEST = "X-Dragonfly-Piece-Digest"
PIECE_NUMBER = "X-Dragonfly-Piece-Number"
PIECE_OFFSET = "X-Dragonfly-Piece-Offset"
UPSTREAM_STATUS = "X-Dragonfly-Upstream-Status"

# Request headers a client sends the proxy; none of them goes on to the upstream.
PREFIX = "x-dragonfly-"
REGISTRY = "X-Dragonfly-Registry"
USE_P2P = "X-Dragonfly-Use-P2P"
TAG = "X-Dragonfly-Tag"
APPLICATION = "X-Dragonfly-Application"
FILTERED_QUERY_PARAMS = "X-Dragonfly-Filtered-Query-Params"
PIECE_LENGTH = "X-Dragonfly-Piece-Length"
