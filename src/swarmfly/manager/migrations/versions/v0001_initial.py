"""The manager's first schema: users, tokens, clusters, schedulers, seed peers, jobs, work.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from swarmfly.manager.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(256), nullable=False, unique=True),
        sa.Column("email", sa.String(256), nullable=False),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        *_timestamps(),
    )
    op.create_table(
        "personal_access_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(256), nullable=False, unique=True),
        sa.Column("bio", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        *_timestamps(),
    )
    op.create_table(
        "scheduler_clusters",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(256), nullable=False, unique=True),
        sa.Column("bio", sa.Text(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("client_config", sa.JSON(), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        *_timestamps(),
    )
    op.create_table(
        "schedulers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("hostname", sa.String(256), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column(
            "cluster_id", sa.Integer(), sa.ForeignKey("scheduler_clusters.id"), nullable=False
        ),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("last_keepalive_at", UTCDateTime(), nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("hostname", "ip", "port"),
    )
    op.create_table(
        "seed_peers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("scheduler_id", sa.Integer(), sa.ForeignKey("schedulers.id"), nullable=False),
        sa.Column(
            "cluster_id", sa.Integer(), sa.ForeignKey("scheduler_clusters.id"), nullable=False
        ),
        sa.Column("host_id", sa.String(512), nullable=False),
        sa.Column("hostname", sa.String(256), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("control_port", sa.Integer(), nullable=False),
        sa.Column("upload_port", sa.Integer(), nullable=False),
        sa.Column("last_keepalive_at", UTCDateTime(), nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("scheduler_id", "host_id"),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("is_del", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(64), nullable=False, unique=True),
        sa.Column("bio", sa.Text(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("deadline", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        *_timestamps(),
    )
    op.create_index("ix_jobs_state", "jobs", ["is_del", "state"])
    op.create_table(
        "job_work",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("job_id", sa.Integer(), sa.ForeignKey("jobs.id"), nullable=False),
        sa.Column(
            "cluster_id", sa.Integer(), sa.ForeignKey("scheduler_clusters.id"), nullable=False
        ),
        sa.Column("task_uuid", sa.String(64), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("owner", sa.Integer(), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("blobs", sa.JSON(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        *_timestamps(),
    )
    op.create_index("ix_job_work_job_id", "job_work", ["job_id"])
    op.create_index("ix_job_work_claim", "job_work", ["cluster_id", "state"])


def downgrade() -> None:
    for table in (
        "job_work",
        "jobs",
        "seed_peers",
        "schedulers",
        "scheduler_clusters",
        "personal_access_tokens",
        "users",
    ):
        op.drop_table(table)
