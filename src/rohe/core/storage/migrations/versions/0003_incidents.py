"""Quality incidents: one row per diagnosed incident, the whole incident as JSON.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NAME = 200


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.String(36), nullable=False, unique=True),
        sa.Column("app", sa.String(NAME), nullable=False),
        sa.Column("run", sa.String(NAME), nullable=False),
        sa.Column("consumer", sa.String(1000), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("top_cause", sa.String(NAME + 20), nullable=True),
        sa.Column("incident", sa.JSON, nullable=False),
    )
    op.create_index("ix_incidents_app_run", "incidents", ["app", "run"])


def downgrade() -> None:
    op.drop_index("ix_incidents_app_run", table_name="incidents")
    op.drop_table("incidents")
