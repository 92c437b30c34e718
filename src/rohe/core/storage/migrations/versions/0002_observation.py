"""Observation: registered apps, metric windows, violations, agent state, agent registry.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

NAME = 200


def upgrade() -> None:
    op.create_table(
        "observed_apps",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("app_id", sa.String(36), nullable=False, unique=True),
        sa.Column("app", sa.String(NAME), nullable=False),
        sa.Column("run", sa.String(NAME), nullable=False),
        sa.Column("user", sa.String(NAME), nullable=False),
        sa.Column("registration", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("app", "run", name="uq_observed_app_run"),
    )
    op.create_table(
        "metric_windows",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("app", sa.String(NAME), nullable=False),
        sa.Column("run", sa.String(NAME), nullable=False),
        sa.Column("consumer", sa.String(NAME), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("app", "run", "consumer", "kind", "window_start", "window_end", name="uq_metric_window"),
    )
    op.create_index("ix_metric_windows_end", "metric_windows", ["window_end"])
    op.create_table(
        "violations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("violation_id", sa.String(36), nullable=False, unique=True),
        sa.Column("app", sa.String(NAME), nullable=False),
        sa.Column("run", sa.String(NAME), nullable=False),
        sa.Column("consumer", sa.String(NAME), nullable=False),
        sa.Column("clause", sa.String(500), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("violation", sa.JSON, nullable=False),
    )
    op.create_index("ix_violations_app_run", "violations", ["app", "run"])
    op.create_table(
        "agent_state",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("app", sa.String(NAME), nullable=False),
        sa.Column("run", sa.String(NAME), nullable=False),
        sa.Column("state", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("app", "run", name="uq_agent_state_app_run"),
    )
    op.create_table(
        "observation_agents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("app", sa.String(NAME), nullable=False),
        sa.Column("run", sa.String(NAME), nullable=False),
        sa.Column("desired", sa.String(16), nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("app", "run", name="uq_observation_agent_app_run"),
    )


def downgrade() -> None:
    op.drop_index("ix_violations_app_run", table_name="violations")
    op.drop_index("ix_metric_windows_end", table_name="metric_windows")
    for table in ("observation_agents", "agent_state", "violations", "metric_windows", "observed_apps"):
        op.drop_table(table)
