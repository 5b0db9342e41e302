"""The manager's errors, each a category of ``swarmfly.errors`` (the status comes from there)."""

from __future__ import annotations

from swarmfly.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthenticated,
    Unavailable,
)


class Unauthorized(Unauthenticated):
    """No token, a malformed one, or one nobody issued (the Open API's 401)."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


class TokenInactive(Forbidden):
    def __init__(self) -> None:
        super().__init__("Token is inactive")


class TokenExpired(Forbidden):
    def __init__(self) -> None:
        super().__init__("Token has expired")


class ScopeMissing(Forbidden):
    def __init__(self, scope: str) -> None:
        super().__init__(f"Insufficient scope: this needs a token with the '{scope}' permission")
        self.scope = scope


class InvalidField(InvalidInput):
    """One field of a request that cannot be used; the message starts with the field's name."""

    def __init__(self, field: str, why: str) -> None:
        super().__init__(f"{field}: {why}")
        self.field = field


class JobNotFound(NotFound):
    def __init__(self, job_id: int) -> None:
        super().__init__(f"job {job_id} not found")


class ClusterNotFound(NotFound):
    def __init__(self, cluster_id: int) -> None:
        super().__init__(f"scheduler cluster {cluster_id} not found")


class SchedulerNotFound(NotFound):
    """The scheduler is not (or no longer) registered: register again."""

    def __init__(self, scheduler_id: int) -> None:
        super().__init__(f"scheduler {scheduler_id} is not registered")


class WorkNotFound(NotFound):
    def __init__(self, work_id: int) -> None:
        super().__init__(f"work {work_id} not found")


class TokenNotFound(NotFound):
    def __init__(self, name_or_id: str) -> None:
        super().__init__(f"no personal access token named {name_or_id!r} (or with that ID)")


class SecretsNotKept(Conflict):
    """A job's password or secret headers are gone (scrubbed when it ended): they must be
    given again to make the job again."""

    def __init__(self, job_id: int) -> None:
        super().__init__(
            f"job {job_id}'s secrets (registry password, secret headers) are not kept after it"
            " ends: give them again"
        )


class LeaseLost(Conflict):
    """Another scheduler holds the work now (this one's lease lapsed and it was claimed again)."""


class WorkEnded(Conflict):
    """The work already has its terminal state (a result, a timeout, or its job was deleted)."""


class DatabaseUnavailable(Unavailable):
    """The database cannot be reached, or it failed a statement."""
