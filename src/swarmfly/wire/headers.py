"""The ``X-Dragonfly-*`` header names, spelled once."""

TASK_ID = "X-Dragonfly-Task-ID"
TASK_DOWNLOAD_FINISHED = "X-Dragonfly-Task-Download-Finished"
ERROR_TYPE = "X-Dragonfly-Error-Type"
PIECE_DIGEST = "X-Dragonfly-Piece-Digest"
PIECE_NUMBER = "X-Dragonfly-Piece-Number"
PIECE_OFFSET = "X-Dragonfly-Piece-Offset"
UPSTREAM_STATUS = "X-Dragonfly-Upstream-Status"
