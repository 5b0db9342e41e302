"""The manager's tables as SQLAlchemy models. The schema itself is made only by the migrations
in ``manager/migrations`` (``upgrade head`` at start); a test checks the two agree.

    users ─┐
           └─ personal_access_tokens        (sha256 of the value; the value is shown once)
    scheduler_clusters ─┬─ schedulers ── seed_peers   (registered and kept alive by schedulers)
                        └─ job_work ── jobs           (one work item per job and cluster: the
                                                       queue schedulers claim with a lease)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite (naive text) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class Timestamps:
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class User(Timestamps, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(256), unique=True)
    email: Mapped[str] = mapped_column(String(256), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(32), default="guest")  # root | guest
    state: Mapped[str] = mapped_column(String(32), default="enable")  # enable | disable


class PersonalAccessToken(Timestamps, Base):
    __tablename__ = "personal_access_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(256), unique=True)
    bio: Mapped[str] = mapped_column(Text, default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the value
    scopes: Mapped[list[Any]] = mapped_column()  # ["job", "cluster"]
    state: Mapped[str] = mapped_column(String(32), default="active")  # active | inactive
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class SchedulerCluster(Timestamps, Base):
    __tablename__ = "scheduler_clusters"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(256), unique=True)
    bio: Mapped[str] = mapped_column(Text, default="")
    config: Mapped[dict[str, Any]] = mapped_column()
    client_config: Mapped[dict[str, Any]] = mapped_column()
    scopes: Mapped[dict[str, Any]] = mapped_column()
    is_default: Mapped[bool] = mapped_column(default=False)


class Scheduler(Timestamps, Base):
    __tablename__ = "schedulers"
    __table_args__ = (UniqueConstraint("hostname", "ip", "port"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hostname: Mapped[str] = mapped_column(String(256))
    ip: Mapped[str] = mapped_column(String(64))
    port: Mapped[int]
    cluster_id: Mapped[int] = mapped_column(ForeignKey("scheduler_clusters.id"))
    state: Mapped[str] = mapped_column(String(32), default="active")  # active | inactive
    last_keepalive_at: Mapped[datetime]


class SeedPeer(Timestamps, Base):
    __tablename__ = "seed_peers"
    __table_args__ = (UniqueConstraint("scheduler_id", "host_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheduler_id: Mapped[int] = mapped_column(ForeignKey("schedulers.id"))
    cluster_id: Mapped[int] = mapped_column(ForeignKey("scheduler_clusters.id"))
    host_id: Mapped[str] = mapped_column(String(512))
    hostname: Mapped[str] = mapped_column(String(256))
    ip: Mapped[str] = mapped_column(String(64))
    control_port: Mapped[int]
    upload_port: Mapped[int]
    last_keepalive_at: Mapped[datetime]


class Job(Timestamps, Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_state", "is_del", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    is_del: Mapped[int] = mapped_column(default=0)
    task_id: Mapped[str] = mapped_column(String(64), unique=True)  # group_<uuid>
    bio: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(32))  # PENDING | SUCCESS | FAILURE
    error: Mapped[str] = mapped_column(Text, default="")
    args: Mapped[dict[str, Any]] = mapped_column()  # as given, secrets redacted: shown to users
    spec: Mapped[dict[str, Any]] = mapped_column()  # wire PreheatArgs, secrets scrubbed at the end
    deadline: Mapped[datetime]
    started_at: Mapped[datetime | None]  # first claim: the job's result is shown from then on
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class JobWork(Timestamps, Base):
    """One job for one cluster: what a scheduler claims with a lease."""

    __tablename__ = "job_work"
    __table_args__ = (Index("ix_job_work_claim", "cluster_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), index=True)
    cluster_id: Mapped[int] = mapped_column(ForeignKey("scheduler_clusters.id"))
    task_uuid: Mapped[str] = mapped_column(String(64))  # task_<uuid>
    state: Mapped[str] = mapped_column(String(32))  # PENDING|RUNNING|SUCCESS|FAILURE|CANCELLED
    owner: Mapped[int | None]  # the scheduler holding the lease
    lease_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    blobs: Mapped[list[Any]] = mapped_column()  # wire BlobResult dicts
    finished_at: Mapped[datetime | None]
