"""queue search and sorting: sort columns in the covering indexes, search indexes

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

OLD_FILTERS = [
    'insured_region', 'scheme', 'hospital_id', 'discharge_date', 'assigned_to', 'rule_codes'
]
# The sort columns join the filters in the covering indexes (review.models.QUEUE_FILTERS).
NEW_FILTERS = [*OLD_FILTERS, 'claim_type', 'total_fen', 'submitted_at']


def _queue_indexes(filters: list[str]) -> None:
    op.create_index(
        'ix_claims_queue', 'claims', ['flagged', 'status', 'fraud_score', 'claim_id', *filters]
    )
    op.create_index(
        'ix_claims_queue_all', 'claims', ['flagged', 'fraud_score', 'claim_id', 'status', *filters]
    )


def upgrade() -> None:
    op.drop_index('ix_claims_queue', table_name='claims')
    op.drop_index('ix_claims_queue_all', table_name='claims')
    _queue_indexes(NEW_FILTERS)
    op.create_index('ix_claims_person_masked', 'claims', ['person_masked'])
    op.create_index(
        'ix_claims_queue_total', 'claims', ['flagged', 'status', 'total_fen', 'claim_id']
    )
    op.create_index(
        'ix_claims_queue_age', 'claims', ['flagged', 'status', 'submitted_at', 'claim_id']
    )


def downgrade() -> None:
    op.drop_index('ix_claims_queue_age', table_name='claims')
    op.drop_index('ix_claims_queue_total', table_name='claims')
    op.drop_index('ix_claims_person_masked', table_name='claims')
    op.drop_index('ix_claims_queue', table_name='claims')
    op.drop_index('ix_claims_queue_all', table_name='claims')
    _queue_indexes(OLD_FILTERS)
