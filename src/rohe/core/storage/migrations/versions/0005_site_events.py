"""Site events: what an edge site judged or decided while on its own, forwarded by its outbox, stored once per
(site, event id).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

NAME = 200


def upgrade() -> None:
    op.create_table(
        "site_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("site", sa.String(NAME), nullable=False),
        sa.Column("event_id", sa.String(NAME), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("app", sa.String(NAME), nullable=False),
        sa.Column("run", sa.String(NAME), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("site", "event_id", name="uq_site_event"),
    )
    op.create_index("ix_site_events_occurred", "site_events", ["occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_site_events_occurred", table_name="site_events")
    op.drop_table("site_events")
