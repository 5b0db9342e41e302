"""The daemon's control API (port 4003): what ``dfget`` (and, later, the scheduler) send it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class WireModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class DownloadTaskRequest(WireModel):
    """``POST /api/v1/tasks/download``: fetch a URL into the store and stream it back."""

    url: str
    headers: list[tuple[str, str]] = Field(default_factory=list)  # sent to the source
    tag: str = ""
    application: str = ""
    filtered_query_params: list[str] | None = None  # None: the daemon's proxy.defaultFilter
    piece_length: int | None = None
    digest: str | None = None  # sha256:<hex>; the content is verified before it completes
    disable_back_to_source: bool = False
    use_blob_digest: bool = True  # OCI blob URLs are named by their digest
    # An absolute path on the daemon's host that the caller created: the daemon copies the
    # task into it in the kernel (copy_file_range) and answers with NDJSON progress lines,
    # instead of streaming the bytes. Only honoured for callers on loopback.
    output_path: str | None = None


class TaskInfo(WireModel):
    """``GET /api/v1/tasks/{task_id}``."""

    task_id: str
    url: str
    state: str
    content_length: int | None
    piece_length: int
    finished_pieces: int
    digest: str | None = None


class ErrorBody(WireModel):
    """What every role answers with on an error."""

    message: str
    error: str = ""
    upstream_status: int | None = None


class DownloadProgress(WireModel):
    """One line of the NDJSON answer to a download with ``output_path``."""

    bytes: int = 0  # written to the output so far
    total: int | None = None
    done: bool = False
    task_id: str = ""
    from_store: bool = False
    error: str | None = None  # the download failed: the output is incomplete
    status: int | None = None  # the HTTP status the error stands for
