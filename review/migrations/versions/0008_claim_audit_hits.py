"""audit-rule hits of claims: rule, result, item line, evidence, amount at stake

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

OLD_FILTERS = [
    'insured_region', 'scheme', 'hospital_id', 'discharge_date', 'assigned_to', 'rule_codes',
    'claim_type', 'total_fen', 'submitted_at',
]
# The results of a claim's hits join the covering indexes (review.models.QUEUE_FILTERS).
NEW_FILTERS = [*OLD_FILTERS, 'audit_results']


def _queue_indexes(filters: list[str]) -> None:
    op.create_index(
        'ix_claims_queue', 'claims', ['flagged', 'status', 'fraud_score', 'claim_id', *filters]
    )
    op.create_index(
        'ix_claims_queue_all', 'claims', ['flagged', 'fraud_score', 'claim_id', 'status', *filters]
    )


def upgrade() -> None:
    op.create_table(
        'claim_audit_hits',
        sa.Column('claim_id', sa.String(64), nullable=False),
        sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('rule_code', sa.String(64), nullable=False),
        sa.Column('result', sa.String(16), nullable=False),
        sa.Column('item_index', sa.Integer(), nullable=True),
        sa.Column('item_code', sa.String(64), nullable=True),
        sa.Column('evidence_json', sa.Text(), nullable=False),
        sa.Column('amount_at_stake_fen', sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint('claim_id', 'seq'),
    )
    op.add_column('claims', sa.Column('audit_results', sa.String(32), nullable=True))
    op.drop_index('ix_claims_queue', table_name='claims')
    op.drop_index('ix_claims_queue_all', table_name='claims')
    _queue_indexes(NEW_FILTERS)


def downgrade() -> None:
    op.drop_index('ix_claims_queue', table_name='claims')
    op.drop_index('ix_claims_queue_all', table_name='claims')
    _queue_indexes(OLD_FILTERS)
    with op.batch_alter_table('claims') as batch:
        batch.drop_column('audit_results')
    op.drop_table('claim_audit_hits')
