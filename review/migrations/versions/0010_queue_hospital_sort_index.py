"""the open queue sorted by hospital walks an index (no sort of every open claim)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        'ix_claims_queue_hospital', 'claims', ['flagged', 'status', 'hospital_id', 'claim_id']
    )


def downgrade() -> None:
    op.drop_index('ix_claims_queue_hospital', table_name='claims')
