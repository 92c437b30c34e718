"""Row versions on nodes and replicas, for optimistic concurrency between placement writers.

A placement round reads a snapshot, computes outside any transaction, then writes only if every node it
places on and every replica it changes still has the version it read (see rohe.core.storage.placement).
Existing rows start at version 0.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("nodes", "replicas")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("version", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("version")
