"""resubmitted claims are kept as versions beside the paid one

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'claim_versions',
        sa.Column('claim_id', sa.String(64), nullable=False),
        sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.Column('claim_json', sa.Text(), nullable=True),
        sa.Column('total_fen', sa.BigInteger(), nullable=True),
        sa.Column('settlement_status', sa.String(16), nullable=True),
        sa.Column('record_json', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('claim_id', 'version'),
    )


def downgrade() -> None:
    op.drop_table('claim_versions')
