"""stream offsets remember which topic they belong to (first record seen)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # "offset:timestamp" of a record the follower loaded from the partition: when the
    # topic is deleted and made again, that record is gone (review.follow).
    op.add_column('stream_offsets', sa.Column('identity', sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column('stream_offsets', 'identity')
